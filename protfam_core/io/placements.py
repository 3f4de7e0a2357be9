"""Placement files: the interchange of `prep-msa place`, `predict-ss` and `encode-vae`, as A2M with structured headers.

One record per candidate placement of a query, in input order, the query's candidates best first:

    >QUERY family=FRAME start=S end=E score=BITS evalue=E len=N record=K/T format=2 frames=family-frames/V [ss=...]
    mkvLSSEA--KVLGA...Rlkqe

The sequence is the whole query in A2M: upper case at the frame's match columns, lower case for insertions and the
flanks outside the domain, '-' where a frame column has no residue. So the frame row (upper case and '-') and the raw
query (every letter, upper-cased) both come back from it, and SS/SA are predicted on the whole sequence exactly as
`classify-cnn predict` does. start/end are 1-based inclusive coordinates of the domain on the query. A query without
any candidate frame still has one record, `family=-`, its sequence all lower case. `predict-ss` adds the per-residue
SS (H/E/C) and SA (e/b) strings of the raw query and the SS model's name; any FASTA reader sees the raw query.

The contract (docs/formats.md) is checked record by record where the file is read: `len=` (the query's residues)
and `record=K/T` (records numbered through the stream) make a stream cut anywhere an error instead of a shorter
table; `format=` refuses a file of another protfam; the rows are counted against the frames that `frames=` names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from protfam_core.errors import InputError, ModelError
from protfam_core.io.alphabet import GAP, PROTEIN_LETTERS
from protfam_core.io.atomic import sha256_file
from protfam_core.io.fingerprints import looks_like_fingerprints
from protfam_core.io.seqio import MAX_RESIDUES, sniff_format

NO_FRAME = "-"
FORMAT = 2  # the placement format this protfam writes and reads (docs/formats.md)
_FIELDS = ("family", "start", "end", "score", "evalue")
_KNOWN = frozenset({*_FIELDS, "domain", "len", "record", "format", "frames", "ss", "sa", "ss_model"})
_SS, _SA = frozenset("HEC"), frozenset("eb")


@dataclass(frozen=True)
class Placement:
    """A query placed into one family frame: frame-width row, source index of each residue, and its HMM score."""

    query_id: str
    family: str
    row: str
    positions: np.ndarray
    score: float
    evalue: float
    domain: int = 0  # 0: a forced placement (one per frame); k >= 1: the k-th domain of a search hit, scored alone
    hit_evalue: float = math.nan  # the search hit's whole-sequence E-value (in memory only: calibration weighs it)

    @property
    def span(self) -> tuple[int, int]:
        """1-based inclusive coordinates of the placed domain on the query."""
        placed = self.positions[self.positions >= 0]
        return (int(placed.min()) + 1, int(placed.max()) + 1) if placed.size else (0, 0)

    @property
    def columns(self) -> tuple[int, int]:
        """1-based inclusive frame columns the placed domain fills, first to last (a HMMER table's hmm from, to)."""
        filled = np.flatnonzero(self.positions >= 0)
        return (int(filled[0]) + 1, int(filled[-1]) + 1) if filled.size else (0, 0)


@dataclass(frozen=True)
class Query:
    """One query of a stage stream: its raw sequence, its candidate placements (best first) and, once predicted,
    its per-residue SS/SA and the model that predicted them."""

    id: str
    sequence: str
    candidates: tuple[Placement, ...] = ()
    ss: str | None = None
    sa: str | None = None
    ss_model: str | None = None
    frames: str | None = None

    def with_ss(self, ss: str, sa: str, model: str) -> Query:
        return replace(self, ss=ss, sa=sa, ss_model=model)


def to_a2m(sequence: str, positions: np.ndarray) -> str:
    """The whole query as A2M over a frame: match residues upper case, '-' for a frame column without a residue,
    insertions lower case right after the match residue they follow (HMMER's insert states), the N- and C-terminal
    flanks lower case before the first and after the last column."""
    pos = np.asarray(positions).tolist()
    placed = [p for p in pos if p >= 0]
    if not placed:
        return sequence.lower() + GAP * len(pos)
    following = dict(zip(placed, placed[1:], strict=False))
    out = [sequence[: placed[0]].lower()]
    for p in pos:
        if p < 0:
            out.append(GAP)
            continue
        out.append(sequence[p].upper())
        if p in following:
            out.append(sequence[p + 1 : following[p]].lower())
    out.append(sequence[placed[-1] + 1 :].lower())
    return "".join(out)


def from_a2m(a2m: str) -> tuple[str, str, np.ndarray]:
    """(raw query, frame row, source index per frame column) of an A2M placement row."""
    raw: list[str] = []
    row: list[str] = []
    positions: list[int] = []
    for c in a2m:
        if c == GAP:
            row.append(GAP)
            positions.append(-1)
        elif not c.isascii() or c.upper() not in PROTEIN_LETTERS:
            raise InputError(f"placement row has a character {c!r} that is not A2M")
        elif c.isupper():
            row.append(c)
            positions.append(len(raw))
            raw.append(c)
        else:
            raw.append(c.upper())
    return "".join(raw), "".join(row), np.asarray(positions, dtype=np.int32)


def _number(x: float) -> str:
    return "NA" if math.isnan(x) else repr(float(x))


def format_queries(queries: Iterable[Query]) -> str:
    """The placement file of a stage stream (see the module docstring and docs/formats.md)."""
    records: list[tuple[str, str, str]] = []  # (head, tail, sequence line) of each record
    for q in queries:
        if q.frames is None:
            raise ModelError(f"query {q.id!r} was placed in frames without a name; placements record their frames")
        tail = f" format={FORMAT} frames={q.frames}"
        if q.ss is not None:
            tail += f" ss={q.ss} sa={q.sa} ss_model={q.ss_model}"
        if not q.candidates:
            records.append((f">{q.id} family={NO_FRAME} len={len(q.sequence)}", tail, q.sequence.lower()))
        for p in q.candidates:
            start, end = p.span
            head = f">{q.id} family={p.family} start={start} end={end} score={_number(p.score)}"
            domain = f" domain={p.domain}" if p.domain else ""
            head += f" evalue={_number(p.evalue)}{domain} len={len(q.sequence)}"
            records.append((head, tail, to_a2m(q.sequence, p.positions)))
    total = len(records)
    lines = [f"{head} record={k}/{total}{tail}\n{a2m}\n" for k, (head, tail, a2m) in enumerate(records, 1)]
    return "".join(lines)


def is_placement_text(text: str) -> bool:
    """Whether a stream is a placement file: its first header is `>ID family=...` followed by key=value fields only,
    with the coordinates and scores a placement has (a FASTA description that merely starts with family= is not)."""
    for line in text.splitlines():
        if line.strip():
            words = line.split()
            if not line.startswith(">") or len(words) < 2 or not words[1].startswith("family="):
                return False
            fields = dict(w.partition("=")[::2] for w in words[1:] if "=" in w)
            if len(fields) != len(words) - 1:
                return False
            return fields["family"] == NO_FRAME or all(k in fields for k in _FIELDS)
    return False


def _fields(name: str, lineno: int, header: str) -> tuple[str, dict[str, str]]:
    words = header[1:].split()
    if not words or "=" in words[0]:
        raise InputError(f"{name}, line {lineno}: a placement header needs a query id first")
    fields = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or not value:
            raise InputError(f"{name}, line {lineno}: {word!r} is not a key=value field of a placement header")
        if key not in _KNOWN:
            raise InputError(f"{name}, line {lineno}: {key}= is not a field of a placement header")
        if key in fields:
            raise InputError(f"{name}, line {lineno}: the header gives {key}= twice")
        fields[key] = value
    if "family" not in fields:
        raise InputError(f"{name}, line {lineno}: not a placement header (no family=...); use prep-msa place")
    version = fields.get("format")
    if version != str(FORMAT):
        age = "an older" if version is None or not version.isdigit() or int(version) < FORMAT else "a newer"
        raise InputError(
            f"{name}, line {lineno}: placements of format {version or 1} (from {age} protfam); this protfam reads "
            f"format {FORMAT}: place the sequences again with this prep-msa"
        )
    required = [*(_FIELDS if fields["family"] != NO_FRAME else ()), "len", "record", "frames"]
    missing = [k for k in required if k not in fields]
    if missing:
        raise InputError(f"{name}, line {lineno}: placement header lacks {', '.join(missing)}")
    return words[0], fields


def _float(name: str, lineno: int, key: str, value: str) -> float:
    """A finite number; 'NA' (unknown) only where the writer writes it, never 'nan' or 'inf'."""
    try:
        x = float("nan") if value == "NA" else float(value)
    except ValueError:
        raise InputError(f"{name}, line {lineno}: {key}={value!r} is not a number") from None
    if value != "NA" and not math.isfinite(x):
        raise InputError(f"{name}, line {lineno}: {key}={value!r} is not a finite number")
    return x


def _whole(name: str, lineno: int, key: str, value: str) -> int:
    if not value.isdigit():
        raise InputError(f"{name}, line {lineno}: {key}={value!r} is not a whole number")
    return int(value)


def _records(name: str, text: str) -> list[tuple[int, str, dict[str, str], str]]:
    """(line, query id, header fields, A2M) of each record, the stream checked to end with its last record."""
    records: list[tuple[int, str, dict[str, str], list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line.startswith(">"):
            records.append((lineno, *_fields(name, lineno, line), []))
        elif line:
            if not records:
                raise InputError(f"{name}, line {lineno}: not a placement file (no '>' header before the data)")
            records[-1][3].append(line)
    if not records:
        raise InputError(f"{name}: input is empty" if not text.strip() else f"{name}: no placement records found")
    expected, total = 1, None
    for lineno, _, fields, _ in records:
        k, _, t = fields["record"].partition("/")
        if not (k.isdigit() and t.isdigit()) or not 0 < int(k) <= int(t):
            raise InputError(f"{name}, line {lineno}: record={fields['record']!r} is not K/TOTAL")
        if expected == 1 and int(k) == 1:
            total = int(t)  # a stream may be several placement files one after the other
        if (int(k), int(t)) != (expected, total):
            raise InputError(
                f"{name}, line {lineno}: record {fields['record']} where record {expected}/{total} belongs: "
                "records are missing, repeated or out of order"
            )
        expected = 1 if expected == total else expected + 1
    if expected != 1:
        raise InputError(f"{name}: the placements end after record {expected - 1} of {total}: the stream is cut short")
    return [(lineno, qid, fields, "".join(parts)) for lineno, qid, fields, parts in records]


def _check_record(name: str, lineno: int, qid: str, fields: dict[str, str], sequence: str, row: str, span) -> None:
    """One record against its header: length, coordinates, E-value, SS/SA."""
    where = f"{name}, line {lineno}"
    if not sequence:
        raise InputError(f"{where}: query {qid!r} has no residues")
    length = _whole(name, lineno, "len", fields["len"])
    if length != len(sequence):
        raise InputError(
            f"{where}: query {qid!r} has {len(sequence)} residues, its header len={length}: the record is cut or edited"
        )
    if length > MAX_RESIDUES:
        raise InputError(f"{where}: query {qid!r} has {length} residues, more than {MAX_RESIDUES:,} (pyhmmer's limit)")
    for key, alphabet in (("ss", _SS), ("sa", _SA)):
        value = fields.get(key)
        if value is None:
            continue
        if len(value) != length:
            raise InputError(f"{where}: {key.upper()} of {qid!r} has {len(value)} letters, the query {length}")
        bad = next((c for c in value if c not in alphabet), None)
        if bad is not None:
            raise InputError(f"{where}: {key}= of {qid!r} has {bad!r}, not one of {''.join(sorted(alphabet))}")
    if ("ss" in fields) != ("sa" in fields) or ("ss" in fields) != ("ss_model" in fields):
        raise InputError(f"{where}: give ss=, sa= and ss_model= together or none of them")
    if fields["family"] == NO_FRAME:
        return
    start, end = (_whole(name, lineno, k, fields[k]) for k in ("start", "end"))
    if (start, end) != span or (span != (0, 0) and not 1 <= start <= end <= length):
        shown = "no match residue" if span == (0, 0) else f"residues {span[0]}..{span[1]}"
        raise InputError(f"{where}: start={start} end={end}, but the row of {qid!r} places {shown}")
    evalue = _float(name, lineno, "evalue", fields["evalue"])
    if evalue < 0:
        raise InputError(f"{where}: evalue={fields['evalue']} is negative")
    if math.isnan(_float(name, lineno, "score", fields["score"])):
        raise InputError(f"{where}: score=NA: a placement has a score")


def parse_queries(name: str, text: str) -> list[Query]:
    """The queries of a placement file, in file order, every record checked against its header; InputError (file
    and line) for anything malformed. The rows are counted against the frames by `check_frames`."""
    queries: list[Query] = []
    seen: set[str] = set()
    frameless: set[str] = set()  # queries with their one family=- record
    frames_ref = None
    for lineno, qid, fields, a2m in _records(name, text):
        try:
            sequence, row, positions = from_a2m(a2m)
        except InputError as exc:
            raise InputError(f"{name}, line {lineno + 1}: {exc}") from None
        span = Placement(qid, "", row, positions, 0.0, 0.0).span
        _check_record(name, lineno, qid, fields, sequence, row, span)
        if frames_ref is not None and fields["frames"] != frames_ref:
            raise InputError(f"{name}, line {lineno}: frames={fields['frames']}, the records before it {frames_ref}")
        frames_ref = fields["frames"]
        ss, sa = fields.get("ss"), fields.get("sa")
        current = queries[-1] if queries and queries[-1].id == qid else None
        if current is None:
            if qid in seen:
                raise InputError(f"{name}, line {lineno}: the records of query {qid!r} are not next to each other")
            seen.add(qid)
            current = Query(qid, sequence, (), ss, sa, fields.get("ss_model"), frames_ref)
            queries.append(current)
        elif current.sequence != sequence or (current.ss, current.sa, current.ss_model) != (
            ss, sa, fields.get("ss_model")
        ):  # fmt: skip
            raise InputError(f"{name}, line {lineno}: two records of query {qid!r} disagree on its sequence or SS/SA")
        if fields["family"] == NO_FRAME or qid in frameless:
            if current.candidates or row or qid in frameless:
                raise InputError(f"{name}, line {lineno}: query {qid!r} has a family=- record beside placements")
            frameless.add(qid)
            continue
        score = _float(name, lineno, "score", fields["score"])
        evalue = _float(name, lineno, "evalue", fields["evalue"])
        domain = _whole(name, lineno, "domain", fields.get("domain", "0"))
        placement = Placement(qid, fields["family"], row, positions, score, evalue, domain)
        queries[-1] = replace(current, candidates=(*current.candidates, placement))
    return queries


def check_frames(name: str, queries: Sequence[Query], widths: Mapping[str, int], ref: str | None = None) -> None:
    """Every placement sits in a frame of `widths` with exactly that frame's match columns; with `ref`, the file's
    frames must be that frames version (the one a model chain pins), as the VAE version of fingerprints is."""
    for q in queries:
        if ref is not None and not same_frames(q.frames or "", ref):
            raise ModelError(
                f"{name}: the placements were made in frames {q.frames}, this chain uses {ref}: place the "
                f"sequences again (prep-msa place --frames {ref})"
            )
        for p in q.candidates:
            if p.family not in widths:
                raise InputError(f"{name}: query {q.id!r} is placed in frame {p.family!r}, which {q.frames} lacks")
            if len(p.row) != widths[p.family]:
                raise InputError(
                    f"{name}: query {q.id!r} has {len(p.row)} match columns in frame {p.family!r}, which has "
                    f"{widths[p.family]}: the row is cut or edited"
                )


def _frames_file(ref: str) -> Path:
    """The HMM file of a frames reference as placements record it (`frames=`): a frames.hmm file, a dataset folder
    or a registry model (verified)."""
    from protfam_core.registry.bundles import resolve

    path = Path(ref)
    if path.exists():
        return path / "frames.hmm" if path.is_dir() else path
    return resolve(ref, "frames").file("hmm")


@cache
def frame_widths(ref: str) -> dict[str, int]:
    """Match columns of each frame of a frames reference."""
    from protfam_core.frames.frameset import FrameSet

    return FrameSet.load(_frames_file(ref)).widths


@cache
def _frames_sha256(ref: str) -> str:
    return sha256_file(_frames_file(ref))


def same_frames(a: str, b: str) -> bool:
    """Whether two frames references name the same frames: one name, or HMM files of the same bytes (the shipped
    frames given as a path are the shipped frames)."""
    if a == b:
        return True
    try:
        return _frames_sha256(a) == _frames_sha256(b)
    except (ModelError, OSError):
        return False


def parse_placements(name: str, text: str, frames: tuple[str, Mapping[str, int]] | None = None) -> list[Query]:
    """The one reader of placements for the tools: `parse_queries`, then every row counted against the frames the
    file names, or against `frames` (ref, widths), the frames a model chain pins, whose version the file must have."""
    queries = parse_queries(name, text)
    ref = queries[0].frames or ""
    if frames is not None:
        check_frames(name, queries, frames[1], frames[0])
        return queries
    try:
        widths = frame_widths(ref)
    except ModelError as exc:
        raise ModelError(f"{name}: the frames {ref} of the placements cannot be loaded ({exc})") from None
    check_frames(name, queries, widths)
    return queries


def stage_of(text: str) -> str:
    """What a stage tool was given, from its content: "placements" (prep-msa place, maybe with SS/SA), "sequences"
    (FASTA and the other sequence formats) or "fingerprints" (encode-vae's TSV, the authors' files)."""
    if is_placement_text(text):
        return "placements"
    if not text.strip():
        return "sequences"  # let the sequence reader say the input is empty
    if sniff_format(text) is not None or not looks_like_fingerprints(text):
        return "sequences"
    return "fingerprints"
