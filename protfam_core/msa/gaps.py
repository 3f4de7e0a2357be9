"""The paper's two gap steps on a family alignment (section 2.1).

Step 1 removes sequences that have a residue in a column that is more than 99.5% gaps (the rare insertions that would
otherwise keep such columns alive); step 2 then removes columns that are more than 75% gaps. The thresholds are
strict "more than" comparisons, as in the paper's wording.

Step 2 also removes a column that only one row has a residue in (MIN_COLUMN_RESIDUES). The paper's families have
hundreds of rows, where such a column is far beyond 75% gaps; a Pfam seed's frame of 4 rows keeps any column with one
residue, and that member's insertion becomes a match state every query pays for. Chosen on validation data, measured
once when it was: 4 members per family of the 96 families (benchmarks/small_families.py's seeded draw), FAMSA,
frames searched with hmmscan, best hit at the E-value cut chosen on the val split: 0.912 of the val members right
against 0.905 without the rule; at 8 and 21 members per family the rule drops no column the 75% rule keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protfam_core.errors import InputError
from protfam_core.io.alphabet import GAP
from protfam_core.io.seqio import Record

SEQUENCE_GAP_THRESHOLD = 0.995
COLUMN_GAP_THRESHOLD = 0.75
MIN_COLUMN_RESIDUES = 2  # a column with fewer residues (of at least this many rows) is one member's insertion


@dataclass(frozen=True)
class FilterResult:
    """Rows after both steps, ids removed by step 1, the kept column indices of the input alignment, and the rows
    step 1 kept with every column (a frame HMM takes the dropped columns as insert states)."""

    rows: list[Record]
    dropped: list[str]
    columns: list[int]
    aligned: list[Record]


def _gap_matrix(rows: list[Record]) -> np.ndarray:
    if not rows:
        raise InputError("empty alignment")
    width = len(rows[0].seq)
    if any(len(r.seq) != width for r in rows):
        raise InputError("not an alignment: rows have different widths")
    data = np.frombuffer("".join(r.seq for r in rows).encode("ascii"), dtype=np.uint8).reshape(len(rows), width)
    return (data == ord(GAP)) | (data == ord("."))


def gappy_residue_rows(rows: list[Record], threshold: float = SEQUENCE_GAP_THRESHOLD) -> list[int]:
    """Indices of rows with a residue in a column whose gap fraction is more than `threshold` (step 1)."""
    gaps = _gap_matrix(rows)
    gappy = gaps.mean(axis=0) > threshold
    return np.nonzero((~gaps[:, gappy]).any(axis=1))[0].tolist()


def drop_gappy_columns(rows: list[Record], threshold: float = COLUMN_GAP_THRESHOLD) -> tuple[list[Record], list[int]]:
    """Rows without the columns whose gap fraction is more than `threshold` or that fewer than MIN_COLUMN_RESIDUES
    rows have a residue in (step 2); also the kept column indices."""
    gaps = _gap_matrix(rows)
    residues = (~gaps).sum(axis=0)
    keep = np.nonzero((gaps.mean(axis=0) <= threshold) & (residues >= min(MIN_COLUMN_RESIDUES, len(rows))))[0]
    out = []
    for r in rows:
        chars = np.frombuffer(r.seq.encode("ascii"), dtype=np.uint8)[keep]
        out.append(Record(r.id, chars.tobytes().decode("ascii").replace(".", GAP), r.description))
    return out, keep.tolist()


def apply_gap_rules(
    rows: list[Record],
    sequence_threshold: float = SEQUENCE_GAP_THRESHOLD,
    column_threshold: float = COLUMN_GAP_THRESHOLD,
) -> FilterResult:
    """Step 1 then step 2 of the paper on one alignment."""
    bad = set(gappy_residue_rows(rows, sequence_threshold))
    kept = [r for i, r in enumerate(rows) if i not in bad]
    if not kept:
        raise InputError("the gap rules removed every sequence of the alignment")
    filtered, columns = drop_gappy_columns(kept, column_threshold)
    if not columns:  # an alignment of no column is no result: every later step would read it as empty input
        width = len(rows[0].seq)
        raise InputError(
            f"the gap rules left none of the alignment's {width} columns (each has a gap fraction over "
            f"{column_threshold:g})"
            if width
            else "the alignment has no column (its sequences are empty)"
        )
    return FilterResult(filtered, [rows[i].id for i in sorted(bad)], columns, kept)


def select_with_gap_rules(
    rows: list[Record],
    n: int,
    sequence_threshold: float = SEQUENCE_GAP_THRESHOLD,
    column_threshold: float = COLUMN_GAP_THRESHOLD,
) -> FilterResult:
    """The first `n` rows that pass step 1 among themselves, refilled in order from the rest; then step 2.

    Used when a family's training pool is aligned with some spare members: step 1 is judged on the chosen `n` rows
    (the gap fractions the frame will have), and every row it removes is replaced by the next spare, until the chosen
    rows are stable or the spares run out. `dropped` lists every row step 1 rejected.
    """
    chosen = list(range(min(n, len(rows))))
    spare = list(range(len(chosen), len(rows)))
    dropped: list[int] = []
    while True:
        bad = set(gappy_residue_rows([rows[i] for i in chosen], sequence_threshold))
        if not bad:
            break
        dropped.extend(chosen[j] for j in sorted(bad))
        chosen = [i for j, i in enumerate(chosen) if j not in bad]
        take, spare = spare[: len(bad)], spare[len(bad) :]
        chosen.extend(take)
        if not chosen:
            raise InputError("the gap rules removed every sequence of the alignment")
    aligned = [rows[i] for i in chosen]
    filtered, columns = drop_gappy_columns(aligned, column_threshold)
    return FilterResult(filtered, [rows[i].id for i in sorted(dropped)], columns, aligned)
