"""Placement files: the interchange of `prep-msa place`, `predict-ss` and `encode-vae`, as A2M with structured headers.

One record per candidate placement of a query, in input order, the query's candidates best first:

    >QUERY family=FRAME start=S end=E score=BITS evalue=E frames=family-frames/V [ss=... sa=... ss_model=...]
    mkvLSSEA--KVLGA...Rlkqe

The sequence is the whole query in A2M: upper case at the frame's match columns, lower case for insertions and the
flanks outside the domain, '-' where a frame column has no residue. So the frame row (upper case and '-') and the raw
query (every letter, upper-cased) both come back from it, and SS/SA are predicted on the whole sequence exactly as
`classify-cnn predict` does. start/end are 1-based inclusive coordinates of the domain on the query. A query without
any candidate frame still has one record, `family=-`, its sequence all lower case. `predict-ss` adds the per-residue
SS (H/E/C) and SA (e/b) strings of the raw query and the SS model's name; any FASTA reader sees the raw query.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import numpy as np

from protfam_core.errors import InputError
from protfam_core.io.alphabet import GAP
from protfam_core.io.fingerprints import looks_like_fingerprints
from protfam_core.io.seqio import read_text, sniff_format

NO_FRAME = "-"
_FIELDS = ("family", "start", "end", "score", "evalue")


@dataclass(frozen=True)
class Placement:
    """A query placed into one family frame: frame-width row, source index of each residue, and its HMM score."""

    query_id: str
    family: str
    row: str
    positions: np.ndarray
    score: float
    evalue: float
    domain: int = 0  # 0: the hit's best domain, scored as the hit; k >= 1: its k-th domain, scored alone

    @property
    def span(self) -> tuple[int, int]:
        """1-based inclusive coordinates of the placed domain on the query."""
        placed = self.positions[self.positions >= 0]
        return (int(placed.min()) + 1, int(placed.max()) + 1) if placed.size else (0, 0)


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
        elif c.isupper():
            row.append(c)
            positions.append(len(raw))
            raw.append(c)
        elif c.islower():
            raw.append(c.upper())
        elif c != ".":
            raise InputError(f"placement row has a character {c!r} that is not A2M")
    return "".join(raw), "".join(row), np.asarray(positions, dtype=np.int32)


def _number(x: float) -> str:
    return "NA" if math.isnan(x) else repr(float(x))


def format_queries(queries: Iterable[Query]) -> str:
    """The placement file of a stage stream (see the module docstring)."""
    lines = []
    for q in queries:
        extra = ""
        if q.frames:
            extra += f" frames={q.frames}"
        if q.ss is not None:
            extra += f" ss={q.ss} sa={q.sa} ss_model={q.ss_model}"
        if not q.candidates:
            lines += [f">{q.id} family={NO_FRAME}{extra}", q.sequence.lower()]
        for p in q.candidates:
            start, end = p.span
            head = f">{q.id} family={p.family} start={start} end={end} score={_number(p.score)}"
            domain = f" domain={p.domain}" if p.domain else ""
            lines += [f"{head} evalue={_number(p.evalue)}{domain}{extra}", to_a2m(q.sequence, p.positions)]
    return "\n".join(lines) + "\n" if lines else ""


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
        fields[key] = value
    if "family" not in fields:
        raise InputError(f"{name}, line {lineno}: not a placement header (no family=...); use prep-msa place")
    if fields["family"] != NO_FRAME:
        missing = [k for k in _FIELDS if k not in fields]
        if missing:
            raise InputError(f"{name}, line {lineno}: placement header lacks {', '.join(missing)}")
    return words[0], fields


def _float(name: str, lineno: int, key: str, value: str) -> float:
    try:
        return float("nan") if value == "NA" else float(value)
    except ValueError:
        raise InputError(f"{name}, line {lineno}: {key}={value!r} is not a number") from None


def parse_queries(name: str, text: str) -> list[Query]:
    """The queries of a placement file, in file order; InputError (file and line) for anything malformed."""
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
    queries: list[Query] = []
    seen: set[str] = set()
    for lineno, qid, fields, parts in records:
        sequence, row, positions = from_a2m("".join(parts))
        if not sequence:
            raise InputError(f"{name}, line {lineno}: query {qid!r} has no residues")
        ss, sa = fields.get("ss"), fields.get("sa")
        if (ss is None) != (sa is None):
            raise InputError(f"{name}, line {lineno}: give both ss= and sa= or neither")
        for kind, value in (("SS", ss), ("SA", sa)):
            if value is not None and len(value) != len(sequence):
                raise InputError(
                    f"{name}, line {lineno}: {kind} of {qid!r} has {len(value)} letters, the query {len(sequence)}"
                )
        current = queries[-1] if queries and queries[-1].id == qid else None
        if current is None:
            if qid in seen:
                raise InputError(f"{name}, line {lineno}: the records of query {qid!r} are not next to each other")
            seen.add(qid)
            current = Query(qid, sequence, (), ss, sa, fields.get("ss_model"), fields.get("frames"))
            queries.append(current)
        elif current.sequence != sequence or (current.ss, current.sa) != (ss, sa):
            raise InputError(f"{name}, line {lineno}: two records of query {qid!r} disagree on its sequence or SS/SA")
        if fields["family"] == NO_FRAME:
            if current.candidates or row:
                raise InputError(f"{name}, line {lineno}: query {qid!r} has a family=- record beside placements")
            continue
        score = _float(name, lineno, "score", fields["score"])
        evalue = _float(name, lineno, "evalue", fields["evalue"])
        domain = fields.get("domain", "0")
        if not domain.isdigit():
            raise InputError(f"{name}, line {lineno}: domain={domain!r} is not a domain number")
        placement = Placement(qid, fields["family"], row, positions, score, evalue, int(domain))
        queries[-1] = replace(current, candidates=(*current.candidates, placement))
    return queries


def read_queries(source: str | Path, stdin: IO | None = None) -> list[Query]:
    """A placement file from a path or '-' (gzip accepted)."""
    return parse_queries(*read_text(source, stdin))


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
