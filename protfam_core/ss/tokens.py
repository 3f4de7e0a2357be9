"""Residue tokens of the SS/SA model: the one input the ONNX graph takes, shared by training and inference."""

from __future__ import annotations

import numpy as np

from protfam_core.io.alphabet import AMINO_ACIDS

PAD = 0  # padding token: positions the model masks out
UNKNOWN_TOKEN = len(AMINO_ACIDS) + 1  # X, B, Z, J, U, O: a residue whose identity is not one of the 20
N_TOKENS = len(AMINO_ACIDS) + 2

_TABLE = np.full(256, UNKNOWN_TOKEN, dtype=np.int64)
for _i, _aa in enumerate(AMINO_ACIDS):
    _TABLE[ord(_aa)] = _i + 1


def tokenize(seqs: list[str], length: int | None = None) -> np.ndarray:
    """(n, length) int64 tokens, right-padded with PAD; length defaults to the longest sequence."""
    width = max((len(s) for s in seqs), default=0) if length is None else length
    out = np.full((len(seqs), width), PAD, dtype=np.int64)
    for i, seq in enumerate(seqs):
        out[i, : len(seq)] = _TABLE[np.frombuffer(seq.upper().encode("ascii"), dtype=np.uint8)]
    return out
