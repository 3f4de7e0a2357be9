"""Per-residue strings (SS, SA) laid onto aligned rows: the one projection every stage uses.

SS/SA are predicted (or read) per residue of the raw sequence. A row placed in a frame, or a row of an alignment,
says for each column which residue sits there (`positions`, -1 at a gap), so the string on the row is the residue's
letter at each column and '-' at each gap. SCRATCH-1D's ACCpro writes '-' for buried residues, which would read as
a gap on a row, so its strings become e/b here first (`accpro_to_sa`).
"""

from __future__ import annotations

import numpy as np

from protfam_core.errors import InputError
from protfam_core.io.alphabet import GAP

ACCPRO_BURIED = "-"


def row_positions(aligned: str) -> np.ndarray:
    """Index of the residue in each column of an aligned row (insertions dropped), -1 at '-' or '.' gaps."""
    is_residue = np.array([c not in "-." for c in aligned], dtype=bool)
    positions = np.full(len(aligned), -1, dtype=np.int32)
    positions[is_residue] = np.arange(int(is_residue.sum()), dtype=np.int32)
    return positions


def project(per_residue: str, positions: np.ndarray, name: str = "") -> str:
    """`per_residue` on the columns of a row: the letter of the residue at each column, '-' where positions is -1."""
    positions = np.asarray(positions)
    if positions.size and int(positions.max()) >= len(per_residue):
        raise InputError(
            f"{name + ': ' if name else ''}per-residue string has {len(per_residue)} letters, "
            f"the row needs at least {int(positions.max()) + 1}"
        )
    return "".join(per_residue[p] if p >= 0 else GAP for p in positions.tolist())


def accpro_to_sa(text: str) -> str:
    """ACCpro's per-residue accessibility ('-' = buried, 'e' = exposed) as e/b."""
    return text.replace(ACCPRO_BURIED, "b")


def sa_to_accpro(text: str) -> str:
    """e/b accessibility in ACCpro's own layout ('-' = buried)."""
    return text.replace("b", ACCPRO_BURIED)
