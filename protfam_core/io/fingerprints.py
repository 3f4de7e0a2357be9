"""Fingerprint files: the authors' one-float-per-line text files, TSV (id + floats), NumPy .npy (+ .ids).

Fingerprints travel between tools (encode-vae writes them, fingerprint-search and classify-cnn read them) and to and
from the authors' compbiolab-CLI, whose files hold exactly 30 floats, one per line. Every reader checks the count,
the numbers and finiteness and names the file and line of the first problem, so a bad file never reaches a metric.

encode-vae's TSVs are a versioned contract (docs/formats.md): a first comment line `# protfam-fingerprints 2; model
M[; frames F]; ...` and a last line `# end: N rows`, so a file of another protfam, or a stream cut anywhere, is refused
instead of read as a shorter table.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from protfam_core.errors import InputError, ModelError
from protfam_core.io.alphabet import CHANNEL_ORDER
from protfam_core.io.atomic import atomic_dir, atomic_paths, write_text
from protfam_core.io.seqio import read_text

LATENT_DIM = 30  # the paper's fingerprint size, and the authors' file format
HEADER_FIRST_FIELDS = frozenset({"id", "seq_id", "query_id", "family", "name"})


FRAMED_HEADER = ("query_id", "frame", "domain", "start", "end", "evalue", "bits", "length", "hmm_from", "hmm_to")
NO_FRAME = "-"
NPY_WIDTHS = (LATENT_DIM, len(CHANNEL_ORDER) * LATENT_DIM)  # one channel (the authors' files) or aa, ss, sa
FORMAT = 2  # the fingerprint TSV format encode-vae writes and every reader checks (docs/formats.md)
_VERSION_LINE = "# protfam-fingerprints "


@dataclass(frozen=True)
class Fingerprints:
    """Named fingerprints: ids[i] is the name of row i of `vectors` (n, dim) float64; `model` made them, if known.

    Fingerprints of placed queries (`encode-vae encode` on a placement file) also carry the frame each row was placed
    in, that placement's E-value and bit score (`scores`, Placement.score), `spans`: (domain number, start, end)
    on the query (domain 0: a hit's best domain; see Placement.domain), `lengths` (the query's length, 0 where
    unknown) and `hmm_spans`: the first and last frame column the placement fills (0 0 where unknown); a query
    without any candidate frame has one row with frame None and NaN values, so that every query of the input still
    comes out of the next stage.
    """

    ids: list[str]
    vectors: np.ndarray
    model: str | None = None
    frames: tuple[str | None, ...] | None = None
    evalues: np.ndarray | None = None
    spans: np.ndarray | None = None
    frames_ref: str | None = None  # the frames version the placements were made in (framed fingerprints)
    scores: np.ndarray | None = None  # the placements' bit scores (framed fingerprints; NaN where not given)
    lengths: np.ndarray | None = None  # the queries' lengths (framed fingerprints; 0 where not given)
    hmm_spans: np.ndarray | None = None  # (n, 2) frame columns from, to (framed fingerprints; 0 0 where not given)

    def __post_init__(self) -> None:
        if self.frames is not None and self.scores is None:
            object.__setattr__(self, "scores", np.full(len(self.frames), np.nan))
        if self.frames is not None and self.lengths is None:
            object.__setattr__(self, "lengths", np.zeros(len(self.frames), np.int64))
        if self.frames is not None and self.hmm_spans is None:
            object.__setattr__(self, "hmm_spans", np.zeros((len(self.frames), 2), np.int64))

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.ids)

    def placed(self) -> Fingerprints:
        """Only the rows that are a fingerprint (framed rows without a frame have none)."""
        if self.frames is None:
            return self
        keep = [i for i, f in enumerate(self.frames) if f is not None]
        return Fingerprints(
            [self.ids[i] for i in keep],
            self.vectors[keep],
            self.model,
            tuple(self.frames[i] for i in keep),
            self.evalues[keep],
            self.spans[keep],
            self.frames_ref,
            self.scores[keep],
            self.lengths[keep],
            self.hmm_spans[keep],
        )


def check_model(made_by: str | None, expected: str | None, reader: str, remedy: str) -> None:
    """Fingerprints compare only within one model: refuse those `made_by` another model than the `expected` one of
    their `reader` (the CNN, an index); where either is unknown there is nothing to check."""
    if made_by and expected and made_by != expected:
        raise ModelError(f"the fingerprints were made by {made_by}, {reader} {expected}: {remedy}")


def concat(parts: Sequence[Fingerprints]) -> Fingerprints:
    """One set from several (e.g. several query files); dimensions must agree."""
    if not parts:
        raise InputError("no fingerprints given")
    dims = {p.dim for p in parts}
    if len(dims) != 1:
        raise InputError(f"fingerprints of different dimensions given together: {sorted(dims)}")
    models = {p.model for p in parts}
    model = models.pop() if len(models) == 1 else None
    ids, vectors = [i for p in parts for i in p.ids], np.concatenate([p.vectors for p in parts])
    framed = {p.frames is not None for p in parts}
    if framed == {True}:
        frames = tuple(f for p in parts for f in p.frames)
        evalues, spans = np.concatenate([p.evalues for p in parts]), np.concatenate([p.spans for p in parts])
        refs = {p.frames_ref for p in parts}
        if len(refs) != 1:
            raise InputError(f"fingerprints of placements in different frames given together: {sorted(map(str, refs))}")
        scores, lengths = np.concatenate([p.scores for p in parts]), np.concatenate([p.lengths for p in parts])
        hmm_spans = np.concatenate([p.hmm_spans for p in parts])
        return Fingerprints(ids, vectors, model, frames, evalues, spans, refs.pop(), scores, lengths, hmm_spans)
    if len(framed) > 1:
        raise InputError("fingerprints of placed queries (with a frame column) and plain ones given together")
    return Fingerprints(ids, vectors, model)


def check_vectors(name: str, vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    """float64 (n, d) with finite values and the expected dimension, else InputError naming `name`."""
    if vectors.ndim != 2 or vectors.shape[0] == 0:
        raise InputError(f"{name}: expected a non-empty (n, {dim or 'dim'}) array of fingerprints")
    if dim is not None and vectors.shape[1] != dim:
        raise InputError(f"{name}: fingerprints have {vectors.shape[1]} values, expected {dim}")
    bad = ~np.isfinite(vectors)
    if bad.any():
        row, col = (int(x) for x in np.argwhere(bad)[0])
        raise InputError(f"{name}: fingerprint {row + 1} has a non-finite value ({vectors[row, col]}) at {col + 1}")
    return np.ascontiguousarray(vectors, dtype=np.float64)


def _float(name: str, lineno: int, token: str) -> float:
    try:
        return float(token)
    except ValueError:
        shown = token if len(token) <= 40 else token[:37] + "..."
        raise InputError(f"{name}: line {lineno}: {shown!r} is not a number") from None


def _model_comment(text: str) -> str | None:
    """The model id of `fingerprint-search list`'s '# model: ...' comment, if any."""
    for line in text.split("\n"):
        if line.startswith("# model:"):
            model = line[len("# model:") :].split(";")[0].strip()
            return None if model in ("", "null") else model
        if line.strip() and not line.startswith("#"):
            return None
    return None


def _contract(name: str, text: str) -> dict[str, str] | None:
    """The fields of encode-vae's version line (`# protfam-fingerprints 2; model M; frames F; ...`), checked: the
    format this protfam reads, and the `# end: N rows` line that closes a whole file. None for a file without one
    (the authors' files, `format_tsv`, other tools' tables)."""
    head = text[: text.find("\n")] if "\n" in text else text
    if head.startswith("# model "):  # encode-vae before the format was versioned
        raise InputError(
            f"{name}: fingerprints of format 1 (from an older protfam); this protfam reads format {FORMAT}: "
            "encode them again with this encode-vae"
        )
    if not head.startswith(_VERSION_LINE):
        return None
    version, *parts = head[len(_VERSION_LINE) :].split(";")
    if version.strip() != str(FORMAT):
        shown = version.strip()
        age = "a newer" if shown.isdigit() and int(shown) > FORMAT else "another"
        raise InputError(
            f"{name}: fingerprints of format {shown} (from {age} protfam); this protfam reads format {FORMAT}"
        )
    fields = dict(p.strip().partition(" ")[::2] for p in parts)
    rows = sum(1 for _ in _data_lines(text)) - 1  # less the column header
    tail = text.rstrip("\n").rpartition("\n")[2]
    if not tail.startswith("# end: "):
        raise InputError(f"{name}: the fingerprints end without their '# end: N rows' line: the stream is cut short")
    if tail != f"# end: {rows} rows":
        raise InputError(f"{name}: {rows} fingerprint rows, its last line says {tail[2:]!r}: rows are missing or added")
    return fields


def looks_like_fingerprints(text: str) -> bool:
    """Whether the data lines start like a fingerprint file (fields ending in a float, maybe after a header): what
    else reaches a stage tool (a UniProt flat file, a GenBank record) goes to the sequence reader, whose error names
    the formats it reads, instead of failing on its second line as a malformed fingerprint."""
    lines = _data_lines(text)
    fields = next(lines, (0, [""]))[1]
    if fields[0].strip().lower() in HEADER_FIRST_FIELDS:
        fields = next(lines, (0, ["0"]))[1]  # a header alone is a fingerprint file without rows
    if fields[-1].strip() == "NA":  # a framed file's row for a query without a frame
        return True
    try:
        float(fields[-1])
    except ValueError:
        return False
    return True


def _data_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each data line, made one at a time: 50,000 rows split at once hold 4.5M strings."""
    for lineno, line in enumerate(text.split("\n"), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield lineno, line.split("\t") if "\t" in line else line.split()


def _floats(name: str, lineno: int, tokens: Sequence[str]) -> np.ndarray:
    """One row of floats as an array (never a list of Python floats); a bad token is named."""
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        return np.array([_float(name, lineno, t) for t in tokens], dtype=np.float64)


def parse_fingerprints(name: str, text: str, dim: int | None = None) -> Fingerprints:
    """Parse the authors' format (one float per line = one fingerprint named after the file) or TSV (id, floats).

    A TSV may start with a header whose first field is id/seq_id/query_id/family/name; '#' lines are comments.
    """
    contract = _contract(name, text)
    lines = _data_lines(text)
    first = next(lines, None)
    if first is None:
        raise InputError(f"{name}: no fingerprints found (empty file)")
    if len(first[1]) == 1:
        rows = [first, *lines]  # the authors' files are 30 lines
        if all(len(fields) == 1 for _, fields in rows):
            values = np.array([[_float(name, ln, f[0].strip()) for ln, f in rows]])
            want = dim or LATENT_DIM
            if values.shape[1] != want:
                raise InputError(f"{name}: {values.shape[1]} numbers, expected {want} (one float per line)")
            return Fingerprints([_stem(name)], check_vectors(name, values, want))
        lines = iter(rows)
    else:
        lines = itertools.chain([first], lines)
    head = tuple(f.strip() for f in first[1][: len(FRAMED_HEADER)])
    if head[:6] == FRAMED_HEADER[:6] and head != FRAMED_HEADER:
        raise InputError(f"{name}: framed fingerprints of a draft without bits, length, hmm_from, hmm_to: encode again")
    if head == FRAMED_HEADER:
        if contract is None:
            raise InputError(f"{name}: framed fingerprints without their '{_VERSION_LINE}{FORMAT}; ...' line")
        return _parse_framed(name, lines, dim, contract.get("model"), contract.get("frames"))
    if first[1][0].strip().lower() in HEADER_FIRST_FIELDS:
        next(lines)
    ids, vectors = [], []
    width = None
    for lineno, fields in lines:
        fields = [f.strip() for f in fields]
        if width is None:
            width = len(fields)
        if len(fields) != width or width < 2:
            raise InputError(f"{name}: line {lineno}: {len(fields)} fields, expected {width} (id + floats)")
        if not fields[0]:
            raise InputError(f"{name}: line {lineno}: empty id")
        ids.append(fields[0])
        vectors.append(_floats(name, lineno, fields[1:]))
    if not ids:
        raise InputError(f"{name}: no fingerprints found (header only)")
    _check_unique(name, ids)
    model = contract.get("model") if contract is not None else _model_comment(text)
    return Fingerprints(ids, check_vectors(name, np.stack(vectors), dim), model)


def _parse_framed(
    name: str, rows: Iterator[tuple[int, list[str]]], dim: int | None, model: str | None, frames_ref: str | None
) -> Fingerprints:
    """`query_id frame domain start end evalue bits length hmm_from hmm_to v1..vd` rows after their header; a query's
    rows are next to each other, a frame-less row is all NA; coordinates, E-values, bit scores and lengths as the
    placements' contract has them, frames (and frame columns) of the frames version the file names."""
    if not model or not frames_ref:
        raise InputError(f"{name}: framed fingerprints name their model and frames on their first line")
    known = _frame_widths(name, frames_ref)
    width = len(next(rows)[1])
    fixed = len(FRAMED_HEADER)
    ids, frames, evalues, bits, lengths, hmm_spans, vectors, spans = [], [], [], [], [], [], [], []
    seen: set[str] = set()
    for lineno, fields in rows:
        fields = [f.strip() for f in fields]
        if len(fields) != width:
            columns = ", ".join(FRAMED_HEADER)
            raise InputError(f"{name}: line {lineno}: {len(fields)} fields, expected {width} ({columns} + floats)")
        qid, frame = fields[0], fields[1]
        if not qid:
            raise InputError(f"{name}: line {lineno}: empty query id")
        repeat = bool(ids) and qid == ids[-1]
        if qid in seen and not repeat:
            raise InputError(f"{name}: line {lineno}: the rows of query {qid!r} are not next to each other")
        if repeat and (frame == NO_FRAME or frames[-1] is None):
            raise InputError(f"{name}: line {lineno}: query {qid!r} has a frame-less row beside fingerprints")
        if frame == NO_FRAME:
            if any(f != "NA" for f in fields[2:]):
                raise InputError(f"{name}: line {lineno}: a row without a frame has NA values only")
            frames.append(None)
            evalues.append(np.nan)
            bits.append(np.nan)
            lengths.append(0)
            hmm_spans.append((0, 0))
            spans.append((0, 0, 0))
            vectors.append(np.full(width - fixed, np.nan))
        else:
            if not all(f.isdigit() for f in fields[2:5]):
                raise InputError(f"{name}: line {lineno}: domain, start and end must be whole numbers")
            span = tuple(int(f) for f in fields[2:5])
            if span[1:] != (0, 0) and not 1 <= span[1] <= span[2]:
                raise InputError(f"{name}: line {lineno}: start {span[1]} and end {span[2]} are not a domain")
            if frame not in known:
                raise InputError(f"{name}: line {lineno}: frame {frame!r} is not one of the frames {frames_ref}")
            evalue = np.nan if fields[5] == "NA" else _float(name, lineno, fields[5])
            if not (np.isnan(evalue) and fields[5] == "NA") and not (np.isfinite(evalue) and evalue >= 0):
                raise InputError(f"{name}: line {lineno}: evalue {fields[5]!r} is not a finite E-value >= 0 (or NA)")
            score = np.nan if fields[6] == "NA" else _float(name, lineno, fields[6])
            if fields[6] != "NA" and not np.isfinite(score):
                raise InputError(f"{name}: line {lineno}: bits {fields[6]!r} is not a finite bit score (or NA)")
            if not fields[7].isdigit() or 0 < int(fields[7]) < span[2]:
                raise InputError(f"{name}: line {lineno}: length {fields[7]!r} is not a query length >= end (or 0)")
            columns = tuple(int(f) for f in fields[8:10] if f.isdigit())
            if len(columns) != 2 or (columns != (0, 0) and not 1 <= columns[0] <= columns[1] <= known[frame]):
                raise InputError(f"{name}: line {lineno}: hmm_from, hmm_to {fields[8:10]} are not columns of {frame}")
            frames.append(frame)
            lengths.append(int(fields[7]))
            hmm_spans.append(columns)
            spans.append(span)
            evalues.append(evalue)
            bits.append(score)
            vectors.append(_floats(name, lineno, fields[fixed:]))
        ids.append(qid)
        seen.add(qid)
    if not ids:
        raise InputError(f"{name}: no fingerprints found (header only)")
    arr = np.stack(vectors)
    placed = [i for i, f in enumerate(frames) if f is not None]
    if placed:
        check_vectors(name, arr[placed], dim)
    elif dim is not None and arr.shape[1] != dim:
        raise InputError(f"{name}: fingerprints have {arr.shape[1]} values, expected {dim}")
    evalues_, scores = np.array(evalues, dtype=np.float64), np.array(bits, dtype=np.float64)
    spans_, lengths_ = np.array(spans, dtype=np.int64), np.array(lengths, dtype=np.int64)
    hmm_ = np.array(hmm_spans, dtype=np.int64).reshape(len(ids), 2)
    return Fingerprints(ids, arr, model, tuple(frames), evalues_, spans_, frames_ref, scores, lengths_, hmm_)


def _frame_widths(name: str, frames_ref: str) -> dict[str, int]:
    """The frames of the frames version a framed file names, with their widths (through the placements' one frames
    loader)."""
    from protfam_core.io.placements import frame_widths

    try:
        return dict(frame_widths(frames_ref))
    except ModelError as exc:
        raise ModelError(f"{name}: the frames {frames_ref} of the fingerprints cannot be loaded ({exc})") from None


def _check_unique(name: str, ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))
        raise InputError(f"{name}: duplicate fingerprint id {dup!r}")


def _stem(name: str) -> str:
    base = Path(name).name
    for suffix in (".gz", ".txt", ".tsv", ".lat"):
        base = base.removesuffix(suffix)
    return base or name


def read_npy(path: str | Path, ids: Sequence[str] | None = None, dim: int | None = None) -> Fingerprints:
    """A .npy matrix (n, d) or (n, channels, d); ids from `ids`, else the <stem>.ids file beside it (as encode-vae
    writes), else <file stem>:<row number>."""
    name = str(path)
    beside = Path(path).with_suffix(".ids")
    if ids is None and beside.is_file():
        ids = read_ids(beside)
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"{name}: not a NumPy .npy file ({exc})") from None
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"{name}: holds {arr.dtype} values, not numbers")
    if arr.ndim == 3:  # encode-vae's (n, channels, 30) matrices: one fingerprint per row, channels side by side
        if arr.shape[1:] != (len(CHANNEL_ORDER), LATENT_DIM):
            raise InputError(f"{name}: an array of shape {arr.shape}, encode-vae's are (n, 3, {LATENT_DIM})")
        arr = arr.reshape(arr.shape[0], -1)
    if dim is None and arr.ndim == 2 and arr.shape[1] not in NPY_WIDTHS:
        raise InputError(
            f"{name}: fingerprints of {arr.shape[1]} values; a .npy holds {LATENT_DIM} (one channel, the authors' "
            f"size) or {NPY_WIDTHS[1]} (aa, ss, sa) per row"
        )
    vectors = check_vectors(name, arr.astype(np.float64), dim)
    stem = Path(name).stem
    names = list(ids) if ids is not None else [f"{stem}:{i + 1}" for i in range(len(vectors))]
    if len(names) != len(vectors):
        raise InputError(f"{name}: {len(vectors)} fingerprints but {len(names)} ids")
    _check_unique(name, names)
    return Fingerprints(names, vectors)


def read_ids(path: str | Path) -> list[str]:
    """One id per line (the companion of a .npy file)."""
    _, text = read_text(path)
    ids = [line.strip() for line in text.split("\n") if line.strip()]
    if not ids:
        raise InputError(f"{path}: no ids found")
    return ids


def read_fingerprints(
    source: str | Path | IO, dim: int | None = None, *, stdin: IO | None = None, ids: Sequence[str] | None = None
) -> Fingerprints:
    """Fingerprints from a path ('.npy' or text), '-' (stdin) or a stream; a directory reads all its .txt files."""
    if isinstance(source, str | Path) and str(source) != "-":
        path = Path(source)
        if path.is_dir():
            return read_directory(path, dim)
        if path.suffix == ".npy":
            return read_npy(path, ids, dim)
    name, text = read_text(source, stdin)
    if name == "<stdin>" or str(source) == "-":
        name = "stdin"
    return parse_fingerprints(name, text, dim)


def read_directory(path: str | Path, dim: int | None = None) -> Fingerprints:
    """Every *.txt file of a folder in the authors' format (their Latent_spaces/ layout), named by file stem."""
    path = Path(path)
    files = sorted(path.glob("*.txt"))
    if not files:
        raise InputError(f"{path}: no fingerprint files (*.txt) in this folder")
    parts = []
    for f in files:
        fp = parse_fingerprints(str(f), read_text(f)[1], dim)
        if len(fp) != 1:
            raise InputError(f"{f}: a folder holds one fingerprint per file (30 floats, one per line)")
        parts.append(fp)
    return concat(parts)


def format_tsv(fps: Fingerprints) -> str:
    """TSV with a header; floats printed with repr so they read back bit-identical."""
    head = "id\t" + "\t".join(f"z{i + 1}" for i in range(fps.dim))
    lines = [head] + [
        f"{i}\t" + "\t".join(repr(float(x)) for x in row) for i, row in zip(fps.ids, fps.vectors, strict=True)
    ]
    return "\n".join(lines) + "\n"


def format_authors(vector: np.ndarray) -> str:
    """One fingerprint in the authors' file format (numpy.savetxt default %.18e, one float per line)."""
    buf = io.StringIO()
    np.savetxt(buf, np.asarray(vector, dtype=np.float64).reshape(-1))
    return buf.getvalue()


def tsv_text(ids: Sequence[str], z: np.ndarray, model_id: str) -> str:
    """'# model' comment, header `id aa1.. ss1.. sa1..`, one line per fingerprint (repr floats: exact round trip)."""
    n_ch, dim = z.shape[1], z.shape[2]
    head = ["id"] + [f"{ch}{i + 1}" for ch in CHANNEL_ORDER[:n_ch] for i in range(dim)]
    lines = [
        f"{_VERSION_LINE}{FORMAT}; model {model_id}; columns: channel aa, ss, sa x z_mean 1..{dim}",
        "\t".join(head),
    ]
    for fid, row in zip(ids, z.reshape(len(z), -1), strict=True):
        lines.append(fid + "\t" + "\t".join(repr(float(x)) for x in row))
    return "\n".join([*lines, f"# end: {len(ids)} rows"]) + "\n"


def framed_tsv_text(fps: Fingerprints) -> str:
    """encode-vae's fingerprints of placed queries: '# model' comment, header `query_id frame domain start end evalue
    bits length hmm_from hmm_to aa1.. sa30`, one row per candidate placement (a query without any: frame '-' and NA),
    floats as repr (exact round trip)."""
    dim = fps.dim // len(CHANNEL_ORDER)
    head = [*FRAMED_HEADER] + [f"{ch}{i + 1}" for ch in CHANNEL_ORDER for i in range(dim)]
    lines = [
        f"{_VERSION_LINE}{FORMAT}; model {fps.model}; frames {fps.frames_ref}; columns: query_id, frame, domain, "
        f"start, end, evalue, bits of the placement, query length, frame columns from, to, channel aa, ss, sa x "
        f"z_mean 1..{dim}",
        "\t".join(head),
    ]
    missing = "\t".join(["NA"] * (len(FRAMED_HEADER) - 2 + fps.dim))
    columns = fps.evalues, fps.scores, fps.lengths, fps.hmm_spans.tolist(), fps.vectors
    for qid, frame, (domain, start, end), evalue, bits, length, (hmm_from, hmm_to), row in zip(
        fps.ids, fps.frames, fps.spans.tolist(), *columns, strict=True
    ):
        if frame is None:
            lines.append(f"{qid}\t{NO_FRAME}\t{missing}")
            continue
        shown = "\t".join("NA" if np.isnan(x) else repr(float(x)) for x in (evalue, bits))
        floats = "\t".join(repr(float(x)) for x in row)
        lines.append(f"{qid}\t{frame}\t{domain}\t{start}\t{end}\t{shown}\t{length}\t{hmm_from}\t{hmm_to}\t{floats}")
    return "\n".join([*lines, f"# end: {len(fps)} rows"]) + "\n"


def safe_name(fid: str) -> str:
    """A file name for an id: '/' (Pfam ranges) and other path-hostile characters become '_'."""
    name = "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in fid)
    return "_" if name in ("", ".", "..") else name


def write_fingerprints(
    ids: Sequence[str], z: np.ndarray, fmt: str, out: str | Path, model_id: str, stdout: IO | None = None
) -> None:
    """Write (n, 3, dim) fingerprints as tsv ('-' = stdout), npy (+ <out>.ids) or txt (OUT/<channel>/<id>.txt)."""
    if fmt == "tsv":
        write_text(tsv_text(ids, z, model_id), out, stdout)
    elif fmt == "npy":
        path = Path(out)
        with atomic_paths([path, ids_path(path)]) as (npy_tmp, ids_tmp):  # both files or neither
            with open(npy_tmp, "wb") as fh:
                np.save(fh, z.astype(np.float32))
            ids_tmp.write_text("".join(f"{i}\n" for i in ids))
    elif fmt == "txt":
        names = [safe_name(i) for i in ids]
        if len(set(names)) != len(names):
            raise InputError("two ids map to the same file name; rename the sequences")
        with atomic_dir(out) as folder:  # every file or none: the folder is filled aside, then renamed in
            for c, ch in enumerate(CHANNEL_ORDER[: z.shape[1]]):
                (folder / ch).mkdir()
                for name, vec in zip(names, z[:, c], strict=True):
                    (folder / ch / f"{name}.txt").write_text(format_authors(vec))
    else:
        raise InputError(f"unknown fingerprint format {fmt!r} (tsv, npy, txt)")


def ids_path(npy: Path) -> Path:
    """The ids file beside a .npy: fp.npy -> fp.ids."""
    return npy.with_suffix(".ids")


def read_fingerprint_matrix(source: str | Path, dim: int, stdin: IO | None = None) -> tuple[list[str], np.ndarray]:
    """(ids, (n, 3, dim)) from an encode-vae TSV or .npy (ids from <stem>.ids when present)."""
    ids = None
    if str(source).endswith(".npy") and ids_path(Path(source)).is_file():
        ids = read_ids(ids_path(Path(source)))
    fps: Fingerprints = read_fingerprints(source, stdin=stdin, ids=ids)
    if fps.dim != len(CHANNEL_ORDER) * dim:
        raise InputError(
            f"{source}: fingerprints have {fps.dim} values, expected {len(CHANNEL_ORDER) * dim} (aa, ss, sa x {dim})"
        )
    return fps.ids, fps.vectors.reshape(len(fps), len(CHANNEL_ORDER), dim).astype(np.float32)
