"""Scale: `classify-cnn easy-train` and `classify-cnn predict --model NAME` at hundreds to thousands of families,
against the HMMER 3 binaries on the same frames (issue 35, part 4). One run per family set, one record.

Family sets: `--families PATH ...` (real family files, as easy-train takes them), or `--synthetic N` families of
`--members` members emitted from perturbed real frame HMMs (`synthetic_families.py`, from `--dataset`'s frames; they
measure cost, not accuracy). Layout under the root (`--work`'s parent): work/ (easy-train's --out), registry/ (a
temporary registry, the SS model published into it first), mlflow.db, families/ (synthetic ones). `--registry` names
another registry folder (e.g. of a training run by hand).
1. Training: `classify-cnn easy-train` as one whole process: its wall time and peak RSS (the process and its
   children), each stage's seconds and peak RSS (a high-water mark) from `<work>/summary.json`, the bytes of each
   bundle it published. Where `<work>/summary.json` exists, nothing is trained: every training figure comes from
   that earlier run's summary (its whole-process wall time and RSS are then unknown: null).
2. Prediction, whole processes, one after another on the same queries: `classify-cnn predict --model NAME`,
   `hmmsearch --cpu T -Z F --tblout` and `hmmscan --cpu T -Z F --tblout` (pressed first, not timed) of the frames the
   chain was trained with (`<work>/dataset/frames.hmm`, F families), `--repeats` times each, median wall.
   Queries: `members`, up to N test members of the chain's dataset (repeated with unique ids where fewer);
   `non_members`, N sequences of families the chain does not know (repeated likewise): for real families the test
   half of easy-train's own open set (`open_set.unknown_records` on `<work>/dataset`: its too-small, held-out and
   given unknown families; the val half calibrated the rule); for synthetic ones the test half of `--dataset`'s open
   set (real families none of the synthetic families derives from; the val half is easy-train's `--unknown`).
   Figures: seq/s, peak RSS, protfam's accuracy on the members (called family == truth) and rejection on the
   non-members (share unassigned), HMMER's best hit at E <= 1e-3 the same way, and protfam's throughput over
   hmmsearch's and hmmscan's.

Usage: nice -n 10 python benchmarks/scale.py --synthetic 2000 --members 20 --threads 2
       nice -n 10 python benchmarks/scale.py --families ../shared/data/families/exthomfam ../shared/data/homstrad_ref \
           --label "370 real families" --work build/scale370/work --name all370 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from _record import command_line, write_record
from classify_speed import _LAUNCHER, calls_of, timed
from small_families import write_families
from synthetic_families import write_synthetic

from protfam_core.io.seqio import Record, write_fasta
from protfam_core.msa.dataset import load_dataset
from protfam_core.msa.open_set import unknown_records
from protfam_core.registry.bundles import publish, resolve

HMMER_EVALUE = 1e-3  # HMMER's best hit counts at or below this E-value


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def train(families: list[str], work: Path, args: argparse.Namespace) -> tuple[float, float]:
    """easy-train as one process (its progress passes through); (wall seconds, peak RSS MiB of it and its children),
    through classify_speed's launcher so that this process's own peak does not count."""
    cmd = ["classify-cnn", "easy-train", *families, "--name", args.name, "--out", str(work), "--threads",
           str(args.threads), "--seed", str(args.seed), *args.train_option]  # fmt: skip
    for unknown in args.unknown:
        cmd += ["--unknown", unknown]
    print(" ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, *cmd], stderr=subprocess.PIPE, text=True)
    last = ""
    for line in proc.stderr:
        sys.stderr.write(line)
        last = line
    if proc.wait():
        raise SystemExit("classify-cnn easy-train failed (its error is above)")
    wall, rss_kb = last.split()
    return float(wall), int(rss_kb) / 1024


def training_figures(work: Path, registry: Path, run: tuple[float, float] | None) -> dict:
    """Stage seconds, stage peak RSS and bundle sizes from `<work>/summary.json`; `run` is (wall, RSS) of the
    process this benchmark ran, None where the summary is an earlier run's."""
    summary = json.loads((work / "summary.json").read_text())
    stages = summary["stages"]
    sizes = {kind: tree_bytes(registry.joinpath(*ref.split("/"))) / 2**20 for kind, ref in summary["chain"].items()}
    return {
        "families_trained": len(summary["families"]["trained"]),
        "families_unknown": len(summary["families"]["unknown"]),
        "validation_accuracy": summary["validation"]["accuracy"],
        "training": {
            "from_earlier_run": run is None,
            "easy_train_wall_s": round(run[0], 1) if run else None,
            "easy_train_peak_rss_mb": round(run[1], 1) if run else None,
            "stages_s": {r["stage"]: r["seconds"] for r in stages},
            "stages_sum_s": round(sum(r["seconds"] for r in stages), 1),
            "stage_peak_rss_mb": {r["stage"]: r["peak_rss_mb"] for r in stages},
            "stages_skipped": [r["stage"] for r in stages if r["status"] == "skipped"],
        },
        "model_mb": {**{k: round(v, 2) for k, v in sizes.items()}, "total": round(sum(sizes.values()), 2)},
    }


def repeated(records: list[Record], n: int) -> list[Record]:
    """n records: `records` in turn, ids made unique (`id#copy`) once they repeat."""
    if len(records) >= n:
        return records[:n]
    return [Record(f"{r.id}#{i}", r.seq) for i in range(-(-n // len(records))) for r in records][:n]


def best_hits(tblout: Path, scan: bool) -> dict[str, str]:
    """query -> family of HMMER's best hit at E <= HMMER_EVALUE; hmmscan's table has the columns the other way."""
    if not scan:
        return calls_of(tblout, HMMER_EVALUE)
    best: dict[str, tuple[float, str]] = {}
    for fields in (ln.split() for ln in tblout.read_text().splitlines() if ln and not ln.startswith("#")):
        family, seq, evalue, score = fields[0], fields[2], float(fields[4]), float(fields[5])
        if evalue <= HMMER_EVALUE and score > best.get(seq, (-float("inf"), ""))[0]:
            best[seq] = (score, family)
    return {seq: family for seq, (_, family) in best.items()}


def predict(queries: list[Record], truth: list[str] | None, frames: Path, tmp: Path, args) -> dict:
    """protfam, hmmsearch and hmmscan on the same queries, whole processes, alternating `--repeats` times: seq/s,
    peak RSS, accuracy (members: `truth`) or rejection (non-members: None), protfam's ratios."""
    fasta, pressed = tmp / "q.fasta", tmp / "pressed" / "frames.hmm"
    write_fasta(queries, fasta)
    n_hmms = sum(line.startswith("NAME ") for line in frames.read_text().splitlines())
    out = {name: tmp / f"{name}.tsv" for name in ("protfam", "hmmsearch", "hmmscan")}
    threads = str(args.threads)
    hmmer = ["--cpu", threads, "-Z", str(n_hmms), "--domZ", str(n_hmms), "--noali", "-o", "/dev/null", "--tblout"]
    protfam = ["classify-cnn", "predict", str(fasta), "--model", args.name, "-j", threads, "-o", str(out["protfam"])]
    cmds = {
        "protfam": protfam,
        "hmmsearch": ["hmmsearch", *hmmer, str(out["hmmsearch"]), str(frames), str(fasta)],
        "hmmscan": ["hmmscan", *hmmer, str(out["hmmscan"]), str(pressed), str(fasta)],
    }
    runs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for _ in range(args.repeats):
        for name, cmd in cmds.items():
            print(f"  {name} on {len(queries)} sequences", file=sys.stderr, flush=True)
            runs[name].append(timed(cmd))
    res: dict = {"sequences": len(queries), "unique_sequences": len({r.seq for r in queries})}
    for name, got in runs.items():
        wall = statistics.median(w for w, _ in got)
        calls = calls_of(out[name]) if name == "protfam" else best_hits(out[name], name == "hmmscan")
        called = [calls.get(r.id, "unassigned") for r in queries]
        res[name] = {"wall_s": round(wall, 2), "seqs_per_s": round(len(queries) / wall, 2),
                     "peak_rss_mb": round(max(r for _, r in got), 1)}  # fmt: skip
        if truth is None:
            res[name]["rejection"] = sum(c == "unassigned" for c in called) / len(called)
        else:
            res[name]["accuracy"] = sum(c == t for c, t in zip(called, truth, strict=True)) / len(truth)
    for peer in ("hmmsearch", "hmmscan"):
        res["protfam"][f"ratio_to_{peer}"] = round(res[peer]["wall_s"] / res["protfam"]["wall_s"], 3)
    return res


def prepare(args: argparse.Namespace, work: Path) -> list[str]:
    """The family inputs of the training: `--families`, or the synthetic families written under the root (with the
    val half of `--dataset`'s open set as `--unknown`, so that no synthetic family is held out for calibration)."""
    if not args.synthetic:
        return args.families
    root = work.parent
    write_synthetic(Path(args.dataset) / "frames.hmm", root / "families", args.synthetic, args.members, args.seed)
    val, fams = unknown_records(load_dataset(args.dataset), "val", threads=args.threads)
    by_family: dict[str, list[Record]] = defaultdict(list)
    for rec, fam in zip(val, fams, strict=True):
        by_family[fam].append(rec)
    write_families(root / "unknown", dict(by_family))
    args.unknown = [*args.unknown, str(root / "unknown")]
    return [str(root / "families")]


def non_members(args: argparse.Namespace, work: Path) -> list[Record]:
    """Sequences of families the chain does not know (see the module's docstring)."""
    source = load_dataset(args.dataset if args.synthetic else work / "dataset")
    recs, _ = unknown_records(source, "test", threads=args.threads)
    if not recs:
        raise SystemExit(f"no open-set test sequences for {source.path}")
    return recs


def notes(args: argparse.Namespace) -> str:
    """What the record's figures stand on."""
    kind = (f"{args.synthetic} synthetic families of {args.members} members emitted from perturbed frame HMMs of "
            f"{args.dataset} (cost, not accuracy; benchmarks/synthetic_families.py, seed {args.seed})"
            if args.synthetic else f"the families of {' '.join(args.families)}")  # fmt: skip
    return (
        f"{kind}; training: `classify-cnn easy-train` as one process (stage seconds and peak RSS from its "
        "summary.json; peak RSS per stage is a high-water mark; model_mb: the bundles it published); prediction: "
        "`classify-cnn predict --model NAME`, `hmmsearch` and `hmmscan` (HMMER 3 binaries, pressed first, untimed) "
        "of the chain's frames, whole processes, same queries; members: the chain dataset's test split, "
        "non-members: the test half of "
        + ("the open set of " + args.dataset if args.synthetic else "easy-train's own open set")
        + ", each repeated with unique ids up to --n (unique_sequences says how many differ); HMMER: best hit at "
        f"E <= {HMMER_EVALUE}, -Z = the number of frames"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    given = ap.add_mutually_exclusive_group(required=True)
    given.add_argument("--families", nargs="+", help="family files or folders, as easy-train takes them")
    given.add_argument("--synthetic", type=int, help="this many synthetic families")
    ap.add_argument("--members", type=int, default=20, help="members per synthetic family")
    ap.add_argument("--label", help="the record's variant (default: the family set)")
    ap.add_argument("--dataset", default="build/dataset", help="frames and open set of the synthetic families")
    ap.add_argument("--work", help="easy-train's --out (default build/bench/scale/<label>/work); reused if trained")
    ap.add_argument("--registry", help="registry folder (default: <work>/../registry)")
    ap.add_argument("--name", default="scale", help="the model name")
    ap.add_argument("--unknown", action="append", default=[], help="easy-train --unknown (repeatable)")
    ap.add_argument("--train-option", action="append", default=[],
                    help="another easy-train option, e.g. --train-option=--max-minutes=3 (repeatable)")  # fmt: skip
    ap.add_argument("-n", "--n", type=int, default=5000, help="members and non-members to predict, each")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    label = args.label or (f"{args.synthetic} synthetic families x {args.members} members" if args.synthetic
                           else " + ".join(Path(p).name for p in args.families))  # fmt: skip
    label += "".join(f" {o}" for o in args.train_option)
    slug = "".join(c if c.isalnum() else "_" for c in label)
    work = Path(args.work or f"build/bench/scale/{slug}/work").resolve()
    registry = Path(args.registry or work.parent / "registry").resolve()
    if not (registry / "manifest.json").is_file():
        publish(resolve(None, "ss").path, root=registry)  # the only model the temporary registry starts with
    os.environ |= {"PROTFAM_REGISTRY": str(registry), "PROTFAM_TRACKING_URI": f"sqlite:///{work.parent}/mlflow.db"}
    run = None
    if not (work / "summary.json").is_file():
        run = train(prepare(args, work), work, args)
    figures = training_figures(work, registry, run)
    data = load_dataset(work / "dataset")
    members, truth = data.records("test"), data.labels("test")
    members = repeated(members, args.n)
    truth = [truth[i % len(truth)] for i in range(len(members))]
    strangers = repeated(non_members(args, work), args.n)
    frames = work / "dataset" / "frames.hmm"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pressed").mkdir()
        (Path(tmp) / "pressed" / "frames.hmm").write_bytes(frames.read_bytes())
        subprocess.run(["hmmpress", str(Path(tmp) / "pressed" / "frames.hmm")], check=True, stdout=subprocess.DEVNULL)
        figures["members"] = predict(members, truth, frames, Path(tmp), args)
        figures["non_members"] = predict(strangers, None, frames, Path(tmp), args)
    print(json.dumps(figures, indent=2), f"command: {command_line()}", sep="\n", flush=True)
    write_record("scale", figures, variant=label, notes=notes(args))


if __name__ == "__main__":
    main()
