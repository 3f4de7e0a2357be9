"""The anchor every accuracy and speed figure is compared with: plain pyhmmer on the same family HMMs (the frames).

Each query gets the family of its best-scoring HMM (per-sequence bit score); it is `unassigned` when that hit's
E-value is above the cut. E-values use Z = number of HMMs in both modes, so hmmscan and hmmsearch agree.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyhmmer

from protfam_core.cnn.report import UNASSIGNED
from protfam_core.cnn.rule import Domain
from protfam_core.errors import InputError, ModelError
from protfam_core.frames.frameset import SENSITIVE_FILTERS
from protfam_core.io.seqio import Record

ALPHABET = pyhmmer.easel.Alphabet.amino()


@dataclass(frozen=True)
class AnchorCall:
    """Best HMM hit of one query (family `unassigned` when nothing passes the E-value cut)."""

    query_id: str
    family: str
    score: float
    evalue: float


def load_hmms(path: str | Path) -> list[pyhmmer.plan7.HMM]:
    """All HMMs of a HMMER3 file (e.g. a dataset's frames.hmm)."""
    try:
        with pyhmmer.plan7.HMMFile(str(path)) as handle:
            hmms = list(handle)
    except (OSError, ValueError, EOFError) as exc:
        raise ModelError(f"{path}: cannot read HMMs ({exc})") from None
    if not hmms:
        raise ModelError(f"{path}: no HMMs in file")
    return hmms


def _digitise(records: Sequence[Record]) -> pyhmmer.easel.DigitalSequenceBlock:
    if not records:
        raise InputError("no sequences to search")
    seqs = [
        pyhmmer.easel.TextSequence(name=str(i).encode(), sequence=r.seq).digitize(ALPHABET)
        for i, r in enumerate(records)
    ]
    return pyhmmer.easel.DigitalSequenceBlock(ALPHABET, seqs)


def _optimised(hmms: Sequence[pyhmmer.plan7.HMM]) -> list:
    """hmmscan's target profiles, configured as hmmscan configures them (length model of 400 residues)."""
    background = pyhmmer.plan7.Background(ALPHABET)
    out = []
    for hmm in hmms:
        profile = pyhmmer.plan7.Profile(hmm.M, ALPHABET)
        profile.configure(hmm, background, 400)
        out.append(profile.to_optimized())
    return out


def _name(hmm_or_hit_name: str | bytes) -> str:
    return hmm_or_hit_name.decode() if isinstance(hmm_or_hit_name, bytes) else hmm_or_hit_name


def best_hits(
    hmms: Sequence[pyhmmer.plan7.HMM], records: Sequence[Record], mode: str = "hmmscan", cpus: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per query: best per-sequence bit score, its E-value and family ('' when no hit at the reporting threshold)."""
    block = _digitise(records)
    n = len(records)
    score, evalue, family = np.full(n, -np.inf), np.full(n, np.inf), [""] * n
    z = len(hmms)
    if mode == "hmmscan":
        for hits in pyhmmer.hmmer.hmmscan(block, _optimised(hmms), cpus=cpus, Z=z, E=10.0):
            i = int(_name(hits.query.name))
            for hit in hits:
                if hit.score > score[i]:
                    score[i], evalue[i], family[i] = hit.score, hit.evalue, _name(hit.name)
    elif mode == "hmmsearch":
        for hits in pyhmmer.hmmer.hmmsearch(hmms, block, cpus=cpus, Z=z, E=10.0):
            fam = _name(hits.query.name)
            for hit in hits:
                i = int(_name(hit.name))
                if hit.score > score[i]:
                    score[i], evalue[i], family[i] = hit.score, hit.evalue, fam
    else:
        raise InputError(f"unknown HMMER mode {mode!r} (hmmscan or hmmsearch)")
    return score, evalue, family


def classify(
    hmms: Sequence[pyhmmer.plan7.HMM],
    records: Sequence[Record],
    evalue_cut: float = 1e-3,
    mode: str = "hmmscan",
    cpus: int = 0,
) -> tuple[list[AnchorCall], float]:
    """Anchor calls for `records` and the sequences per second of the search itself."""
    start = time.perf_counter()
    score, evalue, family = best_hits(hmms, records, mode, cpus)
    seconds = time.perf_counter() - start
    calls = [
        AnchorCall(r.id, f if f and e <= evalue_cut else UNASSIGNED, float(s), float(e))
        for r, s, e, f in zip(records, score, evalue, family, strict=True)
    ]
    return calls, len(records) / seconds if seconds > 0 else float("inf")


def calibrated_cut(
    hmms: Sequence[pyhmmer.plan7.HMM],
    known: Sequence[Record],
    labels: Sequence[str],
    unknown: Sequence[Record],
    mode: str = "hmmscan",
) -> float:
    """The E-value cut of the best hit with the best balanced accuracy (known called right + unknown left
    unassigned) on the same validation sets as protfam's rule, over protfam's grid (`rule.EVALUE_GRID`, and no cut);
    ties: the median."""
    from protfam_core.cnn.rule import EVALUE_GRID

    _, known_e, known_f = best_hits(hmms, known, mode)
    _, unknown_e, unknown_f = best_hits(hmms, unknown, mode)
    grid = (*EVALUE_GRID, float("inf"))

    def balanced(cut: float) -> float:
        right = np.mean([f == t and e <= cut for f, e, t in zip(known_f, known_e, labels, strict=True)])
        left = np.mean([not f or e > cut for f, e in zip(unknown_f, unknown_e, strict=True)])
        return round(float(right + left) / 2, 12)

    values = [balanced(cut) for cut in grid]
    ties = [cut for cut, v in zip(grid, values, strict=True) if v == max(values)]
    return ties[(len(ties) - 1) // 2]


def domain_hits(
    hmms: Sequence[pyhmmer.plan7.HMM], records: Sequence[Record], cpus: int = 0, sensitive: bool = False
) -> list[list[Domain]]:
    """hmmscan's reported domains of each query (`--domtblout`'s rows): family, alignment span on the query, bit
    score and independent E-value; the anchor's domain calls are these, cut and resolved like protfam's.
    `sensitive`: the filters of protfam's domain search (SENSITIVE_FILTERS), to compare at equal settings."""
    block = _digitise(records)
    out: list[list[Domain]] = [[] for _ in records]
    z = len(hmms)
    opts = {"Z": z, "E": 10.0, "domE": 10.0, "domZ": z, **(SENSITIVE_FILTERS if sensitive else {})}
    for hits in pyhmmer.hmmer.hmmscan(block, _optimised(hmms), cpus=cpus, **opts):
        i = int(_name(hits.query.name))
        for hit in hits:
            for dom in (d for d in hit.domains if d.reported):
                ali = dom.alignment
                out[i].append(
                    Domain(records[i].id, _name(hit.name), ali.target_from, ali.target_to, dom.score, dom.i_evalue)
                )
    return out
