"""SS (H/E/C) and SA (exposed/buried at 25% RSA) prediction through onnxruntime: no torch on this path.

The shipped "ss-predictor" bundle holds one ONNX graph (role "model"): int64 tokens (batch, length), 0 = padding, in;
per-residue probabilities out ("ss_prob" (batch, length, 3) over H, E, C; "sa_prob" (batch, length, 2) over e, b).
Both axes are dynamic and the network masks padding, so sequences are batched by length with identical results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from protfam_core.errors import InputError
from protfam_core.io.alphabet import PROTEIN_LETTERS
from protfam_core.io.placements import Query
from protfam_core.registry import bundles as registry
from protfam_core.ss.data import SA2, SS3
from protfam_core.ss.tokens import tokenize

MAX_BATCH_TOKENS = 16384
# A batch grows while its padded tokens stay within this factor of its residues: the network costs the same per
# token, padding or not, and a few queries of mixed lengths (what the fast path leaves) padded to the longest cost
# three times their residues.
MAX_PADDING = 1.25


def check_sequences(seqs: list[str], ids: list[str] | None = None) -> None:
    """InputError for an empty sequence or a letter that is not an amino acid (ambiguity codes are accepted)."""
    for i, seq in enumerate(seqs):
        name = ids[i] if ids else f"#{i + 1}"
        if not seq:
            raise InputError(f"sequence {name!r} is empty")
        bad = next((c for c in seq.upper() if c not in PROTEIN_LETTERS), None)
        if bad is not None:
            raise InputError(f"sequence {name!r} has a non-amino-acid character {bad!r}")


class SSPredictor:
    """Single-sequence SS/SA predictor; `bundle` is a registry Bundle, a registry reference, or None (the default)."""

    def __init__(self, bundle=None, threads: int = 0) -> None:
        if bundle is None or isinstance(bundle, str):
            bundle = registry.resolve(bundle, "ss")
        self.bundle = bundle
        self.model = bundle.onnx("model", threads)

    @property
    def model_id(self) -> str:
        """name/version of the model, for output headers."""
        return self.bundle.ref

    def predict_proba(
        self, seqs: list[str], progress: Callable[[int], None] | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per sequence (L, 3) H/E/C and (L, 2) exposed/buried probabilities; progress gets residues done."""
        check_sequences(seqs)
        out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(seqs)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        start = 0
        while start < len(order):
            stop, residues = start + 1, len(seqs[order[start]])
            while stop < len(order):
                length = len(seqs[order[stop]])
                padded = (stop - start + 1) * length
                if padded > MAX_BATCH_TOKENS or padded > MAX_PADDING * (residues + length):
                    break
                residues += length
                stop += 1
            group = order[start:stop]
            width = len(seqs[group[-1]])
            result = self.model.run({"tokens": tokenize([seqs[i] for i in group], width)})
            for row, i in enumerate(group):
                n = len(seqs[i])
                out[i] = (result["ss_prob"][row, :n].copy(), result["sa_prob"][row, :n].copy())
            if progress is not None:
                progress(sum(len(seqs[i]) for i in group))
            start = stop
        return out  # type: ignore[return-value]

    def predict(self, seqs: list[str]) -> list[tuple[str, str]]:
        """Per sequence an H/E/C string and an e/b string of the sequence's length."""
        return [to_strings(ss, sa) for ss, sa in self.predict_proba(seqs)]

    def annotate(self, queries: Sequence[Query]) -> list[Query]:
        """Stage 2 of the chain: SS/SA of every query's whole raw sequence, as `classify-cnn predict` computes them."""
        predicted = self.predict([q.sequence for q in queries])
        return [q.with_ss(ss, sa, self.model_id) for q, (ss, sa) in zip(queries, predicted, strict=True)]


def to_strings(ss_prob: np.ndarray, sa_prob: np.ndarray) -> tuple[str, str]:
    """Most probable SS and SA state per residue."""
    ss_letters, sa_letters = np.array(list(SS3)), np.array(list(SA2))
    return "".join(ss_letters[ss_prob.argmax(1)]), "".join(sa_letters[sa_prob.argmax(1)])


def with_ss(queries: Sequence[Query], model: str | None, threads: int = 0) -> list[Query]:
    """Placements with the SS/SA of `model` (an SS bundle reference): predicted here when predict-ss has not run,
    refused when another SS model predicted them (the VAE and CNN were trained on one model's features)."""
    bundle = registry.resolve(model, "ss")
    have = {q.ss_model for q in queries if q.ss is not None}
    if not have:
        return SSPredictor(bundle, threads).annotate(queries)
    if len(have) > 1 or any(q.ss is None for q in queries):
        raise InputError("some placements have SS/SA and some do not, or from different models: run predict-ss once")
    if have != {bundle.ref}:
        raise InputError(
            f"the SS/SA were predicted by {have.pop()}, the chain expects {bundle.ref}: run predict-ss with --model "
            f"{bundle.ref}"
        )
    return list(queries)
