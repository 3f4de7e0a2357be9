"""Can the 3-mer prefilter make the frame search sublinear, or reject non-members before the fallback?

Issue 33's two prefilter directions, measured before building either. For the shipped chain's frames and its fast
bundle's prefilter (fitted on the train split), every query is searched in every frame (plain search, E-value cut of
the chain's card, no fallback) and each family it gets a candidate in is ranked by the prefilter:
  shortlist: a search of each query's top-k prefilter frames only finds a candidate of rank < k and loses the rest;
      counted for all candidates and for each member's own family, at k = 1, 3, 5, 10, 20, 30;
  early rejection: the queries without any candidate go to the sensitive fallback; the prefilter's top score of
      those the fallback calls right (validation members) against those of non-members says whether a score cut
      could skip the fallback for most non-members without losing them.
Rules would be chosen on validation data (val members, constructed val proteins, the open set's val half); the test
split and a real proteome (never used for a choice) are measured beside them to show whether validation predicts
what users run.

Usage: python benchmarks/prefilter_reach.py [--dataset build/dataset] [--proteome FASTA] [--threads 2]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
from _record import command_line, write_record

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.constructed import build_proteins
from protfam_core.io.seqio import Record, read_sequences
from protfam_core.msa.dataset import load_dataset
from protfam_core.msa.open_set import unknown_records

KS = (1, 3, 5, 10, 20, 30)


def beyond(ranks: list[int]) -> dict[str, int]:
    """How many of `ranks` (0 = the prefilter's first) a top-k shortlist would lose, per k."""
    a = np.array(ranks, dtype=np.int64)
    return {f"top{k}": int((a >= k).sum()) for k in KS}


def reach(clf: FamilyClassifier, records: list[Record], labels: list[str] | None) -> dict:
    """Prefilter ranks of the plain search's candidate families, and the fallback's catches by prefilter score."""
    frames, prefilter = clf.frames, clf.shortlist.prefilter
    settings = clf.settings.search
    found = frames.search(records, replace(settings, fallback_evalue=0), cpus=clf.threads)
    scores = prefilter.decision_function([r.seq for r in records])
    rank = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1)
    index = {f: i for i, f in enumerate(prefilter.families_)}
    every, own = [], []
    for i, r in enumerate(records):
        families = {p.family for p in found[r.id]}
        every += [int(rank[i, index[f]]) for f in families]
        if labels and labels[i] in families:
            own.append(int(rank[i, index[labels[i]]]))
    missing = [i for i, r in enumerate(records) if not found[r.id]]
    fallback = replace(settings, evalue=settings.fallback_evalue)  # as frames.frameset.candidate_placements does
    caught = frames.search([records[i] for i in missing], fallback, sensitive=True, cpus=clf.threads)
    right = [i for i in missing if labels and caught[records[i].id] and caught[records[i].id][0].family == labels[i]]
    top = scores.max(axis=1)
    out = {
        "queries": len(records),
        "candidates": len(every),
        "candidates_lost": beyond(every),
        "without_candidate": len(missing),
        "fallback_calls": sum(1 for i in missing if caught[records[i].id]),
        "fallback_right_top_scores": sorted(round(float(top[i]), 3) for i in right),
        "without_candidate_top_score_quantiles": {
            q: round(float(np.quantile(top[missing], q)), 3) for q in (0.1, 0.5, 0.9)
        }
        if missing
        else {},
    }
    if labels:
        out |= {"own_family_candidates": len(own), "own_family_lost": beyond(own)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--proteome", default=None, help="a real proteome FASTA (measured, never used for a choice)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    clf = FamilyClassifier(None, threads=args.threads)
    if clf.shortlist is None:
        raise SystemExit("the shipped chain has no fast bundle with a prefilter for its frames")
    open_val, open_families = unknown_records(data, "val", threads=args.threads)
    proteins = build_proteins(
        data.records("val"), data.labels("val"), list(zip(open_val, open_families, strict=True)), 600, 0
    )
    sets = {
        "val_members": (data.records("val"), data.labels("val")),
        "constructed_val_proteins": ([p.record for p in proteins], None),
        "open_set_val": (open_val, None),
        "test_members": (data.records("test"), data.labels("test")),
    }
    if args.proteome:
        sets["proteome"] = (read_sequences(args.proteome), None)
    figures = {"model": clf.cnn_bundle.ref, "families": len(clf.frames.families), "search": vars(clf.settings.search)}
    for name, (records, labels) in sets.items():
        figures[name] = reach(clf, list(records), labels)
        print(name, figures[name], flush=True)
    print(f"command: {command_line()}")
    write_record(
        "prefilter_reach",
        figures,
        notes="Prefilter ranks (0 = first) of the families the plain frame search finds at the chain's cuts, and the "
        "prefilter's top score of the queries without a candidate (those the sensitive fallback calls right, and "
        "the quantiles of all). Rules would be chosen on the val rows; test and proteome rows show what users meet.",
    )


if __name__ == "__main__":
    main()
