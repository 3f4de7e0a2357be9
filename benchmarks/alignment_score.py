"""Alignment accuracy against a reference alignment: sum-of-pairs (SP) and total-column (TC) scores.

SP is the fraction of residue pairs aligned in the reference that the test alignment also aligns; TC is the fraction
of reference columns (with at least two residues) that the test alignment reproduces exactly, as in BAliBASE and the
FAMSA / Clustal Omega papers. Both compare residues by (sequence, residue index), so gap placement alone is not scored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from protfam_core.errors import InputError
from protfam_core.io.alphabet import GAP
from protfam_core.io.seqio import Record


@dataclass(frozen=True)
class AlignmentScore:
    """SP and TC in [0, 1] plus the counts they come from."""

    sp: float
    tc: float
    pairs: int
    columns: int


def _columns_of_residues(rows: list[Record]) -> dict[str, list[int]]:
    """Per sequence id, the alignment column of each residue."""
    return {r.id: [j for j, c in enumerate(r.seq) if c not in "-."] for r in rows}


def score_alignment(test: list[Record], reference: list[Record]) -> AlignmentScore:
    """Score `test` against `reference`; both must hold the same ids with the same residues."""
    ref_ids = [r.id for r in reference]
    test_by_id = {r.id: r for r in test}
    if set(ref_ids) != set(test_by_id):
        raise InputError("test and reference alignments hold different sequence ids")
    for r in reference:
        if r.seq.replace(GAP, "").replace(".", "").upper() != test_by_id[r.id].seq.replace(GAP, "").upper():
            raise InputError(f"sequence {r.id!r} has different residues in the test and reference alignments")
    test_cols = _columns_of_residues(test)
    test_col_size = Counter(j for cols in test_cols.values() for j in cols)
    counters = dict.fromkeys(ref_ids, 0)
    total_pairs = kept_pairs = total_columns = kept_columns = 0
    width = len(reference[0].seq)
    for j in range(width):
        members = []
        for r in reference:
            if r.seq[j] not in "-.":
                members.append(test_cols[r.id][counters[r.id]])
                counters[r.id] += 1
        n = len(members)
        if n < 2:
            continue
        groups = Counter(members)
        total_pairs += n * (n - 1) // 2
        kept_pairs += sum(k * (k - 1) // 2 for k in groups.values())
        total_columns += 1
        if len(groups) == 1 and test_col_size[members[0]] == n:
            kept_columns += 1
    sp = kept_pairs / total_pairs if total_pairs else 1.0
    tc = kept_columns / total_columns if total_columns else 1.0
    return AlignmentScore(sp, tc, total_pairs, total_columns)
