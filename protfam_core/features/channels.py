"""Per-residue features of placed rows as the VAEs take them: the residue row and SS/SA projected onto the frame
columns, each one-hot encoded and right-padded with gap columns to the model's width.

Every row a VAE or the CNN sees is a Placement (a raw sequence placed into a family frame). SS/SA are predicted on the
raw sequence and projected onto the row through the placement's positions, so the three channels line up column by
column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from protfam_core.errors import InputError
from protfam_core.io.alphabet import GAP, one_hot
from protfam_core.ss.project import project

if TYPE_CHECKING:
    from protfam_core.io.placements import Placement


def channel_matrix(rows: Sequence[str], symbols: str, width: int, dtype: type = np.float32) -> np.ndarray:
    """(n, width * len(symbols)) flattened one-hots of aligned rows, right-padded with gap columns to `width`."""
    too_wide = next((r for r in rows if len(r) > width), None)
    if too_wide is not None:
        raise InputError(f"an aligned row is {len(too_wide)} columns wide, the model takes at most {width}")
    if not rows:
        return np.zeros((0, width * len(symbols)), dtype=dtype)
    text = "".join(r + GAP * (width - len(r)) for r in rows)
    return one_hot(text, symbols).astype(dtype, copy=False).reshape(len(rows), width * len(symbols))


def channel_rows(placements: Sequence[Placement], ss_sa: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """The three aligned strings per placement: the residue row and the projected SS and SA rows."""
    if len(placements) != len(ss_sa):
        raise InputError(f"{len(placements)} placements but SS/SA for {len(ss_sa)} sequences")
    return {
        "aa": [p.row for p in placements],
        "ss": [project(ss, p.positions, p.query_id) for p, (ss, _) in zip(placements, ss_sa, strict=True)],
        "sa": [project(sa, p.positions, p.query_id) for p, (_, sa) in zip(placements, ss_sa, strict=True)],
    }
