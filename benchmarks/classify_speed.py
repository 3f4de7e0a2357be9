"""`classify-cnn predict` against pyhmmer hmmsearch and hmmscan as whole processes, on the same frames, same run.

Queries (`--input`): `members`, the first N test-split sequences of a dataset (all of them if it has fewer);
`unknown`, N sequences of the open set's test half (families the model does not know; repeated with unique ids up to
N); `proteome`, a whole proteome FASTA (`--proteome`, e.g. pyhmmer's packaged 938293.PRJEB85.HG003687.faa, 2,100
predicted proteins that no choice of protfam saw). For each thread count:
- protfam: `classify-cnn predict q.fasta -j T` (the shipped chain or --model);
- the anchor: a process that loads the frame HMMs the CNN pins, runs pyhmmer (hmmsearch, then hmmscan) with T
  threads and writes each query's best family, unassigned above an E-value cut chosen with the CNN's calling rule
  on the same validation sets (val split + the open set's val half; `hmmer_anchor.calibrated_cut`, not timed);
- the HMMER binary users run: `hmmsearch --cpu T -Z <families> --tblout` on the same frames, the best family of each
  query with the same cut.
Accuracy is counted where the truth is known (members: their family; unknown: `unassigned`); every figure also
gives the share of queries called.
Each process runs `--repeats` times, alternating; the median wall time counts, peak RSS (the process's own
`ru_maxrss`) and the accuracy of its calls (unassigned counts as wrong) are reported, and the ratio
protfam seq/s / anchor seq/s. protfam's modules are byte-compiled first, as a wheel install does (a checkout run
with PYTHONDONTWRITEBYTECODE would compile them again in every process). Then where protfam's time goes, stage by
stage, in one process. With `--fast` also `classify-cnn predict --fast` (its ratios, its stages and the share it
leaves to the chain). With `--domains` also `classify-cnn predict --domains` against the `hmmscan --cpu T
--domtblout` binary on the same frames (pressed). With `--rss-n` also the peak RSS and wall time of one process of
each on that many sequences (the test split repeated, ids made unique; the last thread count), where a start-up cost
weighs less.

Usage: python benchmarks/classify_speed.py [--dataset build/dataset] [-n 5000] [--threads 1 --threads 2]
"""

from __future__ import annotations

import argparse
import compileall
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _record import without_command, write_record
from hmmer_anchor import calibrated_cut, classify, load_hmms

from protfam_core.io.seqio import Record, read_sequences, write_fasta

MODES = ("hmmsearch", "hmmscan")
PEERS = (*MODES, "hmmsearch_bin")  # pyhmmer in-process both ways, and the HMMER 3 hmmsearch binary
# The anchor's process imports only pyhmmer and protfam's readers; the chain's modules are imported in main().


# A small launcher forks the measured process and times it: Linux carries a process's peak RSS across fork and exec,
# so a process forked from this (large) benchmark would report the benchmark's own peak as its ru_maxrss.
_LAUNCHER = """import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(f"{time.perf_counter() - start} {usage.ru_maxrss}", file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one process, from its own rusage (through the launcher)."""
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.decode()
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd)} failed: {err[-500:]}")
    wall, rss_kb = err.strip().splitlines()[-1].split()
    return float(wall), int(rss_kb) / 1024


def calls_of(path: Path, cut: float | None = None) -> dict[str, str]:
    """query_id -> family of a calls TSV (protfam's or the anchor's), or (with `cut`) of hmmsearch's --tblout: the
    best-scoring family of each sequence with E <= cut (sequences without one are absent: unassigned)."""
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    if cut is None:
        return {r[0]: r[1] for r in (line.split("\t") for line in lines[1:])}
    best: dict[str, tuple[float, str]] = {}
    for fields in (line.split() for line in lines):
        seq, family, evalue, score = fields[0], fields[2], float(fields[4]), float(fields[5])
        if evalue <= cut and score > best.get(seq, (-float("inf"), ""))[0]:
            best[seq] = (score, family)
    return {seq: family for seq, (_, family) in best.items()}


def anchor_process(args: argparse.Namespace) -> None:
    """The anchor as its own process: read, search, write (what a user of pyhmmer runs)."""
    records = read_sequences(args.queries)
    calls, _ = classify(load_hmms(args.hmm), records, args.cut, args.anchor, args.threads[0])
    lines = ["query_id\tfamily\tscore\tevalue"] + [f"{c.query_id}\t{c.family}\t{c.score}\t{c.evalue}" for c in calls]
    Path(args.out).write_text("\n".join(lines) + "\n")


def stages(clf, records: list[Record]) -> dict[str, float]:
    """Seconds of each stage of the chain in one process (placement incl. the fallback, SS/SA, VAE, CNN)."""
    from protfam_core.frames.frameset import candidate_placements

    t0 = time.perf_counter()
    found = candidate_placements(clf.frames, records, clf.settings.search, clf.threads, clf.shortlist)
    t1 = time.perf_counter()
    placed = [r for r in records if found[r.id]]  # as the chain does: SS/SA only where there is a placement
    ss_sa = dict(zip((r.id for r in placed), clf.ss_predictor.predict([r.seq for r in placed]), strict=True))
    t2 = time.perf_counter()
    placements = [p for r in records for p in found[r.id]]
    fingerprints = clf.fingerprinter.transform(placements, [ss_sa[p.query_id] for p in placements])
    t3 = time.perf_counter()
    clf.cnn(fingerprints)
    t4 = time.perf_counter()
    return {"placement": t1 - t0, "ss_sa": t2 - t1, "vae": t3 - t2, "cnn": t4 - t3, "placements": len(placements)}


def fast_stages(clf, records: list[Record]) -> dict[str, float]:
    """Seconds of each stage of the fast path in one process, and the share of queries it leaves to the chain."""
    from protfam_core.cnn.fast import forced_candidates

    fast = clf.fast_path
    t0 = time.perf_counter()
    top = fast.prefilter.top([r.seq for r in records], fast.rule.top_k_)
    t1 = time.perf_counter()
    placed = [p for cands in forced_candidates(fast.frames, records, top, fast.threads)
              for p in cands]  # fmt: skip
    t2 = time.perf_counter()
    fast.scores(placed)
    t3 = time.perf_counter()
    rest = [r for r, c in zip(records, fast.calls(records), strict=True) if c is None]
    t4 = time.perf_counter()
    clf.classify(clf.fingerprint(rest))
    t5 = time.perf_counter()
    return {"prefilter": t1 - t0, "placement": t2 - t1, "aa_vae_cnn": t3 - t2, "fast_total": t4 - t3,
            "chain_for_the_rest": t5 - t4, "left_to_chain": len(rest) / len(records)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--threads", type=int, action="append", help="thread counts (repeatable; default 2)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=None, help="CNN bundle (default: the shipped one)")
    ap.add_argument("--rss-n", type=int, default=0, help="also one protfam run on this many sequences")
    ap.add_argument("--fast", action="store_true", help="also time `classify-cnn predict --fast`")
    ap.add_argument("--domains", action="store_true", help="also `predict --domains` against hmmscan --domtblout")
    ap.add_argument("--input", choices=("members", "unknown", "proteome"), default="members", help="the queries")
    ap.add_argument("--proteome", help="the proteome FASTA of --input proteome")
    ap.add_argument("--out", default="build/bench/speed.json")
    ap.add_argument("--anchor", choices=MODES, help=argparse.SUPPRESS)  # the anchor's own process
    ap.add_argument("--hmm", help=argparse.SUPPRESS)
    ap.add_argument("--cut", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--queries", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.threads = args.threads or [2]
    if args.anchor:
        return anchor_process(args)
    import protfam_tools

    import protfam_core
    from protfam_core.cnn.classify import FamilyClassifier
    from protfam_core.msa.dataset import load_dataset

    for package in (protfam_core, protfam_tools):  # as pip does on installing the wheel, whatever the environment
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    from protfam_core.msa.open_set import unknown_records

    data = load_dataset(args.dataset)
    if args.input == "members":
        records, labels = data.records("test")[: args.n], data.labels("test")[: args.n]
    elif args.input == "unknown":
        strangers, _ = unknown_records(data, "test")
        records = [Record(f"{r.id}#{i}", r.seq) for i in range(-(-args.n // len(strangers))) for r in strangers]
        records = records[: args.n]
        labels = ["unassigned"] * len(records)
    else:
        if not args.proteome:
            raise SystemExit("--input proteome needs --proteome FASTA")
        records, labels = read_sequences(args.proteome), []
    truth = dict(zip((r.id for r in records), labels, strict=True)) if labels else {}
    clf = FamilyClassifier(args.model, threads=args.threads[-1])
    hmm = str(clf.frames_bundle.file("hmm"))
    hmms = load_hmms(hmm)
    unknown_val, _ = unknown_records(data, "val")
    cuts = {m: calibrated_cut(hmms, data.records("val"), data.labels("val"), unknown_val, m) for m in MODES}
    res: dict = {"command": f"python {shlex.join(sys.argv)}", "input": args.input, "sequences": len(records),
                 "model": clf.cnn_bundle.ref}  # fmt: skip
    res["anchor_evalue_cuts"] = cuts
    me = [sys.executable, str(Path(__file__).resolve())]
    with tempfile.TemporaryDirectory() as tmp:
        queries = Path(tmp) / "q.fasta"
        write_fasta(records, queries)
        pressed = str(Path(tmp) / "frames.hmm")  # hmmscan's binary reads a pressed database
        if args.domains:
            Path(pressed).write_bytes(Path(hmm).read_bytes())
            subprocess.run(["hmmpress", pressed], check=True, stdout=subprocess.DEVNULL)
        model = ["--model", args.model] if args.model else []
        for threads in args.threads:
            out = {name: Path(tmp) / f"{name}.tsv" for name in ("protfam", *PEERS)}
            out["protfam_fast"] = Path(tmp) / "protfam_fast.tsv"
            cmds = {"protfam": ["classify-cnn", "predict", str(queries), "-j", str(threads), "-o", str(out["protfam"])]}
            cmds["protfam"] += model
            if args.fast:
                cmds["protfam_fast"] = [*cmds["protfam"][:5], "--fast", "-o", str(out["protfam_fast"]), *model]
            for m in MODES:
                cmds[m] = [*me, "--anchor", m, "--hmm", hmm, "--cut", repr(cuts[m]), "--queries", str(queries)]
                cmds[m] += ["--threads", str(threads), "--out", str(out[m])]
            cmds["hmmsearch_bin"] = ["hmmsearch", "--cpu", str(threads), "-Z", str(len(hmms)), "--domZ",
                                     str(len(hmms)), "--noali", "-o", "/dev/null", "--tblout",
                                     str(out["hmmsearch_bin"]), hmm, str(queries)]  # fmt: skip
            if args.domains:
                out["protfam_domains"] = Path(tmp) / "protfam_domains.tsv"
                out["hmmscan_bin_domains"] = Path(tmp) / "hmmscan_bin_domains.tsv"
                cmds["protfam_domains"] = [*cmds["protfam"][:5], "--domains", "-o", str(out["protfam_domains"]),
                                           *model]  # fmt: skip
                cmds["hmmscan_bin_domains"] = ["hmmscan", "--cpu", str(threads), "-Z", str(len(hmms)), "--domZ",
                                               str(len(hmms)), "--noali", "-o", "/dev/null", "--domtblout",
                                               str(out["hmmscan_bin_domains"]), pressed, str(queries)]  # fmt: skip
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
            for _ in range(args.repeats):
                for name, cmd in cmds.items():
                    runs[name].append(timed(cmd))
            per: dict[str, dict] = {}
            for name, got in runs.items():
                wall = statistics.median(w for w, _ in got)
                if name.endswith("_domains"):
                    per[name] = {"wall_s": wall, "seqs_per_s": len(records) / wall,
                                 "peak_rss_mb": max(r for _, r in got)}  # fmt: skip
                    continue
                called = calls_of(out[name], cuts["hmmsearch"] if name == "hmmsearch_bin" else None)
                family = [called.get(r.id, "unassigned") for r in records]
                per[name] = {
                    "wall_s": wall,
                    "seqs_per_s": len(records) / wall,
                    "peak_rss_mb": max(r for _, r in got),
                    "called": sum(f != "unassigned" for f in family) / len(records),
                }
                if truth:
                    right = sum(f == truth[r.id] for r, f in zip(records, family, strict=True))
                    per[name]["accuracy"] = right / len(truth)
            for m in PEERS:
                for name in ("protfam", "protfam_fast") if args.fast else ("protfam",):
                    per[name][f"ratio_to_{m}"] = per[m]["wall_s"] / per[name]["wall_s"]
            if args.domains:
                ratio = per["hmmscan_bin_domains"]["wall_s"] / per["protfam_domains"]["wall_s"]
                per["protfam_domains"]["ratio_to_hmmscan_bin_domains"] = ratio
            res[f"threads_{threads}"] = per
        res["stages_in_process"] = stages(clf, records)
        if args.fast:
            fast = FamilyClassifier(args.model, threads=args.threads[-1], fast=True)
            res["fast_stages_in_process"] = fast_stages(fast, records)
        if args.rss_n:
            many = [Record(f"{r.id}#{i}", r.seq) for i in range(-(-args.rss_n // len(records))) for r in records]
            write_fasta(many[: args.rss_n], queries)
            threads = str(args.threads[-1])
            many_out = {name: str(Path(tmp) / f"many_{name}.tsv") for name in ("protfam", "protfam_fast", *MODES)}
            big = {
                "protfam": ["classify-cnn", "predict", str(queries), "-j", threads, "-o", many_out["protfam"], *model]
            }
            if args.fast:
                big["protfam_fast"] = [*big["protfam"][:5], "--fast", "-o", many_out["protfam_fast"], *model]
                for m in MODES:
                    big[m] = [*me, "--anchor", m, "--hmm", hmm, "--cut", repr(cuts[m]), "--queries", str(queries)]
                    big[m] += ["--threads", threads, "--out", many_out[m]]
            res["rss_run"] = {"sequences": args.rss_n, "threads": args.threads[-1]}
            for name, cmd in big.items():
                wall, rss = timed(cmd)
                res["rss_run"][name] = {"wall_s": wall, "seqs_per_s": args.rss_n / wall, "peak_rss_mb": rss}
            for name in ("protfam", "protfam_fast") if args.fast else ():
                for m in MODES:
                    res["rss_run"][name][f"ratio_to_{m}"] = res["rss_run"][m]["wall_s"] / res["rss_run"][name]["wall_s"]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    setup = [Path(args.dataset).name, f"--input {args.input}", f"-n {len(records)}"]
    setup += [f"--threads {t}" for t in args.threads]
    setup += ["--fast"] * args.fast + ["--domains"] * args.domains + [f"--rss-n {args.rss_n}"] * bool(args.rss_n)
    write_record("classify_speed", without_command(res), variant=" ".join(setup))


if __name__ == "__main__":
    main()
