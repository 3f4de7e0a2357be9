"""Whole proteins built from held-out domains: `classify-cnn predict --domains` against hmmscan's domains, same run.

Proteins are built by `protfam_core.cnn.constructed` (multi: 2-4 known domains; repeat: 3-6 copies of a short
family; unknown: a known member and an open-set sequence; random linkers of 5-40 residues). Test proteins use
test-split members and the open set's test half only. protfam runs with its shipped rule (chosen by `classify-cnn
calibrate` on validation data); hmmscan's domains (its default filters, and protfam's sensitive ones `--nobias --F1
0.1`) are cut at the independent E-value with the best domain F1 on proteins built the same way from validation
members and the open set's validation half (ties: the median), and resolved like protfam's.
The per-protein consistency of protfam's two tables is counted too: proteins whose per-protein call is not one of
their called domains, or that are `unassigned` with a called domain.

A called domain is right when its family is right and it shares >= 50% of the shorter of it and the true segment.
Reported: domain recall and precision, the mean boundary error (residues, start and end) of the right ones, the share
of proteins whose called domains are exactly their known domains, and the share of unknown segments that a called
domain overlaps by >= 50%.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path

from _record import without_command, write_record
from hmmer_anchor import domain_hits

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.constructed import Protein, build_proteins, domain_scores
from protfam_core.cnn.report import UNASSIGNED
from protfam_core.cnn.rule import EVALUE_GRID, Domain, resolve_domains
from protfam_core.io.seqio import Record
from protfam_core.msa.dataset import load_dataset
from protfam_core.msa.open_set import unknown_records


def hmmscan_cut(proteins: list[Protein], hits: list[list[Domain]]) -> float:
    """The independent E-value cut of hmmscan's domains with the best domain F1 on (validation) proteins."""
    grid = (*EVALUE_GRID, math.inf)
    values = [domain_scores(proteins, cut_hits(hits, e))["domain_f1"] for e in grid]
    ties = [e for e, v in zip(grid, values, strict=True) if v >= max(values) - 1e-12]
    return ties[(len(ties) - 1) // 2]


def cut_hits(hits: list[list[Domain]], evalue: float) -> list[list[Domain]]:
    """hmmscan's called domains at an E-value cut: overlaps resolved by bit score, as protfam's by CNN score."""
    return [resolve_domains("", [h for h in hs if h.evalue <= evalue], -math.inf) for hs in hits]


def contradictions(clf: FamilyClassifier, records: list[Record]) -> int:
    """Proteins whose per-protein call and called domains disagree (issue 34: none by construction)."""
    calls = {c.query_id: c.family for c in clf.predict(records)}
    domains: dict[str, set[str]] = {r.id: set() for r in records}
    for d in clf.predict_domains(records):
        if d.family != UNASSIGNED:
            domains[d.query_id].add(d.family)
    return sum((f == UNASSIGNED) != (not domains[q]) or (f != UNASSIGNED and f not in domains[q])
               for q, f in calls.items())  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("-n", type=int, default=100, help="proteins of each kind, per split")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="build/bench/domains.json")
    ap.add_argument("--model", default=None, help="CNN bundle (default: the shipped one)")
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    clf = FamilyClassifier(args.model)
    hmms = [clf.frames.hmm(f) for f in clf.frames.families]
    results: dict = {"command": f"python {shlex.join(sys.argv)}", "protfam_rule": clf.settings.rule.to_card()}
    cuts = {}
    for split, seed in (("val", args.seed), ("test", args.seed + 1)):
        strangers = list(zip(*unknown_records(data, split), strict=True))
        proteins = build_proteins(data.records(split), data.labels(split), strangers, args.n, seed)
        records = [p.record for p in proteins]
        start = time.perf_counter()
        ours = clf.predict_domains(records)
        ours_seconds = time.perf_counter() - start
        by_protein: dict[str, list[Domain]] = {r.id: [] for r in records}
        for d in ours:
            by_protein[d.query_id].append(d)
        start = time.perf_counter()
        theirs = domain_hits(hmms, records)
        theirs_seconds = time.perf_counter() - start
        theirs_sensitive = domain_hits(hmms, records, sensitive=True)
        if split == "val":
            cuts = {"hmmscan": hmmscan_cut(proteins, theirs), "hmmscan_nobias": hmmscan_cut(proteins, theirs_sensitive)}
            results["hmmscan_cuts_chosen_on_validation"] = cuts
        results[split] = {
            "proteins": len(proteins),
            "known_domains": sum(1 for p in proteins for x in p.truth if not x[0].startswith("unknown:")),
            "protfam": domain_scores(proteins, [by_protein[r.id] for r in records]),
            "protfam_contradictions": contradictions(clf, records),
            "hmmscan": domain_scores(proteins, cut_hits(theirs, cuts["hmmscan"])),
            "hmmscan_nobias": domain_scores(proteins, cut_hits(theirs_sensitive, cuts["hmmscan_nobias"])),
            "seconds": {"protfam_chain": ours_seconds, "hmmscan": theirs_seconds},
        }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    write_record("domain_accuracy", without_command(results), variant=Path(args.dataset).name)


if __name__ == "__main__":
    main()
