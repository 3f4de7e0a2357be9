"""What a looser calling rule could still recover: where the chain's missed validation members sit.

Issue 34's recall question. For one chain and its dataset's val split (validation data only: this decides what rule
work is worth doing, not a test figure), every val member is searched as calibration searches it (plain and
sensitive, no cut; `cnn.calibrate.searched`), and its own family's best hit is binned by whole-sequence E-value: at
most the chain's cut (what the rule can call), above it up to E = 10 (what a looser cut could add, with the CNN
scores of those hits), and no hit at all (what no rule on the frame search can call). The val members reversed and
shuffled (`cnn.decoys`, seed 0, as calibration makes them) give the decoys' best hits in the same E range. For the
members without any hit: how often the 3-mer prefilter (fitted on the train split) ranks their family first, in its
top 3 and top 10, i.e. how much a forced placement into the prefilter's families could reach at most.

Usage: python benchmarks/recall_ceiling.py --dataset build/dataset_cluster \
    --model build/cnn_cluster_cal2/family-cnn-cluster --frames build/cnn_cluster/family-frames-cluster
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

import numpy as np
from _record import write_record

from protfam_core.cnn.calibrate import searched
from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.decoys import decoys
from protfam_core.frames.prefilter import KmerPrefilter
from protfam_core.msa.dataset import load_dataset

QUANTILES = (0.1, 0.5, 0.9)


def best_hit(s, family: str | None = None):
    """The lowest whole-sequence E-value hit of one searched query (of `family` only, if given), plain or sensitive."""
    hits = [h for h in (*s.plain, *s.sensitive) if family is None or h.family == family]
    return min(hits, key=lambda h: h.hit_evalue, default=None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--model", default=None, help="CNN bundle (default: the shipped one)")
    ap.add_argument("--frames", default=None, help="frames bundle (default: the one the CNN pins)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    clf = FamilyClassifier(args.model, frames=args.frames, threads=args.threads)
    cut = clf.settings.rule.evalue_
    known, labels = data.records("val"), data.labels("val")
    members = [best_hit(s, lab) for s, lab in zip(searched(clf, known), labels, strict=True)]
    evalues = np.array([h.hit_evalue if h else math.inf for h in members])
    looser = (evalues > cut) & (evalues <= 10)
    scores = np.array([h.score for h, m in zip(members, looser, strict=True) if m])
    figures: dict = {
        "model": clf.cnn_bundle.ref,
        "rule_evalue": cut,
        "val_members": len(known),
        "own_family_hit_within_cut": int((evalues <= cut).sum()),
        "own_family_hit_above_cut_to_10": int(looser.sum()),
        "their_cnn_score_quantiles": {str(q): round(float(np.quantile(scores, q)), 4) for q in QUANTILES}
        if len(scores)
        else {},
        "no_own_family_hit": int(np.isinf(evalues).sum()),
    }
    for kind, records in decoys(known, 0).items():
        if kind in ("reversed", "shuffled"):
            best = [best_hit(s) for s in searched(clf, records)]
            in_range = [h for h in best if h and cut < h.hit_evalue <= 10]
            figures[f"{kind}_best_hit_above_cut_to_10"] = len(in_range)
            figures[f"{kind}_of_those_cnn_score_over_0.5"] = sum(h.score >= 0.5 for h in in_range)
    families = sorted(set(data.labels("train")))
    prefilter = KmerPrefilter().fit(data.records("train"), data.labels("train"), families)
    missed = [(r, lab) for r, lab, e in zip(known, labels, evalues, strict=True) if math.isinf(e)]
    if missed:
        top = prefilter.top([r.seq for r, _ in missed], 10)
        for k in (1, 3, 10):
            hit = sum(families.index(lab) in row[:k] for (_, lab), row in zip(missed, top, strict=True))
            figures[f"no_hit_own_family_in_prefilter_top_{k}"] = int(hit)
    for key, value in figures.items():
        print(f"{key}\t{value}")
    print(f"command: python {shlex.join(sys.argv)}")
    write_record("recall_ceiling", figures, variant=Path(args.dataset).name)


if __name__ == "__main__":
    main()
