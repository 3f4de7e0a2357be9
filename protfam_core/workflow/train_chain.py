"""`classify-cnn easy-train`: one call from a user's family files to a published chain that `predict --model NAME` uses.

It runs the five commands a chain took by hand (prep-msa build, encode-vae train, classify-cnn train, calibrate,
train-fast), measures the chain on validation data and publishes it: the CNN as NAME and its fast path as NAME-fast,
both under the champion alias (the registry's defaults stay as they are), beside NAME-frames and NAME-vae. The SS
model is the registry's. Stages are resumable and tracked (`workflow.stages`); the training stages also log their own
runs and register their bundles in the MLflow store, as the single commands do, and the store's champion of NAME and
NAME-fast is set too, so that a configured store resolves NAME to the same chain.

Layout of `<out>`: input/families/ (the trained families as FASTA), homstrad_ref/ (the unknown families, where the open
set reads them: `workflow.inputs`), dataset/, features/ (the feature cache), vae/, cnn/, calibrated/, fast/, stages/,
summary.json.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from protfam_core.errors import InputError, ModelError
from protfam_core.io.atomic import write_text
from protfam_core.msa.aligners import DEFAULT_BACKEND
from protfam_core.msa.dataset import PER_FAMILY, BuildOptions
from protfam_core.msa.open_set import REFERENCE
from protfam_core.msa.split import MIN_SPLIT_FAMILY
from protfam_core.registry.bundles import Bundle, parse_ref, registry_dir
from protfam_core.workflow.inputs import FamilySet, Source, read_family_set
from protfam_core.workflow.stages import Progress, Stages

STAGES = ("dataset", "vae", "cnn", "calibrate", "fast", "evaluate", "publish")
WEAKEST = 5  # families listed as the weakest in the summary


@dataclass(frozen=True)
class TrainSettings:
    """Every setting of a chain's training; `epochs`/`max_minutes` None keep each network's own default."""

    name: str
    seed: int = 0
    epochs: int | None = None
    max_minutes: float | None = None
    min_family_size: int = MIN_SPLIT_FAMILY
    per_family: int = PER_FAMILY
    backend: str = DEFAULT_BACKEND
    hold_out: int | None = None
    ss: str | None = None
    threads: int = 1

    def network(self, epochs: int, minutes: float) -> dict:
        """Seed, epochs and wall-time bound of one network: the settings' where given, else the tool's defaults."""
        return {"seed": self.seed, "epochs": self.epochs or epochs, "max_minutes": self.max_minutes or minutes}


def card_sha(folder: Path) -> str:
    """The checksum a later stage keys on: a dataset card's checksum, a bundle's model.json sha256."""
    if (folder / "card.json").is_file():
        return json.loads((folder / "card.json").read_text())["checksum"]
    return Bundle.load(folder).card_sha256()


def stage_input_files(out: Path, families: FamilySet) -> None:
    """Write the staged families: the trained ones where the dataset is built from, the unknown ones where the open
    set reads them (each folder replaced whole, so that no family of an earlier run stays)."""
    for part, folder in (("families", out / "input" / "families"), ("unknown", out / REFERENCE)):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for fam, text in families.staged()[part].items():
            write_text(text, folder / f"{fam}.fasta")


def check_publishable(bundle: Bundle, root: Path) -> None:
    """The registry's version of the bundle's name and version is this bundle or absent: another training's bundle
    there would leave this chain's references (name/version, pinned by sha256) pointing at it."""
    folder = root / bundle.name / bundle.version
    if (folder / "model.json").is_file():
        there = {k: v for k, v in Bundle.load(folder).card.items() if k != "version"}
        if there != {k: v for k, v in bundle.card.items() if k != "version"}:
            raise ModelError(
                f"{root} already holds {bundle.ref} from another training: choose another model name, or train "
                "in a fresh output folder"
            )


def validation_summary(truth: list[str], calls: list[str], families: list[str]) -> dict:
    """Accuracy per family on validation members, the weakest families and what their members were called."""
    per_family = {}
    for fam in families:
        got = [c for t, c in zip(truth, calls, strict=True) if t == fam]
        wrong = Counter(c for c in got if c != fam)
        per_family[fam] = {"members": len(got), "accuracy": sum(c == fam for c in got) / len(got) if got else None,
                           "confusions": dict(wrong.most_common(3))}  # fmt: skip
    scored = sorted((v["accuracy"], f) for f, v in per_family.items() if v["accuracy"] is not None)
    right = sum(t == c for t, c in zip(truth, calls, strict=True))
    return {"accuracy": right / len(truth) if truth else 0.0, "members": len(truth), "per_family": per_family,
            "weakest": [f for _, f in scored[:WEAKEST]]}  # fmt: skip


def summarize_test(truth: list[str], calls: list[str], families: list[str]) -> dict:
    """Accuracy on the test members, over the families that have them (None where none has): a family of fewer than
    `msa.split.SMALL_FAMILY` members has none, and is listed as such."""
    right = sum(t == c for t, c in zip(truth, calls, strict=True))
    tested = set(truth)
    return {
        "test_accuracy": right / len(truth) if truth else None,
        "test_members": len(truth),
        "test_families": len(tested),
        "families_without_test": [f for f in families if f not in tested],
    }


def train_chain(
    sources: Source,
    out: str | Path,
    settings: TrainSettings,
    unknown: Source = (),
    progress: Progress = lambda stage, message: None,
) -> dict:
    """Train, calibrate, measure and publish a chain from family files; returns the summary (also written as
    `<out>/summary.json`). The input is read and checked first: bad input raises before anything is written."""
    from protfam_core.registry.tracking import training_run

    parse_ref(settings.name)  # a bad model name fails before any work
    families = read_family_set(sources, unknown, settings.hold_out, settings.min_family_size, settings.seed)
    out = Path(out).resolve()
    params = {**asdict(settings), "families": len(families.trained), "unknown_families": len(families.unknown)}
    with training_run("easy-train", params, families.checksum()) as parent:
        parent.client.set_tag(parent.run_id, "mlflow.runName", f"easy-train {settings.name}")
        stages = Stages(out, progress, parent)
        summary = _run(stages, families, out, settings)
        summary["stages"] = stages.records
        path = out / "summary.json"
        write_text(json.dumps(summary, indent=2) + "\n", path)
        parent.client.log_artifact(parent.run_id, str(path))
        parent.log_epoch(0, {f"val_{k}": v for k, v in summary["validation"].items() if isinstance(v, float)})
    return summary


def build_options(settings: TrainSettings) -> BuildOptions:
    """The dataset build of a chain's training: the family-size floor, cap, aligner and seed of its settings."""
    build = BuildOptions(min_family_size=settings.min_family_size, per_family=settings.per_family,
                         backend=settings.backend, seed=settings.seed, threads=settings.threads)  # fmt: skip
    build.check()
    return build


def dataset_figures(data: Path, threads: int) -> dict:
    """The dataset stage's figures, once the unknown families are known to leave a calibration set: InputError
    where none is left."""
    from protfam_core.msa.dataset import load_dataset
    from protfam_core.msa.open_set import unknown_records

    ds = load_dataset(data)
    halves = {part: unknown_records(ds, part, threads=threads)[0] for part in ("val", "test")}
    if not halves["val"]:
        raise InputError(
            "no unknown family is left for calibration (each has a homolog among the trained families, or is "
            "too short): give --unknown families, or --hold-out more"
        )
    counts = ds.card["counts"]
    return {**{k: counts[k] for k in ("families", "train", "val", "test")}, "checksum": ds.card["checksum"],
            "unknown_val": len(halves["val"]), "unknown_test": len(halves["test"]),
            "too_small_after_cleaning": sorted(ds.card["cleaning"]["families_below_min_size"])}  # fmt: skip


def _run(stages: Stages, families: FamilySet, out: Path, settings: TrainSettings) -> dict:
    """The stages in order; each one's inputs are the checksums of what the ones before it made."""
    from protfam_core.msa.dataset import build_dataset

    data = out / "dataset"
    build = build_options(settings)

    def dataset(log) -> dict:
        stage_input_files(out, families)
        build_dataset(str(out / "input" / "families"), data, build, lambda s, i, n: log(f"{s} {i}/{n}"))
        log("finding the unknown families' sequences (MMseqs2 against the train and val members)")
        return dataset_figures(data, settings.threads)

    build_inputs = {"families": families.checksum(), "build": asdict(build) | {"threads": None}}
    stages.run("dataset", build_inputs, dataset, lambda: (data / "card.json").is_file(), families.checksum())
    note = families.note()
    validation, chain = train_networks(stages, out, settings, note)
    root = registry_dir()

    def publish_stage(log) -> dict:
        log(f"publishing {', '.join(b.ref for b in chain)} into {root}")
        return publish_chain(chain, root, settings.name)

    pub_inputs = {"registry": str(root), "bundles": [b.card_sha256() for b in chain]}
    published = lambda: all((root / b.name / b.version / "model.json").is_file() for b in chain)  # noqa: E731
    stages.run("publish", pub_inputs, publish_stage, published, card_sha(data))
    return {"model": settings.name, "registry": str(root), "chain": {b.kind: b.ref for b in chain}, "out": str(out),
            "families": {"trained": sorted(families.trained), "unknown": sorted(families.unknown),
                         "held_out": families.held_out, "too_small": families.too_small,
                         "given_unknown": families.given_unknown},
            "calibration": note, "validation": validation}  # fmt: skip


def train_networks(stages: Stages, out: Path, settings: TrainSettings, note: str) -> tuple[dict, list[Bundle]]:
    """The stages after the dataset (`<out>/dataset`, SS/SA in `<out>/features`): VAE, CNN, calibration on the
    unknown families (`note` says how they were found), fast path, evaluation. The frames and the VAE are published
    into the registry folder on the way, as the CNN card names them; returns (evaluation figures, the chain's
    bundles: frames, VAE, calibrated CNN, fast path)."""
    from protfam_core.cnn.calibrate import calibrate_bundle
    from protfam_core.cnn.classify import FamilyClassifier
    from protfam_core.cnn.model import TrainConfig
    from protfam_core.cnn.train import train, train_fast
    from protfam_core.msa.dataset import load_dataset
    from protfam_core.msa.open_set import unknown_records
    from protfam_core.registry.bundles import resolve
    from protfam_core.vae.model import TrainConfig as VaeConfig
    from protfam_core.vae.train import train_vae

    name, threads, cache = settings.name, settings.threads, out / "features"
    data, vae, cnn, frames = out / "dataset", out / "vae", out / "cnn" / name, out / "cnn" / f"{name}-frames"
    calibrated, fast = out / "calibrated" / name, out / "fast" / f"{name}-fast"
    checksum = card_sha(data)
    ss_ref = resolve(settings.ss, "ss").ref

    vae_config = settings.network(200, 12.0)
    vae_cfg = VaeConfig(epochs=vae_config["epochs"], seed=settings.seed, threads=threads,
                        max_seconds=vae_config["max_minutes"] * 60)  # fmt: skip

    def vae_stage(log) -> dict:
        shutil.rmtree(vae, ignore_errors=True)
        bundle = train_vae(data, vae, vae_cfg, cache, name=f"{name}-vae", ss_model=settings.ss, log=log)
        return {k: v for k, v in bundle.card["metrics"].items() if "residue_accuracy" in k}

    stages.run("vae", {"dataset": checksum, "ss": ss_ref, **vae_config}, vae_stage,
               lambda: (vae / "model.json").is_file(), checksum)  # fmt: skip

    cnn_config = settings.network(40, 8.0)

    def cnn_stage(log) -> dict:
        shutil.rmtree(out / "cnn", ignore_errors=True)
        config = TrainConfig(seed=settings.seed, epochs=cnn_config["epochs"], max_minutes=cnn_config["max_minutes"])
        result = train(data, out / "cnn", config, str(vae), cache, name, f"{name}-frames", log=log, threads=threads)
        return {k: result.metrics[k] for k in ("val_blind_accuracy", "val_unassigned", "epochs")}

    stages.run("cnn", {"dataset": checksum, "vae": card_sha(vae), **cnn_config}, cnn_stage,
               lambda: (cnn / "model.json").is_file() and (frames / "model.json").is_file(), checksum)  # fmt: skip
    support = [Bundle.load(frames), Bundle.load(vae)]
    publish_chain(support, registry_dir())  # the CNN card names them by name/version: calibration and fast resolve them

    def calibrate_stage(log) -> dict:
        shutil.rmtree(out / "calibrated", ignore_errors=True)
        unknown, _ = unknown_records(load_dataset(data), "val", threads=threads)
        classifier = FamilyClassifier(str(cnn), threads=threads)
        _, chosen = calibrate_bundle(classifier, data, out / "calibrated", unknown, note, log=log)
        return chosen

    cal_inputs = {"dataset": checksum, "cnn": card_sha(cnn), "unknown": note}
    stages.run("calibrate", cal_inputs, calibrate_stage, lambda: (calibrated / "model.json").is_file(), checksum)

    fast_config = settings.network(40, 6.0)

    def fast_stage(log) -> dict:
        shutil.rmtree(out / "fast", ignore_errors=True)
        config = TrainConfig(seed=settings.seed, epochs=fast_config["epochs"], max_minutes=fast_config["max_minutes"])
        bundle = train_fast(data, out / "fast", config, str(calibrated), cache, name=f"{name}-fast", log=log,
                            threads=threads)  # fmt: skip
        return {k: bundle.card["metrics"][k] for k in ("val_accepted", "epochs")}

    fast_inputs = {"dataset": checksum, "cnn": card_sha(calibrated), **fast_config}
    stages.run("fast", fast_inputs, fast_stage, lambda: (fast / "model.json").is_file(), checksum)

    def evaluate_stage(log) -> dict:
        ds = load_dataset(data)
        classifier = FamilyClassifier(str(calibrated), threads=threads)

        def called(records: list) -> list[str]:  # predict refuses an empty input: a split may have no test member
            return [c.family for c in classifier.predict(records)] if records else []

        val, test, (unknown, _) = ds.records("val"), ds.records("test"), unknown_records(ds, "test", threads=threads)
        log(f"classifying {len(val)} validation members, {len(test)} test members and the open set's "
            f"test half ({len(unknown)})")  # fmt: skip
        figures = validation_summary(ds.labels("val"), called(val), ds.families)
        figures.update(summarize_test(ds.labels("test"), called(test), ds.families))
        unassigned = [c == "unassigned" for c in called(unknown)]
        figures["open_set_test_unassigned"] = sum(unassigned) / len(unassigned) if unassigned else None
        return figures

    eval_inputs = {"cnn": card_sha(calibrated), "fast": card_sha(fast)}
    validation = stages.run("evaluate", eval_inputs, evaluate_stage, lambda: True, checksum)
    return validation, [*support, Bundle.load(calibrated), Bundle.load(fast)]


def publish_chain(bundles: list[Bundle], root: Path, name: str | None = None) -> dict:
    """Publish bundles into the registry folder (each version once); with `name`, point `champion` at NAME and
    NAME-fast there and in the MLflow store, without making them their kind's default."""
    from protfam_core.registry import tracking
    from protfam_core.registry.bundles import promote_shipped, publish
    from protfam_core.registry.versions import CHAMPION

    for bundle in bundles:
        check_publishable(bundle, root)
    shipped = {b.name: publish(b.path, alias=None, root=root).version for b in bundles}
    client = tracking.client()
    champions = (name, f"{name}-fast") if name else ()
    for bundle in (b for b in bundles if b.name in champions):
        promote_shipped(bundle.name, shipped[bundle.name], CHAMPION, root)
        with tracking.store_errors(client, f"registering {bundle.ref}"):
            version, _ = tracking.import_bundle(client, bundle, str(bundle.path))
            tracking.set_alias(client, bundle.name, version, CHAMPION)
    return {"published": len(bundles)}
