"""Whole proteins built from held-out domains: `classify-cnn predict --domains` against hmmscan's domains, same run.

Proteins are concatenations of real sequences of the benchmark dataset joined by random linkers of 5-40 residues:
- multi: 2-4 members of different known families;
- repeat: 3-6 members of one of the shortest known families;
- unknown: one known member and one sequence of a family the model does not know (the open set), in random order.
Test proteins use test-split members and the open set's test half only; the calling rule of each method (protfam's
CNN-score threshold per domain, hmmscan's i-Evalue cut) is chosen the same way on proteins built the same way from
validation members and the open set's validation half: the value with the best domain F1 (ties: the median).

A called domain is right when its family is right and it shares >= 50% of the shorter of it and the true segment.
Reported: domain recall and precision, the mean boundary error (residues, start and end) of the right ones, the share
of proteins whose called domains are exactly their known domains, and the share of unknown segments that a called
domain overlaps by >= 50%.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.hmmer_anchor import domain_hits
from protfam_core.cnn.report import UNASSIGNED
from protfam_core.cnn.rule import Domain, resolve_domains
from protfam_core.io.alphabet import AMINO_ACIDS
from protfam_core.io.seqio import Record
from protfam_core.msa.dataset import load_dataset
from protfam_core.msa.open_set import unknown_records

Truth = list[tuple[str, int, int]]  # (family or "unknown:<family>", start, end), 1-based inclusive


def build_proteins(members: dict[str, list[Record]], unknown: list[tuple[Record, str]], n: int, seed: int):
    """n proteins of each kind, with their true segments."""
    rng = random.Random(seed)
    families = sorted(members)
    lengths = {f: np.median([len(r.seq) for r in members[f]]) for f in families}
    short = sorted(families, key=lambda f: lengths[f])[:8]
    proteins: list[tuple[Record, Truth, str]] = []

    def assemble(name: str, parts: Sequence[tuple[str, str]], kind: str) -> None:
        seq, truth = "", []
        for i, (label, piece) in enumerate(parts):
            if i:
                seq += "".join(rng.choice(AMINO_ACIDS) for _ in range(rng.randint(5, 40)))
            truth.append((label, len(seq) + 1, len(seq) + len(piece)))
            seq += piece
        proteins.append((Record(name, seq), truth, kind))

    for i in range(n):
        picked = rng.sample(families, rng.randint(2, 4))
        assemble(f"multi_{i}", [(f, rng.choice(members[f]).seq) for f in picked], "multi")
    for i in range(n):
        fam = rng.choice(short)
        copies = rng.sample(members[fam], min(rng.randint(3, 6), len(members[fam])))
        assemble(f"repeat_{i}", [(fam, r.seq) for r in copies], "repeat")
    for i in range(n):
        fam = rng.choice(families)
        stranger, label = rng.choice(unknown)
        parts = [(fam, rng.choice(members[fam]).seq), (f"unknown:{label}", stranger.seq)]
        rng.shuffle(parts)
        assemble(f"unknown_{i}", parts, "unknown")
    return proteins


def _shared(a: tuple[int, int], b: tuple[int, int]) -> float:
    shared = min(a[1], b[1]) - max(a[0], b[0]) + 1
    return max(shared, 0) / min(a[1] - a[0] + 1, b[1] - b[0] + 1)


def score(proteins, calls: list[list[Domain]]) -> dict[str, float]:
    """Domain recall/precision, boundary error, exact proteins, unknown segments called."""
    true_known = right = called = exact = unknown_total = unknown_called = 0
    boundary: list[float] = []
    per_kind: dict[str, list[bool]] = defaultdict(list)
    for (_, truth, kind), found in zip(proteins, calls, strict=True):
        found = [d for d in found if d.family != UNASSIGNED]
        called += len(found)
        known = [t for t in truth if not t[0].startswith("unknown:")]
        true_known += len(known)
        matched = set()
        for d in found:
            hit = next(
                (j for j, t in enumerate(known) if j not in matched and t[0] == d.family
                 and _shared((d.start, d.end), (t[1], t[2])) >= 0.5),
                None,
            )  # fmt: skip
            if hit is not None:
                matched.add(hit)
                right += 1
                boundary.append((abs(d.start - known[hit][1]) + abs(d.end - known[hit][2])) / 2)
        is_exact = len(matched) == len(known) == len(found)
        exact += is_exact
        per_kind[kind].append(is_exact)
        for t in truth:
            if t[0].startswith("unknown:"):
                unknown_total += 1
                unknown_called += any(_shared((d.start, d.end), (t[1], t[2])) >= 0.5 for d in found)
    recall, precision = right / max(true_known, 1), right / max(called, 1)
    return {
        "domain_recall": recall,
        "domain_precision": precision,
        "domain_f1": 2 * recall * precision / max(recall + precision, 1e-12),
        "boundary_error_residues": float(np.mean(boundary)) if boundary else float("nan"),
        "proteins_exact": exact / len(proteins),
        **{f"proteins_exact_{k}": float(np.mean(v)) for k, v in per_kind.items()},
        "unknown_segments_called": unknown_called / max(unknown_total, 1),
    }


def choose(proteins, hits: list[list[Domain]], values: np.ndarray, cut) -> float:
    """The value of the rule with the best domain F1 on these (validation) proteins; ties: the median value."""
    f1 = np.array([score(proteins, cut(hits, v))["domain_f1"] for v in values])
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    return float(values[best[(len(best) - 1) // 2]])


def protfam_cut(hits: list[list[Domain]], threshold: float) -> list[list[Domain]]:
    return [resolve_domains("", h, threshold) for h in hits]


def hmmer_cut(hits: list[list[Domain]], evalue: float) -> list[list[Domain]]:
    return [resolve_domains("", [d for d in h if d.evalue <= evalue], -np.inf) for h in hits]


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
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    clf = FamilyClassifier()
    hmms = [clf.frames.hmm(f) for f in clf.frames.families]
    results: dict = {"command": f"python {shlex.join(sys.argv)}"}
    rules = {}
    for split, seed in (("val", args.seed), ("test", args.seed + 1)):
        members: dict[str, list[Record]] = defaultdict(list)
        for rec, fam in zip(data.records(split), data.labels(split), strict=True):
            members[fam].append(rec)
        strangers = list(zip(*unknown_records(data, split), strict=True))
        proteins = build_proteins(members, strangers, args.n, seed)
        records = [p[0] for p in proteins]
        start = time.perf_counter()
        ours = protfam_hits(clf, records)
        ours_seconds = time.perf_counter() - start
        start = time.perf_counter()
        theirs = domain_hits(hmms, records)
        theirs_seconds = time.perf_counter() - start
        if split == "val":
            rules["protfam_threshold"] = choose(proteins, ours, np.unique([d.score for h in ours for d in h]),
                                                protfam_cut)  # fmt: skip
            rules["hmmscan_evalue"] = choose(proteins, theirs, np.unique([d.evalue for h in theirs for d in h]),
                                             hmmer_cut)  # fmt: skip
            results["rules_chosen_on_validation"] = rules
            results["shipped_threshold"] = clf.threshold
        results[split] = {
            "proteins": len(proteins),
            "known_domains": sum(1 for _, t, _ in proteins for x in t if not x[0].startswith("unknown:")),
            "protfam": score(proteins, protfam_cut(ours, rules["protfam_threshold"])),
            "protfam_shipped_threshold": score(proteins, protfam_cut(ours, clf.threshold)),
            "hmmscan": score(proteins, hmmer_cut(theirs, rules["hmmscan_evalue"])),
            "seconds": {"protfam_chain": ours_seconds, "hmmscan": theirs_seconds},
        }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
