"""Held-out placement: how often the best-scoring frame of a test member is its own family (the HMM-only baseline).

Protocol: a dataset built by `prep-msa build` (frames from TRAINING members only); every member of the chosen split
(default test) is searched against all frames at once (FrameSet.search, E-value cut-off 10, Z = number of frames);
top-1 = share whose best candidate is its own family, no-hit = share with no candidate; also candidates per query
(the foreign-frame placements the classifier sees) and the wall time of the search.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

from _record import write_record

from protfam_core.frames.frameset import SearchSettings
from protfam_core.msa.dataset import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--evalue", type=float, default=10.0)
    args = parser.parse_args()
    print(f"command: python3 benchmarks/alignment_placement.py {shlex.join(sys.argv[1:])}")
    print("| dataset | split mode | queries | top-1 own family | no hit | candidates/query | in top 5 | search (s) |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for path in args.datasets:
        ds = load_dataset(path)
        records, labels = ds.records(args.split), ds.labels(args.split)
        start = time.perf_counter()
        found = ds.frames.search(records, SearchSettings(evalue=args.evalue))
        elapsed = time.perf_counter() - start
        cands = [found[r.id] for r in records]
        top1 = statistics.mean(bool(c) and c[0].family == lab for c, lab in zip(cands, labels, strict=True))
        in5 = statistics.mean(any(p.family == lab for p in c) for c, lab in zip(cands, labels, strict=True))
        nohit = statistics.mean(not c for c in cands)
        per = statistics.mean(len(c) for c in cands)
        mode = ds.card["parameters"].get("split", "?")
        print(
            f"| {path} | {mode} | {len(records)} | {top1:.4f} | {nohit:.4f} | {per:.2f} | {in5:.4f} | {elapsed:.1f} |",
            flush=True,
        )
        rows.append({"dataset": str(path), "split_mode": mode, "queries": len(records), "top1_own_family": top1,
                     "no_hit": nohit, "candidates_per_query": per, "in_top5": in5, "search_s": elapsed})  # fmt: skip
    write_record("alignment_placement", {"split": args.split, "evalue": args.evalue, "datasets": rows})


if __name__ == "__main__":
    main()
