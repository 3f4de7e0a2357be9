"""A chain's training as steps that a workflow manager runs as separate tasks (the Nextflow pipeline's train mode).

prepare (read and check the families, split them) -> align (one task per family: alignment, gap rules, frame) ->
assemble (the dataset, and the chunks of its members) -> annotate (one task per chunk: SS/SA) -> train (VAE, CNN,
calibration, fast path, evaluation: one task) -> publish (into the user's registry). Each step reads only the files
the steps before it wrote, so the tasks can run on different nodes, and each goes through the functions
`train_chain` uses in one process: the dataset is the one `easy-train` builds from the same families and settings,
byte for byte. The training step publishes the frames and the VAE into a registry of its own (the CNN card names
them there), so that only the publish step writes into the user's registry.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from protfam_core.errors import InputError
from protfam_core.io.atomic import write_text
from protfam_core.io.seqio import Record, format_fasta, read_alignment
from protfam_core.msa.dataset import BuildOptions, align_family, load_dataset, plan_dataset, write_dataset
from protfam_core.msa.open_set import REFERENCE
from protfam_core.msa.split import SPLITS
from protfam_core.workflow.inputs import Source, read_family_set
from protfam_core.workflow.stages import Progress, Stages
from protfam_core.workflow.train_chain import (
    TrainSettings,
    build_options,
    card_sha,
    dataset_figures,
    publish_chain,
    stage_input_files,
    train_networks,
)

PLAN = "plan.json"
ANNOTATED = ("train", "val")  # the splits whose SS/SA the training reads from the feature cache

ANNOTATE_CHUNK = 500  # members per SS/SA annotation task of a scattered build (`annotate`)


def prepare(sources: Source, out: str | Path, settings: TrainSettings, unknown: Source = ()) -> dict:
    """Read, check and split the families: `<out>/input/families` and `homstrad_ref/` as `easy-train` stages them,
    `<out>/parts/<family>.json` (its split and the build options: one align task's input) and `<out>/plan.json`."""
    families = read_family_set(sources, unknown, settings.hold_out, settings.min_family_size, settings.seed)
    out = Path(out).resolve()
    stage_input_files(out, families)
    build = build_options(settings)
    splits, n_train, clusters, extra = plan_dataset(str(out / "input" / "families"), build, lambda *_: None)
    shutil.rmtree(out / "parts", ignore_errors=True)
    (out / "parts").mkdir(parents=True)
    for fam, split in splits.items():
        part = {"family": fam, "n_train": n_train[fam], "build": asdict(build)}
        part |= {s: [[r.id, r.seq] for r in getattr(split, s)] for s in SPLITS}
        write_text(json.dumps(part) + "\n", out / "parts" / f"{fam}.json")
    plan = {"settings": asdict(settings), "families": list(splits), "clusters": clusters, "extra": extra,
            "note": families.note(), "roles": {"trained": sorted(families.trained),
            "unknown": sorted(families.unknown), "held_out": families.held_out, "too_small": families.too_small,
            "given_unknown": families.given_unknown}}  # fmt: skip
    write_text(json.dumps(plan, indent=2) + "\n", out / PLAN)
    return plan


def _options(build: dict, threads: int | None = None) -> BuildOptions:
    """BuildOptions from their JSON form (fractions back to a tuple), with this task's threads."""
    opts = {**build, "fractions": tuple(build["fractions"])}
    return BuildOptions(**(opts | ({"threads": threads} if threads else {})))


def align(part_file: str | Path, out: str | Path, threads: int = 1) -> Path:
    """One family's training members aligned and gap-filtered (`<out>/<family>.afa`), the rows kept
    (`<family>.json`) and its frame (`<family>.hmm`)."""
    from protfam_core.frames.frameset import FrameSet

    part = json.loads(Path(part_file).read_text())
    fam = part["family"]
    rows, train, dropped, hmm = align_family(fam, [Record(i, s) for i, s in part["train"]], part["n_train"],
                                             _options(part["build"], threads))  # fmt: skip
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(format_fasta(rows, width=0), out / f"{fam}.afa")
    write_text(json.dumps({"family": fam, "train": [r.id for r in train], "gap_dropped": dropped}) + "\n",
               out / f"{fam}.json")  # fmt: skip
    FrameSet([hmm]).save(out / f"{fam}.hmm")
    return out / f"{fam}.afa"


def assemble(
    prepared: str | Path,
    aligned: Sequence[str | Path],
    out: str | Path,
    chunks: str | Path,
    chunk_size: int = ANNOTATE_CHUNK,
) -> dict:
    """The dataset from the plan and every family's align output (files or folders of them), and the `chunks` TSV
    (split, start, end: one annotate task each, `chunk_size` members at most). Returns the dataset card."""
    from protfam_core.frames.frameset import FrameSet

    prepared = Path(prepared).resolve()
    plan = json.loads((prepared / PLAN).read_text())
    files = {p.name: p for a in map(Path, aligned) for p in (sorted(a.iterdir()) if a.is_dir() else [a])}
    missing = [f for f in plan["families"] if f"{f}.afa" not in files]
    if missing:
        raise InputError(f"no alignment of {len(missing)} families: {', '.join(missing[:5])}")
    members, alignments, gap_dropped, hmms = {}, {}, {}, []
    for fam in plan["families"]:
        part = json.loads((prepared / "parts" / f"{fam}.json").read_text())
        kept = json.loads(files[f"{fam}.json"].read_text())
        pool = {i: Record(i, s) for i, s in part["train"]}
        members[fam] = {"train": [pool[i] for i in kept["train"]], **{s: [Record(i, q) for i, q in part[s]]
                        for s in ("val", "test")}}  # fmt: skip
        alignments[fam], gap_dropped[fam] = read_alignment(files[f"{fam}.afa"]), kept["gap_dropped"]
        hmms.append(FrameSet.load(files[f"{fam}.hmm"]).hmm(fam))
    build = _options(json.loads((prepared / "parts" / f"{plan['families'][0]}.json").read_text())["build"])
    extra = {**plan["extra"], "source": str(prepared / "input" / "families")}
    card = write_dataset(out, members, alignments, plan["clusters"], gap_dropped, build, extra, FrameSet(hmms))
    counts = card["counts"]
    rows = [(s, a, min(a + chunk_size, counts[s])) for s in ANNOTATED for a in range(0, counts[s], chunk_size)]
    write_text("".join(f"{s}\t{a}\t{b}\n" for s, a, b in rows), chunks)
    return card


def annotate(dataset: str | Path, split: str, start: int, end: int, out: str | Path, ss: str | None = None,
             threads: int = 1) -> int:  # fmt: skip
    """SS/SA of the members `start:end` of a split (manifest order) into `out` (.npz, as the feature cache keeps
    them); returns how many."""
    from protfam_core.features.cache import save_ss_sa
    from protfam_core.registry.bundles import resolve
    from protfam_core.ss.predict import SSPredictor

    if split not in ANNOTATED:
        raise InputError(f"split {split!r}: the training reads the SS/SA of {' and '.join(ANNOTATED)} only")
    records = load_dataset(dataset).records(split)[start:end]
    save_ss_sa(Path(out), list(SSPredictor(resolve(ss, "ss"), threads).predict([r.seq for r in records])))
    return len(records)


@contextmanager
def registry_at(root: Path) -> Iterator[None]:
    """PROTFAM_REGISTRY pointed at `root` inside the block (every model reference resolves there), restored after."""
    old = os.environ.get("PROTFAM_REGISTRY")
    os.environ["PROTFAM_REGISTRY"] = str(root)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PROTFAM_REGISTRY")
        else:
            os.environ["PROTFAM_REGISTRY"] = old


def _adopt(prepared: Path, dataset: Path, out: Path) -> None:
    """The staged families and the dataset copied into `<out>` in `easy-train`'s layout, the dataset's card naming
    its source there: the open set is read beside the source, wherever the task that built the dataset ran."""
    for part in (Path("input") / "families", Path(REFERENCE)):
        shutil.rmtree(out / part, ignore_errors=True)
        shutil.copytree(prepared / part, out / part)
    shutil.rmtree(out / "dataset", ignore_errors=True)
    shutil.copytree(dataset, out / "dataset")
    card = json.loads((out / "dataset" / "card.json").read_text())
    write_text(json.dumps({**card, "source": str(out / "input" / "families")}, indent=2) + "\n",
               out / "dataset" / "card.json")  # fmt: skip


def _fill_cache(out: Path, annotated: Sequence[str | Path], ss: str | None) -> None:
    """The feature cache's SS/SA of each annotated split, joined from its chunks in member order."""
    from protfam_core.features.cache import FeatureCache, load_ss_sa, save_ss_sa

    ds = load_dataset(out / "dataset")
    cache = FeatureCache(ds, out / "features", ss)
    for split in ANNOTATED:
        shards = sorted((p for p in map(Path, annotated) if p.name.startswith(f"{split}.")),
                        key=lambda p: int(p.name.split(".")[1]))  # fmt: skip
        ss_sa = [pair for shard in shards for pair in load_ss_sa(shard)]
        if len(ss_sa) != len(ds.records(split)):
            raise InputError(
                f"the SS/SA chunks of {split} hold {len(ss_sa)} members, the split {len(ds.records(split))}"
            )
        save_ss_sa(cache.ss_file(split), ss_sa)


def train(
    prepared: str | Path,
    dataset: str | Path,
    annotated: Sequence[str | Path],
    out: str | Path,
    threads: int = 1,
    progress: Progress = lambda stage, message: None,
) -> dict:
    """VAE, CNN, calibration, fast path and evaluation on the assembled dataset with the annotated chunks
    (`<split>.<start>.npz`), with the prepare step's settings; the chain's bundles land in `<out>/registry` (a
    registry folder of its own, seeded with the SS model), the summary in `<out>/summary.json`."""
    from protfam_core.registry.bundles import publish, resolve
    from protfam_core.registry.tracking import training_run
    from protfam_core.registry.versions import CHAMPION

    prepared, out = Path(prepared).resolve(), Path(out).resolve()
    plan = json.loads((prepared / PLAN).read_text())
    settings = TrainSettings(**{**plan["settings"], "threads": threads})
    ss = resolve(settings.ss, "ss")
    _adopt(prepared, Path(dataset), out)
    root = out / "registry"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with registry_at(root):
        publish(ss.path, alias=CHAMPION, root=root)  # the SS model is this registry's default, as the chain's
        _fill_cache(out, annotated, None)
        checksum = card_sha(out / "dataset")
        with training_run("easy-train", asdict(settings), checksum) as parent:
            parent.client.set_tag(parent.run_id, "mlflow.runName", f"nextflow train {settings.name}")
            stages = Stages(out, progress, parent)
            stages.run("dataset", {"dataset": checksum}, lambda log: dataset_figures(out / "dataset", threads),
                       lambda: False, checksum)  # fmt: skip
            validation, chain = train_networks(stages, out, settings, plan["note"])
            publish_chain(chain[2:], root)  # the calibrated CNN and the fast path beside the frames and the VAE
    summary = {"model": settings.name, "registry": str(root), "out": str(out), "families": plan["roles"],
               "chain": {b.kind: b.ref for b in chain}, "calibration": plan["note"], "validation": validation,
               "stages": stages.records}  # fmt: skip
    write_text(json.dumps(summary, indent=2) + "\n", out / "summary.json")
    return summary


def publish_trained(trained: str | Path, name: str, root: Path) -> list[str]:
    """Every bundle of a training step's registry folder into `root` (the SS model too, where `root` lacks it), NAME
    and NAME-fast under the champion alias; returns the names published."""
    from protfam_core.registry.bundles import Bundle, load_manifest

    trained = Path(trained)
    models = load_manifest(trained)["models"]
    if name not in models or f"{name}-fast" not in models:
        raise InputError(f"{trained} holds no trained chain {name!r} (it has {', '.join(sorted(models))})")
    bundles = [Bundle.load(trained / n / v) for n, entry in sorted(models.items()) for v in entry["versions"]]
    publish_chain(bundles, root, name)
    return sorted(models)
