"""Whole proteins built from held-out domains: the validation set of the domain rule and the benchmark's test set.

A constructed protein is real sequences of a dataset joined by random linkers of 5-40 residues, with its true segments:
- multi: 2-4 members of different known families;
- repeat: 3-6 members of one of the 8 shortest known families;
- unknown: one known member and one sequence of a family the model does not know, in random order.
Built from validation members (and the open set's validation half) they choose the domain rule
(`cnn.calibrate`); built from test members they measure it (`benchmarks/domain_accuracy.py`).

A called domain is right when its family is right and it shares >= 50% of the shorter of it and the true segment.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from protfam_core.cnn.report import UNASSIGNED
from protfam_core.cnn.rule import Domain, span_overlap
from protfam_core.io.alphabet import AMINO_ACIDS
from protfam_core.io.seqio import Record

UNKNOWN = "unknown:"  # label prefix of a segment of a family the model does not know


class Protein(NamedTuple):
    """A constructed protein: its record, true segments (label, start, end; 1-based inclusive) and kind."""

    record: Record
    truth: list[tuple[str, int, int]]
    kind: str


def build_proteins(
    records: Sequence[Record], labels: Sequence[str], unknown: Sequence[tuple[Record, str]], n: int, seed: int
) -> list[Protein]:
    """`n` proteins of each kind from a split's `records` and their family `labels`, and `unknown` ((record, family)
    pairs of families the model does not know)."""
    members: dict[str, list[Record]] = defaultdict(list)
    for rec, fam in zip(records, labels, strict=True):
        members[fam].append(rec)
    rng = random.Random(seed)
    families = sorted(members)
    lengths = {f: np.median([len(r.seq) for r in members[f]]) for f in families}
    short = sorted(families, key=lambda f: lengths[f])[:8]
    proteins: list[Protein] = []

    def assemble(name: str, parts: Sequence[tuple[str, str]], kind: str) -> None:
        seq, truth = "", []
        for i, (label, piece) in enumerate(parts):
            if i:
                seq += "".join(rng.choice(AMINO_ACIDS) for _ in range(rng.randint(5, 40)))
            truth.append((label, len(seq) + 1, len(seq) + len(piece)))
            seq += piece
        proteins.append(Protein(Record(name, seq), truth, kind))

    for i in range(n):
        picked = rng.sample(families, rng.randint(2, 4))
        assemble(f"multi_{i}", [(f, rng.choice(members[f]).seq) for f in picked], "multi")
    for i in range(n):
        fam = rng.choice(short)
        copies = rng.sample(members[fam], min(rng.randint(3, 6), len(members[fam])))
        assemble(f"repeat_{i}", [(fam, r.seq) for r in copies], "repeat")
    for i in range(n if unknown else 0):
        fam = rng.choice(families)
        stranger, label = rng.choice(list(unknown))
        parts = [(fam, rng.choice(members[fam]).seq), (f"{UNKNOWN}{label}", stranger.seq)]
        rng.shuffle(parts)
        assemble(f"unknown_{i}", parts, "unknown")
    return proteins


def domain_scores(proteins: Sequence[Protein], calls: Sequence[Sequence[Domain]]) -> dict[str, float]:
    """Domain recall/precision/F1, boundary error of the right ones, exact proteins, unknown segments called."""
    true_known = right = called = exact = unknown_total = unknown_called = 0
    boundary: list[float] = []
    per_kind: dict[str, list[bool]] = defaultdict(list)
    for protein, found in zip(proteins, calls, strict=True):
        found = [d for d in found if d.family != UNASSIGNED]
        called += len(found)
        known = [t for t in protein.truth if not t[0].startswith(UNKNOWN)]
        true_known += len(known)
        matched: set[int] = set()
        for d in found:
            hit = next(
                (j for j, t in enumerate(known) if j not in matched and t[0] == d.family
                 and span_overlap((d.start, d.end), (t[1], t[2])) >= 0.5),
                None,
            )  # fmt: skip
            if hit is not None:
                matched.add(hit)
                right += 1
                boundary.append((abs(d.start - known[hit][1]) + abs(d.end - known[hit][2])) / 2)
        is_exact = len(matched) == len(known) == len(found)
        exact += is_exact
        per_kind[protein.kind].append(is_exact)
        for t in protein.truth:
            if t[0].startswith(UNKNOWN):
                unknown_total += 1
                unknown_called += any(span_overlap((d.start, d.end), (t[1], t[2])) >= 0.5 for d in found)
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
