"""Family frames: one hand-architecture profile HMM per family, and placement of sequences into its columns.

A frame is the gap-filtered training alignment of a family; its HMM has one match state per frame column (the columns
the gap rules dropped are its insert states), so a query aligned to the HMM (domain alignment of a search, or a forced
hmmalign-style trace) gives one residue or gap per frame column without the reference alignment ever being touched.
Insertions relative to the frame are dropped.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import pyhmmer
from pyhmmer import easel, plan7

from protfam_core.errors import InputError, ModelError
from protfam_core.io.alphabet import GAP
from protfam_core.io.atomic import write_text
from protfam_core.io.placements import Placement, Query
from protfam_core.io.seqio import MAX_RESIDUES, Record

_ALPHABET = easel.Alphabet.amino()
_BUILD_SEED = 42
FALLBACK_EVALUE = 0.01  # E-value cut of the sensitive search for queries the plain search misses
SENSITIVE_FILTERS = {"bias_filter": False, "F1": 0.1}  # pyhmmer options of the sensitive search (--nobias --F1 0.1)
H = TypeVar("H", bound="_Hit")
_UPPER = np.frombuffer(bytes(range(256)).upper(), dtype=np.uint8)  # byte -> its upper-case byte


@dataclass(frozen=True)
class SearchSettings:
    """The frame search of stage 1, HMMER's significance cuts as Pfam's gathering thresholds are: a family is a
    candidate of a query when the query's whole-sequence E-value against its frame is at most `evalue`, and each of
    its domains in that frame with an independent E-value of at most `domain_evalue` is placed. A query without any
    candidate is searched again by the sensitive search (bias filter off), with `fallback_evalue` as its sequence cut
    (0 = off). The chain takes them from its model card (`cnn.settings.ChainSettings`), so that `prep-msa place` and
    `classify-cnn predict` search alike; the defaults keep every hit (training and calibration weigh them all)."""

    evalue: float = 10.0
    domain_evalue: float = 10.0
    fallback_evalue: float = FALLBACK_EVALUE


def _digital(records: Iterable[Record]) -> easel.DigitalSequenceBlock:
    """Digital sequences named by index so that any id (spaces, duplicates across calls) round-trips."""
    seqs = []
    for i, rec in enumerate(records):
        residues = rec.seq.replace(GAP, "").replace(".", "").upper()
        if not residues:
            raise InputError(f"sequence {rec.id!r} is empty")
        if len(residues) > MAX_RESIDUES:  # pyhmmer's error leaves its worker threads stuck: the next search hangs
            raise InputError(f"sequence {rec.id!r} has {len(residues):,} residues, more than {MAX_RESIDUES:,}")
        try:
            seqs.append(easel.TextSequence(name=str(i), sequence=residues).digitize(_ALPHABET))
        except ValueError:
            raise InputError(f"sequence {rec.id!r} has letters that are not amino acids") from None
    return easel.DigitalSequenceBlock(_ALPHABET, seqs)


def build_hmm(family: str, rows: list[Record], columns: Sequence[int] | None = None) -> plan7.HMM:
    """HMM with the `columns` of the aligned `rows` (default: all) as its match states, the others as insert states
    (hmmbuild --hand with an RF line of 'x' at those columns).

    The frame's columns are those the gap rules keep; built from the alignment before they dropped the others, the
    HMM still counts the family's own insertions there, so a query with an insertion in that place pays what the
    members paid. Chosen on validation data, measured once when it was (as `msa.gaps`'s one-residue rule): frames
    of 21 members per family classify 0.984 of the val members against 0.982 built from the kept columns alone."""
    if not rows:
        raise InputError(f"family {family!r}: no aligned sequences to build a frame from")
    width = len(rows[0].seq)
    if any(len(r.seq) != width for r in rows):
        raise InputError(f"family {family!r}: rows of different widths, not an alignment")
    match = set(range(width) if columns is None else columns)
    text = [easel.TextSequence(name=str(i), sequence=r.seq.upper().replace(".", GAP)) for i, r in enumerate(rows)]
    msa = easel.TextMSA(name=family, sequences=text)
    msa.reference = "".join("x" if c in match else "." for c in range(width))
    builder = plan7.Builder(_ALPHABET, architecture="hand", seed=_BUILD_SEED)
    hmm, _, _ = builder.build_msa(msa.digitize(_ALPHABET), plan7.Background(_ALPHABET))
    if len(match) != hmm.M:
        raise ModelError(f"family {family!r}: HMM has {hmm.M} match states for a {len(match)}-column frame")
    hmm.creation_time = None  # no DATE/COM lines: the same alignment gives a byte-identical frame file
    hmm.command_line = None
    return hmm


def _row_from_domain(ali: plan7.Alignment, width: int) -> tuple[str, np.ndarray]:
    """Frame row from a domain alignment: match columns get a residue or gap, '.' (insert) columns are dropped."""
    row = [GAP] * width
    pos = np.full(width, -1, dtype=np.int32)
    k = ali.hmm_from - 1
    t = ali.target_from - 1
    for h, c in zip(ali.hmm_sequence, ali.target_sequence, strict=True):
        if h == ".":
            t += 1
            continue
        if c != GAP:
            row[k] = c.upper()
            pos[k] = t
            t += 1
        k += 1
    return "".join(row), pos


def _rows_from_msa(alignment: Sequence[str], is_match: np.ndarray, width: int) -> list[tuple[str, np.ndarray]]:
    """Frame rows from hmmalign MSA rows: keep match columns, count every residue for positions (one array pass for
    all rows of a frame: the fast path places every query this way)."""
    if int(is_match.sum()) != width:
        raise ModelError(f"placement produced {int(is_match.sum())} columns for a {width}-column frame")
    text = np.frombuffer("".join(alignment).encode("ascii"), dtype=np.uint8).reshape(len(alignment), -1)
    residue = (text != ord(GAP)) & (text != ord("."))
    index = np.cumsum(residue, axis=1, dtype=np.int32) - 1
    kept = residue[:, is_match]
    letters = _UPPER[np.where(kept, text[:, is_match], ord(GAP))].tobytes().decode("ascii")
    positions = np.where(kept, index[:, is_match], -1)
    return [(letters[i * width : (i + 1) * width], pos) for i, pos in enumerate(positions)]


class FrameSet:
    """All family frames of a dataset: hand-architecture HMMs, searched in one pass or used for forced placement."""

    def __init__(self, hmms: list[plan7.HMM]) -> None:
        names = [h.name for h in hmms]
        if len(set(names)) != len(names):
            raise ModelError("frame set has two HMMs with the same family name")
        self._hmms = {h.name: h for h in hmms}
        self.families: list[str] = names
        self.widths: dict[str, int] = {h.name: h.M for h in hmms}

    def hmm(self, family: str) -> plan7.HMM:
        """The family's HMM; ModelError for a family the frame set lacks."""
        try:
            return self._hmms[family]
        except KeyError:
            raise ModelError(f"no frame for family {family!r} (known: {len(self.families)} families)") from None

    def save(self, path: str | Path) -> None:
        """All HMMs in one HMMER3 text file, written atomically."""
        buf = io.BytesIO()
        for hmm in self._hmms.values():
            hmm.write(buf)
        write_text(buf.getvalue().decode("ascii"), path)

    @classmethod
    def load(cls, path: str | Path) -> FrameSet:
        """Frames from an HMMER3 file written by save (or hmmbuild)."""
        try:
            with plan7.HMMFile(str(path)) as fh:
                hmms = list(fh)
        except FileNotFoundError:
            raise ModelError(f"{path}: no such frame file") from None
        except (ValueError, EOFError, OSError) as exc:
            raise ModelError(f"{path}: not an HMMER3 frame file ({exc})") from None
        if not hmms:
            raise ModelError(f"{path}: contains no HMMs")
        return cls(hmms)

    def search(
        self,
        records: list[Record],
        settings: SearchSettings = SearchSettings(),  # noqa: B008 (frozen)
        sensitive: bool = False,
        cpus: int = 0,
    ) -> dict[str, list[Placement]]:
        """Every domain of every hit of each query, best score first, from one pyhmmer search: the placement of each
        domain in its frame, with its own score and independent E-value, numbered 1.. along the query, and the hit's
        whole-sequence E-value (a repeat protein has several domains in one frame).

        E-values are per query against all frames (Z = number of frames), so they do not depend on the batch.
        `sensitive` turns the bias filter off and loosens the MSV filter five-fold (F1 0.1): it finds the members of
        biased composition that the bias filter drops, at about the cost of the plain search (on the benchmark
        dataset it finds the same members as hmmsearch --max, which costs 50 times more); E-values keep the null2
        correction, so low-complexity sequences do not score as hits. `cpus` is pyhmmer's (0 = all cores).
        """
        if not records:
            return {}
        hits_per_query: list[list[Placement]] = [[] for _ in records]
        hmms = list(self._hmms.values())
        for top in pyhmmer.hmmer.hmmsearch(hmms, _digital(records), cpus=cpus, **self._options(settings, sensitive)):
            self._collect(top, records, hits_per_query)
        return _best_first(records, hits_per_query)

    def search_shortlist(
        self,
        records: list[Record],
        shortlist: Sequence[Sequence[str]],
        settings: SearchSettings,
        sensitive: bool = False,
        cpus: int = 1,
    ) -> dict[str, list[Placement]]:
        """`search` of each record against the frames of its `shortlist` only (E-values still over all frames): one
        pyhmmer pipeline per frame with the records that list it, frames spread over `cpus` threads."""
        jobs: dict[str, list[int]] = {}
        for i, families in enumerate(shortlist):
            for family in families:
                jobs.setdefault(family, []).append(i)
        options = self._options(settings, sensitive)
        block = _digital(records)  # named by index into `records`, whichever frame's block a sequence goes into
        hits_per_query: list[list[Placement]] = [[] for _ in records]

        def run(job: tuple[str, list[int]]) -> plan7.TopHits:
            family, indices = job
            pipeline = plan7.Pipeline(_ALPHABET, **options)
            return pipeline.search_hmm(
                self.hmm(family), easel.DigitalSequenceBlock(_ALPHABET, [block[i] for i in indices])
            )

        with ThreadPoolExecutor(max(1, cpus)) as pool:
            for top in pool.map(run, sorted(jobs.items())):
                self._collect(top, records, hits_per_query)
        return _best_first(records, hits_per_query)

    def _options(self, settings: SearchSettings, sensitive: bool) -> dict:
        """pyhmmer's options of a search under `settings`: E-values over all frames, the sensitive filters."""
        z = len(self._hmms)
        opts = {"E": settings.evalue, "domE": settings.domain_evalue, "Z": z, "domZ": z}
        return {**opts, **(SENSITIVE_FILTERS if sensitive else {})}

    def _collect(self, top: plan7.TopHits, records: Sequence[Record], hits_per_query: list[list[Placement]]) -> None:
        """Every reported domain of every reported hit of one frame, as placements of the records they belong to."""
        family = top.query.name
        width = self.widths[family]
        for hit in top.reported:
            i = int(hit.name)
            for k, dom in enumerate((d for d in hit.domains if d.reported), 1):
                row, pos = _row_from_domain(dom.alignment, width)
                hits_per_query[i].append(
                    Placement(records[i].id, family, row, pos, float(dom.score), dom.i_evalue, k, hit.evalue)
                )

    def place(self, records: list[Record], family: str) -> list[Placement]:
        """Forced placement of every record into one frame (hmmalign); score/E-value from the trace, E with Z=1."""
        if not records:
            return []
        hmm = self.hmm(family)
        block = _digital(records)
        aligner = plan7.TraceAligner()
        traces = aligner.compute_traces(hmm, block)
        msa = aligner.align_traces(hmm, block, traces, all_consensus_cols=True)
        reference = np.frombuffer(msa.reference.encode("ascii"), dtype=np.uint8)
        is_match = (reference != ord(".")) & (reference != ord("~"))  # RF line: 'x' at every match state
        profile = plan7.Profile(hmm.M, _ALPHABET)
        profile.configure(hmm, plan7.Background(_ALPHABET), multihit=False)
        rows = _rows_from_msa(msa.alignment, is_match, self.widths[family])
        out = []
        for rec, seq, (row, pos), trace in zip(records, block, rows, traces, strict=True):
            profile.L = len(seq)  # HMMER's length reconfiguration: the same scores as configuring for this length
            score = (trace.score(seq, profile) - _null_nats(len(seq))) / math.log(2.0)
            out.append(Placement(rec.id, family, row, pos, score, _pvalue(hmm, score)))
        return out


def _best_first(records: Sequence[Record], hits_per_query: list[list[Placement]]) -> dict[str, list[Placement]]:
    """Each record's placements by id, best score first (then family and domain number: a deterministic order)."""
    return {r.id: sorted(h, key=lambda p: (-p.score, p.family, p.domain))
            for r, h in zip(records, hits_per_query, strict=True)}  # fmt: skip


def _null_nats(length: int) -> float:
    """HMMER's null1 log-likelihood (nats) of a sequence of `length` under the background length model."""
    p1 = length / (length + 1.0)
    return length * math.log(p1) + math.log(1.0 - p1)


def _pvalue(hmm: plan7.HMM, score: float) -> float:
    """Viterbi-trace score P-value from the HMM's calibrated Gumbel (E-value for a single frame)."""
    mu, lam = hmm.evalue_parameters.v_mu, hmm.evalue_parameters.v_lambda
    if mu is None or lam is None:
        return math.nan
    return float(min(1.0, -math.expm1(-math.exp(-lam * (score - mu)))))


def candidate_placements(
    frames: FrameSet,
    records: Sequence[Record],
    settings: SearchSettings = SearchSettings(),  # noqa: B008 (frozen)
    cpus: int = 0,
    shortlist: Callable[[Sequence[Record]], list[list[str]]] | None = None,
) -> dict[str, list[Placement]]:
    """Candidate domains of each query: one frame search, then a sensitive search for the queries without any.

    The search's bias filter misses a few members of biased composition (6 of 3,200 validation sequences of the
    benchmark dataset have no hit at E <= 10). Those queries are searched again without it
    (`FrameSet.search(sensitive=True)`), with the fallback E-value as the sequence cut; its null2-corrected E-values
    keep low-complexity sequences of unknown families (metallothioneins, toxins) out. A query whose plain search
    found a candidate is not searched again: the bias filter is also what keeps reversed and shuffled sequences of
    biased composition out (calibration weighs both on such decoys, `cnn.calibrate`).

    On a proteome almost every query has no candidate, and the sensitive search of all frames cost 2.6 times the
    plain one: with `shortlist` (the chain's 3-mer prefilter, `cnn.classify.FallbackShortlist`) each such query is
    searched again in the few frames it names only, with E-values still over all frames.
    """
    found = frames.search(list(records), settings, cpus=cpus)
    missing = [r for r in records if not found[r.id]]
    if missing and settings.fallback_evalue > 0:
        fallback = replace(settings, evalue=settings.fallback_evalue)
        if shortlist is None:
            found.update(frames.search(missing, fallback, sensitive=True, cpus=cpus))
        else:
            found.update(frames.search_shortlist(missing, shortlist(missing), fallback, True, max(1, cpus)))
    return found


class _Hit(Protocol):
    evalue: float
    hit_evalue: float


def replay(plain: Sequence[H], sensitive: Sequence[H], settings: SearchSettings) -> list[H]:
    """What `candidate_placements` keeps of one query under `settings`, from its hits of both searches under the
    default (widest) settings: the plain hits within the cuts, else the sensitive ones within the fallback's. This is
    how calibration weighs many settings with one search (tests/frames check that it agrees with the search)."""

    def within(hits: Sequence[H], evalue: float) -> list[H]:
        return [h for h in hits if h.hit_evalue <= evalue and h.evalue <= settings.domain_evalue]

    found = within(plain, settings.evalue)
    return found if found or settings.fallback_evalue <= 0 else within(sensitive, settings.fallback_evalue)


def place_queries(
    frames: FrameSet,
    records: Sequence[Record],
    settings: SearchSettings = SearchSettings(),  # noqa: B008 (frozen)
    cpus: int = 0,
    frames_ref: str | None = None,
    shortlist: Callable[[Sequence[Record]], list[list[str]]] | None = None,
) -> list[Query]:
    """Stage 1 of the chain, label-free: every query with its candidate domains, best first, in input order (a query
    without any keeps an empty list, so that it still comes out of the last stage as `unassigned`)."""
    found = candidate_placements(frames, records, settings, cpus, shortlist)
    return [Query(r.id, r.seq, tuple(found[r.id]), frames=frames_ref) for r in records]


def force_queries(
    frames: FrameSet, records: Sequence[Record], family: str, frames_ref: str | None = None
) -> list[Query]:
    """Stage 1 with the label (the paper's protocol): every query forced into one family's frame."""
    placed = frames.place(list(records), family)
    return [Query(r.id, r.seq, (p,), frames=frames_ref) for r, p in zip(records, placed, strict=True)]
