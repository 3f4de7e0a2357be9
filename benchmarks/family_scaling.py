"""Cost against the number of families known: protfam's chain and pyhmmer on nested subsets of the same frames.

Frames: nested seeded subsets of the shipped classifier's frames (16, 32, 64, ..., all). Queries: the test-split
members of the first 16 families of that order, the same for every subset, so only the number of profiles changes.
Per subset, in one process, best of `--repeats`: protfam's placement stage (`FrameSet.search` + the sensitive fallback
over the subset), pyhmmer hmmsearch and hmmscan of the same queries against the same subset. The chain's other stages
(SS/SA per query, VAE per placement, CNN) are timed once on the queries: SS/SA and the VAE do not depend on the number
of families, the CNN only through its last layer. A straight line through the per-subset times gives the cost per
added family, extrapolated to Pfam's ~20,000 families.

Usage: python benchmarks/family_scaling.py [--dataset build/dataset] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from _record import without_command, write_record
from classify_speed import stages  # this folder's script (on sys.path when run as benchmarks/family_scaling.py)
from hmmer_anchor import best_hits

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.frames.frameset import FrameSet, candidate_placements
from protfam_core.msa.dataset import load_dataset

PFAM = 20_000


def best_of(repeats: int, work, *args) -> float:
    """Shortest wall time of `repeats` runs of `work(*args)`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="build/bench/scaling.json")
    args = ap.parse_args()
    clf = FamilyClassifier(threads=args.threads)
    data = load_dataset(args.dataset)
    order = list(clf.families)
    random.Random(args.seed).shuffle(order)
    first = set(order[:16])
    queries = [r for r, f in zip(data.records("test"), data.labels("test"), strict=True) if f in first]
    sizes = sorted({*(k for k in (16, 32, 64, 128, 256) if k < len(order)), len(order)})
    res: dict = {"command": f"python {shlex.join(sys.argv)}", "queries": len(queries), "model": clf.cnn_bundle.ref}
    rows = []
    for k in sizes:
        frames = FrameSet([clf.frames.hmm(f) for f in order[:k]])
        hmms = [frames.hmm(f) for f in frames.families]
        place = best_of(args.repeats, candidate_placements, frames, queries, clf.settings.search,
                        args.threads)  # fmt: skip
        search = best_of(args.repeats, best_hits, hmms, queries, "hmmsearch", args.threads)
        scan = best_of(args.repeats, best_hits, hmms, queries, "hmmscan", args.threads)
        rows.append({"families": k, "protfam_placement_s": place, "hmmsearch_s": search, "hmmscan_s": scan})
        print(json.dumps(rows[-1]), flush=True)
    timed = stages(clf, queries)  # one process, the same queries: placement (unused here), SS/SA, VAE, CNN
    t_ss, t_vae, t_cnn = timed["ss_sa"], timed["vae"], timed["cnn"]
    res["fixed_stages_s"] = {"ss_sa": t_ss, "vae": t_vae, "cnn": t_cnn, "placements": timed["placements"]}
    res["subsets"] = rows
    fixed = t_ss + t_vae + t_cnn
    ks = np.array([r["families"] for r in rows], float)
    fits = {}
    for key in ("protfam_placement_s", "hmmsearch_s", "hmmscan_s"):
        slope, intercept = np.polyfit(ks, [r[key] for r in rows], 1)
        extra = fixed if key.startswith("protfam") else 0.0
        fits[key] = {
            "per_family_ms": 1000 * slope,
            "at_all_s": float(slope * ks[-1] + intercept + extra),
            "at_pfam_s": float(slope * PFAM + intercept + extra),
        }
    fits["note"] = "protfam's figures include the fixed SS/SA + VAE + CNN time (the CNN's last layer grows too)"
    res["linear_fit"] = fits
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    write_record("family_scaling", without_command(res), variant=Path(args.dataset).name)


if __name__ == "__main__":
    main()
