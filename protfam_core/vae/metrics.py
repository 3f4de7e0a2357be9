"""Reconstruction metrics of the paper's phase 1 (section 3.1, Figure 4), on strings alone: no torch, no model.

Training (validation reconstruction), the phase-1 report and the benchmarks score rows with these same functions:
per-residue accuracy, column consensus per family, BLOSUM62 per frame position.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from protfam_core.io.alphabet import AMINO_ACIDS, GAP

GAP_SCORE = -4.0  # a residue reconstructed as a gap scores BLOSUM62's minimum (the '*' column)


def residue_accuracy(original: Sequence[str], reconstructed: Sequence[str]) -> tuple[float, float]:
    """(accuracy over residue positions, accuracy over all frame positions incl. gaps); padding is not counted."""
    hit_res = n_res = hit_all = n_all = 0
    for o, r in zip(original, reconstructed, strict=True):
        a = np.frombuffer(o.encode(), dtype=np.uint8)
        b = np.frombuffer(r[: len(o)].encode(), dtype=np.uint8)
        same = a == b
        res = a != ord(GAP)
        hit_res += int(same[res].sum())
        n_res += int(res.sum())
        hit_all += int(same.sum())
        n_all += len(a)
    return hit_res / max(n_res, 1), hit_all / max(n_all, 1)


def blosum62() -> dict[tuple[str, str], float]:
    """BLOSUM62 as (a, b) -> score (Biopython's copy of the NCBI file, byte-identical to shared/data/blosum62)."""
    from Bio.Align import substitution_matrices

    m = substitution_matrices.load("BLOSUM62")
    return {(a, b): float(m[a, b]) for a in AMINO_ACIDS for b in AMINO_ACIDS}


def consensus(rows: Sequence[str]) -> list[str]:
    """Most common amino acid per column (gaps and ambiguity letters ignored; ties -> alphabet order); '-' if none."""
    out = []
    for col in zip(*rows, strict=True):
        counts = Counter(c for c in col if c in AMINO_ACIDS)
        out.append(min(counts, key=lambda a: (-counts[a], a)) if counts else GAP)
    return out


def consensus_agreement(original: Sequence[str], reconstructed: Sequence[str]) -> tuple[int, int]:
    """(columns whose most common amino acid is the same, columns with any residue in the original)."""
    a, b = consensus(original), consensus([r[: len(original[0])] for r in reconstructed])
    scored = [(x, y) for x, y in zip(a, b, strict=True) if x != GAP]
    return sum(x == y for x, y in scored), len(scored)


def consensus_by_family(
    original: Sequence[str], reconstructed: Sequence[str], groups: dict[str, list[int]]
) -> dict[str, tuple[int, int]]:
    """consensus_agreement of each family's rows (`groups`: family -> row indices): a column consensus only means
    something within one frame."""
    return {
        f: consensus_agreement([original[i] for i in idx], [reconstructed[i] for i in idx]) for f, idx in groups.items()
    }


def blosum_per_position(original: Sequence[str], reconstructed: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Figure 4: (A) mean BLOSUM62(original, reconstructed) per column over rows with a residue there (a gap in the
    reconstruction scores GAP_SCORE); (B) BLOSUM62 of the column consensus, original vs reconstructed. NaN = no
    residue in the column."""
    table = blosum62()
    width = len(original[0])
    a = np.full(width, np.nan)
    for j in range(width):
        scores = [
            table.get((o[j], r[j]), GAP_SCORE)
            for o, r in zip(original, reconstructed, strict=True)
            if o[j] in AMINO_ACIDS
        ]
        if scores:
            a[j] = float(np.mean(scores))
    co, cr = consensus(original), consensus([r[:width] for r in reconstructed])
    b = np.array([np.nan if x == GAP else table.get((x, y), GAP_SCORE) for x, y in zip(co, cr, strict=True)])
    return a, b
