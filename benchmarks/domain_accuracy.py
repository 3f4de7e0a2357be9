"""Whole proteins built from held-out domains: `classify-cnn predict --domains` against hmmscan's domains, same run.

Proteins are built by `protfam_core.cnn.constructed` (multi: 2-4 known domains; repeat: 3-6 copies of a short
family; unknown: a known member and an open-set sequence; random linkers of 5-40 residues). Test proteins use
test-split members and the open set's test half only; the calling rule of each method (protfam's
CNN-score threshold and i-Evalue cut per domain, as `classify-cnn calibrate` chooses it; the CNN-score threshold
alone, to see what the CNN adds; hmmscan's i-Evalue cut, with its default filters and with protfam's domain-search
filters, `--nobias --F1 0.1`) is chosen the same way on proteins built the same way from
validation members and the open set's validation half: the value with the best domain F1 (ties: the median).

A called domain is right when its family is right and it shares >= 50% of the shorter of it and the true segment.
Reported: domain recall and precision, the mean boundary error (residues, start and end) of the right ones, the share
of proteins whose called domains are exactly their known domains, and the share of unknown segments that a called
domain overlaps by >= 50%.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from _record import without_command, write_record
from hmmer_anchor import domain_hits

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.constructed import best_rule, build_proteins, domain_scores, rule_cut
from protfam_core.cnn.rule import Domain
from protfam_core.io.seqio import Record
from protfam_core.msa.dataset import load_dataset
from protfam_core.msa.open_set import unknown_records


def protfam_hits(clf: FamilyClassifier, records: list[Record]) -> list[list[Domain]]:
    """Every scored domain hit (before the threshold), per protein."""
    hits = clf.domain_hits(clf.fingerprint(records, domains=True))
    return [hits[r.id] for r in records]


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
    results: dict = {"command": f"python {shlex.join(sys.argv)}"}
    rules = {}
    for split, seed in (("val", args.seed), ("test", args.seed + 1)):
        strangers = list(zip(*unknown_records(data, split), strict=True))
        proteins = build_proteins(data.records(split), data.labels(split), strangers, args.n, seed)
        records = [p.record for p in proteins]
        start = time.perf_counter()
        ours = protfam_hits(clf, records)
        ours_seconds = time.perf_counter() - start
        start = time.perf_counter()
        theirs = domain_hits(hmms, records)
        theirs_seconds = time.perf_counter() - start
        theirs_sensitive = domain_hits(hmms, records, sensitive=True)
        if split == "val":
            rules["protfam"] = best_rule(proteins, ours)
            rules["protfam_cnn_score_only"] = best_rule(proteins, ours, by_evalue=False)
            rules["hmmscan"] = best_rule(proteins, theirs, by_score=False)
            rules["hmmscan_nobias"] = best_rule(proteins, theirs_sensitive, by_score=False)
            results["rules_chosen_on_validation"] = {
                k: {"threshold": r.threshold_, "evalue": r.evalue_} for k, r in rules.items()
            }
            shipped = clf.settings.domain
            results["shipped_domain_rule"] = {"threshold": shipped.threshold_, "evalue": shipped.evalue_}
        results[split] = {
            "proteins": len(proteins),
            "known_domains": sum(1 for p in proteins for x in p.truth if not x[0].startswith("unknown:")),
            "protfam": domain_scores(proteins, rule_cut(ours, rules["protfam"])),
            "protfam_shipped": domain_scores(proteins, rule_cut(ours, clf.settings.domain)),
            "protfam_cnn_score_only": domain_scores(proteins, rule_cut(ours, rules["protfam_cnn_score_only"])),
            "hmmscan": domain_scores(proteins, rule_cut(theirs, rules["hmmscan"])),
            "hmmscan_nobias": domain_scores(proteins, rule_cut(theirs_sensitive, rules["hmmscan_nobias"])),
            "seconds": {"protfam_chain": ours_seconds, "hmmscan": theirs_seconds},
        }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    write_record("domain_accuracy", without_command(results), variant=Path(args.dataset).name)


if __name__ == "__main__":
    main()
