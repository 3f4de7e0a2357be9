"""Where `classify-cnn predict` spends its time, stage by stage, next to pyhmmer on the same sequences.

Stages of FamilyClassifier on the first N test sequences of a dataset (shipped models): frame search + sensitive search
fallback, SS/SA prediction, VAE fingerprints, CNN; then the anchor, both ways (hmmscan and hmmsearch of the same frame
HMMs, 2 threads); the ratio that counts is the one to the faster of the two.

Usage: python benchmarks/classify_speed.py [--dataset build/dataset] [-n 1000]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.hmmer_anchor import classify, load_hmms
from protfam_core.frames.frameset import candidate_placements
from protfam_core.msa.dataset import load_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("-n", type=int, default=1000)
    args = ap.parse_args()
    records = load_dataset(args.dataset).records("test")[: args.n]
    clf = FamilyClassifier()
    t0 = time.perf_counter()
    found = candidate_placements(clf.frames, records, clf.evalue, clf.max_candidates, clf.fallback_evalue)
    t1 = time.perf_counter()
    ss_sa = dict(zip((r.id for r in records), clf.ss_predictor.predict([r.seq for r in records]), strict=True))
    t2 = time.perf_counter()
    placements = [p for r in records for p in found[r.id]]
    fingerprints = clf.fingerprinter.transform(placements, [ss_sa[p.query_id] for p in placements])
    t3 = time.perf_counter()
    clf.cnn(fingerprints)
    t4 = time.perf_counter()
    hmms = load_hmms(Path(args.dataset) / "frames.hmm")
    anchor = {}
    for mode in ("hmmscan", "hmmsearch"):
        start = time.perf_counter()
        classify(hmms, records, 1e-3, mode)
        anchor[mode] = time.perf_counter() - start
    n = len(records)
    print(f"command: python {shlex.join(sys.argv)}")
    print(f"{n} sequences, {len(placements)} candidate placements")
    for name, sec in [("search + fallback", t1 - t0), ("SS/SA", t2 - t1), ("VAE", t3 - t2), ("CNN", t4 - t3)]:
        print(f"{name:18s} {sec:7.2f} s  {100 * sec / (t4 - t0):5.1f}%")
    print(f"{'whole chain':18s} {t4 - t0:7.2f} s  {n / (t4 - t0):7.1f} seq/s")
    for mode, sec in anchor.items():
        print(f"{mode + ' (anchor)':18s} {sec:7.2f} s  {n / sec:7.1f} seq/s  ratio {sec / (t4 - t0):.2f}")


if __name__ == "__main__":
    main()
