"""Small families: a chain trained by `classify-cnn easy-train` on n members per family against HMMER profiles of the
same n members, on the held-out test members of the 96 families (issue 35, part 2).

For each n (5, 10, 25 by default), in one run:
  input: per family of the dataset, n members drawn (seeded) from its TRAIN split only, one unaligned FASTA per family;
  protfam: `classify-cnn easy-train` on that folder as a whole process, into a temporary registry and MLflow store
      (the shipped SS model published into it first); easy-train splits the n members itself (n=5: 4 train, 1 val
      and no test member, as every family below 10 members; n=10: 8, 1, 1; `msa.split.split_counts`). Its unknown
      families for calibration (`--unknown FOLDER`) are the dataset's open set validation half, one file per family,
      so that no family of the open set's test half shapes its rule;
  then `classify-cnn predict --model NAME` on the dataset's TEST members and the open set's test half, whole process;
  HMMER: the same n members per family aligned with FAMSA (`msa.aligners.align`, as the chain aligns) and built with
      pyhmmer's hmmbuild defaults; each query gets its best hmmscan hit's family, `unassigned` above the E-value cut
      chosen on validation data only (the dataset's val split and the open set's validation half, as
      benchmarks/hmmer_anchor.py chooses it for classify_accuracy.py);
  HMMER on the chain's frames: the same search on the frame HMMs easy-train built (from the members it trained on),
      and with hmmbuild's defaults on those members, cuts chosen the same way: what the members easy-train keeps
      for its own validation and test cost the profile, apart from the frame recipe.
Figures per n: accuracy and macro F1 on the test members, the share of them left unassigned, the share of the open
set's test half called unassigned (rejection), and easy-train's wall time (per stage in its summary).

Usage: nice -n 10 python benchmarks/small_families.py --dataset build/dataset --sizes 5 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyhmmer
from _record import command_line, write_record
from hmmer_anchor import calibrated_cut, classify, load_hmms

from protfam_core.cnn.report import UNASSIGNED, macro_average, overall_accuracy, table1
from protfam_core.io.seqio import Record, format_fasta
from protfam_core.msa.aligners import DEFAULT_BACKEND, align
from protfam_core.msa.dataset import Dataset, load_dataset
from protfam_core.msa.open_set import unknown_records
from protfam_core.msa.split import shuffled
from protfam_core.registry.bundles import publish, resolve

ALPHABET = pyhmmer.easel.Alphabet.amino()


def draw_members(dataset: Dataset, n: int, seed: int) -> dict[str, list[Record]]:
    """n members per family, a seeded choice from its train split only (all of them where it has fewer)."""
    by_family: dict[str, list[Record]] = defaultdict(list)
    for rec, fam in zip(dataset.records("train"), dataset.labels("train"), strict=True):
        by_family[fam].append(rec)
    return {fam: shuffled(recs, seed, f"small-families:{fam}")[:n] for fam, recs in sorted(by_family.items())}


def write_families(folder: Path, families: dict[str, list[Record]]) -> None:
    """One unaligned FASTA per family, named by the family."""
    folder.mkdir(parents=True, exist_ok=True)
    for fam, recs in families.items():
        (folder / f"{fam}.fasta").write_text(format_fasta(recs))


def hmmbuild_profiles(families: dict[str, list[Record]], threads: int) -> list[pyhmmer.plan7.HMM]:
    """What a HMMER user makes of the same members: a FAMSA alignment per family, `hmmbuild` with its defaults."""
    builder, background = pyhmmer.plan7.Builder(ALPHABET), pyhmmer.plan7.Background(ALPHABET)
    hmms = []
    for fam, recs in families.items():
        rows = align(recs, DEFAULT_BACKEND, threads)
        text = [pyhmmer.easel.TextSequence(name=r.id.encode(), sequence=r.seq) for r in rows]
        msa = pyhmmer.easel.TextMSA(name=fam.encode(), sequences=text)
        hmm, _, _ = builder.build_msa(msa.digitize(ALPHABET), background)
        hmms.append(hmm)
    return hmms


def scores(truth: list[str], called: list[str], families: list[str], open_called: list[str]) -> dict[str, float]:
    """Accuracy, macro F1 (the paper's Table 1 average) and unassigned share on the test members; open-set rejection."""
    return {
        "accuracy": overall_accuracy(truth, called),
        "macro_f1": macro_average(table1(truth, called, families)).f1,
        "unassigned": float(np.mean([c == UNASSIGNED for c in called])),
        "open_set_unassigned": float(np.mean([c == UNASSIGNED for c in open_called])),
    }


def run_tool(args: list[str], env: dict[str, str], stdout: Path | None = None) -> float:
    """Run a CLI as a whole process; its wall seconds. Its stderr passes through."""
    start = time.perf_counter()
    with open(stdout, "w") if stdout else open(os.devnull, "w") as out:
        if subprocess.run(args, env=env, stdout=out).returncode:
            raise SystemExit(f"{' '.join(args[:2])} failed (its error is above)")
    return time.perf_counter() - start


def read_calls(path: Path) -> dict[str, str]:
    """query_id -> family of a `classify-cnn predict` TSV (its '#' line and header skipped)."""
    lines = [ln.split("\t") for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return {row[0]: row[1] for row in lines[1:]}


def anchor(hmms, val, val_labels, unknown_val, queries, threads: int) -> tuple[list[str], float]:
    """hmmscan calls of `queries` (test members, then the open test half) at the cut chosen on validation data."""
    cut = calibrated_cut(hmms, val, val_labels, unknown_val, "hmmscan")
    calls, _ = classify(hmms, queries, cut, "hmmscan", cpus=threads)
    return [c.family for c in calls], cut


def one_size(n: int, ds: Dataset, sets: dict, work: Path, args: argparse.Namespace) -> dict:
    """Train, predict and anchor at n members per family; the record's figures."""
    folder = work / f"n{n}"
    shutil.rmtree(folder, ignore_errors=True)
    members = draw_members(ds, n, args.seed)
    write_families(folder / "families", members)
    registry = folder / "registry"
    publish(resolve(None, "ss").path, root=registry)  # the only model the temporary registry starts with
    env = {**os.environ, "PROTFAM_REGISTRY": str(registry), "PROTFAM_TRACKING_URI": f"sqlite:///{folder}/mlflow.db"}
    name, threads = f"small-n{n}", str(args.threads)
    train_cmd = ["classify-cnn", "easy-train", str(folder / "families"), "--name", name, "--out", str(folder / "out"),
                 "--unknown", str(work / "unknown"), "--seed", str(args.seed), "--threads", threads]  # fmt: skip
    print(f"[n={n}] {' '.join(train_cmd)}", flush=True)
    train_s = run_tool(train_cmd, env)
    summary = json.loads((folder / "out" / "summary.json").read_text())
    predict_cmd = ["classify-cnn", "predict", "--model", name, "--threads", threads, str(work / "queries.fasta")]
    predict_s = run_tool(predict_cmd, env, folder / "calls.tsv")
    calls = read_calls(folder / "calls.tsv")
    queries, truth, n_test = sets["queries"], sets["truth"], len(sets["truth"])
    protfam = [calls[q.id] for q in queries]
    fams = ds.families
    hmm_start = time.perf_counter()
    hmmer, cut = anchor(hmmbuild_profiles(members, args.threads), *sets["validation"], queries, args.threads)
    hmmer_s = time.perf_counter() - hmm_start
    chain_data = load_dataset(folder / "out" / "dataset")
    frames_hmms = load_hmms(chain_data.path / "frames.hmm")
    frames, frames_cut = anchor(frames_hmms, *sets["validation"], queries, args.threads)
    chain_train: dict[str, list[Record]] = defaultdict(list)
    for rec, fam in zip(chain_data.records("train"), chain_data.labels("train"), strict=True):
        chain_train[fam].append(rec)
    own, own_cut = anchor(
        hmmbuild_profiles(dict(chain_train), args.threads), *sets["validation"], queries, args.threads
    )
    stages = {r["stage"]: r["seconds"] for r in summary["stages"]}
    trained = summary["families"]["trained"]
    out = {
        "members_per_family": n,
        "families_trained": len(trained),
        "test_members": n_test,
        "open_set_test_sequences": len(queries) - n_test,
        "protfam": {**scores(truth, protfam[:n_test], fams, protfam[n_test:]), "predict_seconds": round(predict_s, 1)},
        "hmmer": {
            **scores(truth, hmmer[:n_test], fams, hmmer[n_test:]),
            "evalue_cut": cut,
            "build_and_search_seconds": round(hmmer_s, 1),
        },
        "hmmer_on_chain_frames": {**scores(truth, frames[:n_test], fams, frames[n_test:]), "evalue_cut": frames_cut},
        "hmmer_on_chain_train_members": {**scores(truth, own[:n_test], fams, own[n_test:]), "evalue_cut": own_cut},
        "training": {"easy_train_seconds": round(train_s, 1), **{f"{k}_seconds": v for k, v in stages.items()}},
        "chain_validation_accuracy": summary["validation"]["accuracy"],
        "families_not_trained": sorted(set(fams) - set(trained)),
    }
    print(json.dumps(out, indent=2), f"command: {command_line()}", sep="\n", flush=True)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return out


NOTES = (
    "n members per family drawn from the train split of build/dataset (96 families); protfam = `classify-cnn "
    "easy-train` on them (it splits them itself: n=5 trains its frame and networks on 4 and validates on 1, a family "
    "below 10 members gets no test member; n=10: 8, 1, 1) "
    "with the open set's validation half as --unknown, then `classify-cnn predict --model NAME`, both whole "
    "processes; hmmer = FAMSA + pyhmmer hmmbuild defaults on all n members, hmmscan best hit; hmmer_on_chain_frames = "
    "the same search on the frame HMMs easy-train built, hmmer_on_chain_train_members = hmmbuild defaults on the "
    "members easy-train put in its train split (what withholding val and test members costs the profile); every HMMER "
    "E-value cut chosen on the dataset's val split and "
    "the open set's validation half. Test: the dataset's test split (never drawn) and the open set's test half."
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 25])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default="build/bench/small_families")
    ap.add_argument("--keep", action="store_true", help="keep each size's trained chain and work folder")
    args = ap.parse_args()
    ds = load_dataset(args.dataset)
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    unknown_val, unknown_val_fams = unknown_records(ds, "val", threads=args.threads)
    unknown_test, _ = unknown_records(ds, "test", threads=args.threads)
    by_family: dict[str, list[Record]] = defaultdict(list)
    for rec, fam in zip(unknown_val, unknown_val_fams, strict=True):
        by_family[fam].append(rec)
    shutil.rmtree(work / "unknown", ignore_errors=True)
    write_families(work / "unknown", dict(by_family))
    test, truth = ds.records("test"), ds.labels("test")
    queries = [*test, *unknown_test]
    (work / "queries.fasta").write_text(format_fasta(queries))
    sets = {"queries": queries, "truth": truth,
            "validation": (ds.records("val"), ds.labels("val"), unknown_val)}  # fmt: skip
    for n in args.sizes:
        figures = one_size(n, ds, sets, work, args)
        write_record("small_families", figures, variant=f"{n} members per family", notes=NOTES)


if __name__ == "__main__":
    main()
