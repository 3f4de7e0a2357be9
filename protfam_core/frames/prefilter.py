"""The fast path's candidate families: a linear model on a sequence's 3-mer profile, no alignment at all.

Why: the frame search runs HMMER's pipeline against every frame, and each hit costs Forward/Backward and domain
definition, so no search of fewer frames gets cheap (issue 16). A linear classifier on tf-idf weighted 3-mer counts
ranks a held-out member's own family first for 98.7% of the validation split (3-mer centroids: 94.4%) at tens of
thousands of sequences per second; the fast path places a query only into the family it ranks first.
Fitting needs scikit-learn (`[train]`); scoring, scipy.sparse (imported when first used).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from protfam_core.errors import ModelError
from protfam_core.io.seqio import Record

if TYPE_CHECKING:
    import scipy.sparse as sp

LETTERS = "ACDEFGHIKLMNPQRSTVWY"  # 3-mers over the 20 standard amino acids; any other letter breaks a 3-mer
K = 3
N_FEATURES = len(LETTERS) ** K
SPARSE_CHUNK = 4096  # sequences per count block
_CODE = np.full(256, len(LETTERS), dtype=np.int64)
_CODE[np.frombuffer(LETTERS.encode(), np.uint8)] = np.arange(len(LETTERS))
_CODE[np.frombuffer(LETTERS.lower().encode(), np.uint8)] = np.arange(len(LETTERS))


def kmer_occurrences(sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sequence index, 3-mer index) of every 3-mer of raw sequences (gaps and '.' ignored), in one pass."""
    raw = [s.replace("-", "").replace(".", "") for s in sequences]
    lengths = np.fromiter((len(s) for s in raw), np.int64, len(raw))
    codes = _CODE[np.frombuffer("".join(raw).encode("ascii", "replace"), np.uint8)]
    owner = np.repeat(np.arange(len(raw)), lengths)
    if len(codes) < K:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a, b, c = codes[:-2], codes[1:-1], codes[2:]
    base = len(LETTERS)
    keep = (a < base) & (b < base) & (c < base) & (owner[:-2] == owner[2:])
    return owner[:-2][keep], ((a * base + b) * base + c)[keep]


def kmer_matrix(sequences: Sequence[str]) -> sp.csr_matrix:
    """(n, 8000) float32 3-mer counts of raw sequences as a scipy CSR matrix."""
    import scipy.sparse as sp

    owner, index = kmer_occurrences(sequences)
    ones = np.ones(len(owner), np.float32)
    return sp.csr_matrix((ones, (owner, index)), shape=(len(sequences), N_FEATURES))  # duplicates summed


class KmerPrefilter:
    """Family scores from 3-mer profiles (scikit-learn style: settings here, `fit` sets the attributes ending in _).

    `C` is LinearSVC's regularisation; the fitted state is the idf weights and one linear scorer per family, on
    l2-normalised tf-idf vectors (so that a long sequence scores like a short one).
    """

    def __init__(self, C: float = 1.0, seed: int = 0) -> None:
        self.C = C
        self.seed = seed

    def fit(self, records: Sequence[Record], labels: Sequence[str], families: Sequence[str]) -> KmerPrefilter:
        """Learn idf weights and the linear scorers from training members only (one-vs-rest LinearSVC)."""
        from sklearn.preprocessing import normalize
        from sklearn.svm import LinearSVC

        index = {f: i for i, f in enumerate(families)}
        y = np.array([index[label] for label in labels])
        counts = kmer_matrix([r.seq for r in records])
        df = np.bincount(counts.indices, minlength=N_FEATURES)  # sequences with each 3-mer
        self.idf_ = (np.log((counts.shape[0] + 1.0) / (df + 1.0)) + 1.0).astype(np.float32)
        x = normalize(counts.multiply(self.idf_).tocsr())  # l2-normalised tf-idf rows
        svc = LinearSVC(C=self.C, random_state=self.seed).fit(x, y)
        self.families_ = list(families)
        self.coef_ = svc.coef_.astype(np.float32)
        self.intercept_ = svc.intercept_.astype(np.float32)
        return self

    def decision_function(self, sequences: Sequence[str]) -> np.ndarray:
        """(n, families) linear scores; higher is more like the family. The tf-idf vector is never formed: its dot
        product with a scorer is counts @ (idf * coef) over the norm sqrt(counts^2 @ idf^2), two products on the
        raw counts, sparse: a sequence has a few hundred of the 8,000 3-mers (20,000 proteins: 0.4 s against 1.3 s
        dense; importing scipy.sparse costs 0.1 s, so dense wins only below about 3,000 sequences)."""
        weights = (self.idf_[:, None] * self.coef_.T).astype(np.float32)
        idf2 = (self.idf_ * self.idf_).astype(np.float32)
        out = np.empty((len(sequences), len(self.families_)), np.float32)
        for s in range(0, len(sequences), SPARSE_CHUNK):
            counts = kmer_matrix(sequences[s : s + SPARSE_CHUNK])
            norm = np.maximum(np.sqrt(counts.multiply(counts) @ idf2), 1e-12)
            out[s : s + SPARSE_CHUNK] = (counts @ weights) / norm[:, None]
        return out + self.intercept_

    def top(self, sequences: Sequence[str], k: int) -> np.ndarray:
        """(n, k) family indices, best first (ties broken by family order, so the ranking is deterministic)."""
        if not sequences:
            return np.zeros((0, k), np.int64)
        scores = self.decision_function(sequences)
        return np.argsort(-scores, axis=1, kind="stable")[:, : min(k, scores.shape[1])]

    def save(self, path: str | Path) -> None:
        """The fitted state as one compressed npz (idf, scorers, family names)."""
        with open(path, "wb") as fh:
            np.savez_compressed(
                fh, idf=self.idf_, coef=self.coef_, intercept=self.intercept_, families=np.array(self.families_),
                C=np.float64(self.C),
            )  # fmt: skip

    @classmethod
    def load(cls, path: str | Path) -> KmerPrefilter:
        try:
            with np.load(path, allow_pickle=False) as z:
                model = cls(C=float(z["C"]))
                model.idf_, model.coef_, model.intercept_ = z["idf"], z["coef"], z["intercept"]
                model.families_ = [str(f) for f in z["families"]]
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"{path}: not a prefilter file ({exc})") from None
        if model.coef_.shape != (len(model.families_), N_FEATURES) or model.idf_.shape != (N_FEATURES,):
            raise ModelError(f"{path}: prefilter arrays of the wrong shape {model.coef_.shape}")
        return model
