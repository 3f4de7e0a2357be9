"""Accuracy (SP, TC vs HOMSTRAD structure alignments) and wall time (one 500-sequence family) of every aligner backend.

Protocol: for each HOMSTRAD reference family in ../shared/data/homstrad_ref, the reference's sequences are un-gapped,
aligned by each backend, and scored against the reference (protfam_core.msa.score: sum-of-pairs and total-column,
over all reference columns); the table gives the mean over families. Timing: one seeded sample of 500 members
(50..1200 residues) of one extHomFam family, aligned once per backend with 2 threads.
"""

from __future__ import annotations

import argparse
import random
import shlex
import statistics
import sys
import time
from pathlib import Path

from _record import write_record
from alignment_score import score_alignment

from protfam_core.io.seqio import Record, read_alignment, read_sequences
from protfam_core.msa.aligners import BACKENDS, align, tool_version

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def homstrad_families(folder: Path, limit: int | None) -> list[tuple[str, list[Record]]]:
    """Reference alignments (PIR-style '>P1;id' headers without '*' terminators: read as FASTA)."""
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".md")
    if limit:
        names = names[:limit]
    return [(n, read_alignment(folder / n, "fasta")) for n in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=SHARED / "homstrad_ref")
    parser.add_argument("--limit", type=int, default=None, help="only the first N reference families (by name)")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--timing-family", default="tln")
    parser.add_argument("--timing-n", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2, help="aligner threads for the 500-sequence timing")
    parser.add_argument("--accuracy-threads", type=int, default=1, help="aligner threads on the small references")
    parser.add_argument("--parts", default="accuracy,timing", help="which parts to run: accuracy, timing or both")
    args = parser.parse_args()
    backends = args.backends.split(",")
    parts = args.parts.split(",")
    print(f"command: python3 benchmarks/alignment_accuracy.py {shlex.join(sys.argv[1:])}".rstrip())
    figures = {}
    if "accuracy" in parts:
        figures["accuracy"] = accuracy(args.reference, args.limit, backends, args.accuracy_threads)
    if "timing" in parts:
        figures["timing"] = timing(args.timing_family, args.timing_n, backends, args.threads)
    write_record("alignment_accuracy", figures, variant=f"--parts {args.parts} --backends {args.backends}")


def accuracy(reference: Path, limit: int | None, backends: list[str], threads: int) -> list[dict]:
    """Mean SP / TC of each backend over the reference families."""
    refs = homstrad_families(reference, limit)
    print(f"reference families: {len(refs)} ({sum(len(r) for _, r in refs)} sequences) from {reference}")
    print("| backend | version | mean SP | mean TC | median SP | families | align time, all families (s) |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for backend in backends:
        sps, tcs = [], []
        start = time.perf_counter()
        for _, ref in refs:
            raw = [Record(r.id, r.seq.replace("-", "")) for r in ref]
            score = score_alignment(align(raw, backend, threads), ref)
            sps.append(score.sp)
            tcs.append(score.tc)
        elapsed = time.perf_counter() - start
        print(
            f"| {backend} | {tool_version(backend)} | {statistics.mean(sps):.3f} | {statistics.mean(tcs):.3f} | "
            f"{statistics.median(sps):.3f} | {len(sps)} | {elapsed:.1f} |",
            flush=True,
        )
        rows.append({"backend": backend, "version": tool_version(backend), "mean_sp": statistics.mean(sps),
                     "mean_tc": statistics.mean(tcs), "median_sp": statistics.median(sps), "families": len(sps),
                     "align_all_s": elapsed})  # fmt: skip
    return rows


def timing(family: str, n: int, backends: list[str], threads: int) -> list[dict]:
    """Wall time of each backend on one seeded sample of a family."""
    source = SHARED / "families" / "exthomfam" / f"{family}.fasta.gz"
    members = [r for r in read_sequences(source) if 50 <= len(r.seq) <= 1200]
    random.Random(0).shuffle(members)
    members = members[:n]
    mean_len = statistics.mean(len(r.seq) for r in members)
    print(f"\nwall time on {len(members)} members of {family} (mean length {mean_len:.0f}), {threads} threads:")
    print("| backend | seconds | alignment width |")
    print("|---|---|---|")
    out = []
    for backend in backends:
        start = time.perf_counter()
        rows = align(members, backend, threads)
        seconds = time.perf_counter() - start
        print(f"| {backend} | {seconds:.1f} | {len(rows[0].seq)} |", flush=True)
        out.append({"backend": backend, "family": family, "sequences": len(members), "threads": threads,
                    "seconds": seconds, "alignment_width": len(rows[0].seq)})  # fmt: skip
    return out


if __name__ == "__main__":
    main()
