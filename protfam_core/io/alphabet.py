"""The paper's alphabets and one-hot encodings (amino acids L x 21, SS L x 4, SA L x 3).

Symbol order puts the gap first, as in the authors' compbiolab-CLI, so our encodings line up with theirs.
"""

from __future__ import annotations

import numpy as np

GAP = "-"
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
AA_SYMBOLS = GAP + AMINO_ACIDS  # 21
SS_SYMBOLS = GAP + "HEC"  # 4: gap, helix, strand, other
SA_SYMBOLS = GAP + "eb"  # 3: gap, exposed, buried

# Letters accepted in protein input. Ambiguity codes and rare residues are kept in the sequence but encode as an
# all-zero one-hot row (no amino acid is claimed).
AMBIGUOUS = "XBZJUO"
PROTEIN_LETTERS = frozenset(AMINO_ACIDS + AMBIGUOUS)
ALIGNED_LETTERS = PROTEIN_LETTERS | {GAP, "."}

CHANNELS: dict[str, str] = {"aa": AA_SYMBOLS, "ss": SS_SYMBOLS, "sa": SA_SYMBOLS}
# The channel axis of a fingerprint (n, 3, 30), of the model bundles and of the TSV columns: aa, ss, sa.
CHANNEL_ORDER: tuple[str, ...] = tuple(CHANNELS)


def _lookup(symbols: str) -> np.ndarray:
    table = np.full(256, -1, dtype=np.int16)
    for i, s in enumerate(symbols):
        table[ord(s)] = i
    return table


_AA_INDEX = _lookup(AA_SYMBOLS)
_AA_INDEX[ord(".")] = 0  # A2M/Stockholm insert-gap dot is a gap
_SS_INDEX = _lookup(SS_SYMBOLS)
_SA_INDEX = _lookup(SA_SYMBOLS)


def _indices(text: str, table: np.ndarray) -> np.ndarray:
    return table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]


def one_hot(text: str, symbols: str) -> np.ndarray:
    """One-hot of an aligned string over `symbols`; unknown letters give an all-zero row. Shape (L, len(symbols))."""
    table = {AA_SYMBOLS: _AA_INDEX, SS_SYMBOLS: _SS_INDEX, SA_SYMBOLS: _SA_INDEX}.get(symbols)
    if table is None:
        table = _lookup(symbols)
    idx = _indices(text, table)
    out = np.zeros((len(text), len(symbols)), dtype=np.float32)
    ok = idx >= 0
    out[np.nonzero(ok)[0], idx[ok]] = 1.0
    return out


def decode(matrix: np.ndarray, symbols: str) -> str:
    """Most probable symbol per row of an (L, len(symbols)) matrix, e.g. a VAE reconstruction."""
    return "".join(symbols[i] for i in np.asarray(matrix).argmax(axis=1))
