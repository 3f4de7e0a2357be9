"""Sequence and alignment input/output through Biopython: FASTA, A2M, Stockholm, Clustal, PIR; gzip and stdin.

Every reader normalises what real data carries (CRLF, lower-case insert letters, '.' gaps) and turns anything else
into one clear InputError, so the tools never print a traceback for a bad file.
"""

from __future__ import annotations

import codecs
import gzip
import io
import string
import sys
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from protfam_core.errors import InputError
from protfam_core.io.alphabet import ALIGNED_LETTERS, GAP, PROTEIN_LETTERS
from protfam_core.io.atomic import write_text

FORMATS = ("fasta", "a2m", "stockholm", "clustal", "pir")
PIR_TYPES = ("P1", "F1", "D1", "DL", "DC", "RL", "RC", "N3", "XX")  # the '>XX;' sequence types of a PIR header
_SEQUENCE_LINE = frozenset(string.ascii_letters + "-.~*")
MAX_RESIDUES = 100_000  # pyhmmer's pipeline refuses longer sequences: refused here, before any work starts


@dataclass(frozen=True)
class Record:
    """One sequence (or aligned row): identifier, free-text description and residues."""

    id: str
    seq: str
    description: str = ""


Source = str | Path | IO[str] | IO[bytes]


def read_text(source: Source, stdin: IO | None = None) -> tuple[str, str]:
    """Text of a path, '-' (stdin) or open stream, gunzipped if needed, with LF line ends. Returns (name, text)."""
    if isinstance(source, str | Path) and str(source) == "-":
        source = stdin if stdin is not None else sys.stdin
    if isinstance(source, str | Path):
        name = str(source)
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{name}: is a directory, expected a sequence file") from None
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror})") from None
    elif source is None or getattr(source, "closed", False):  # `<&-`: Python has no sys.stdin at all
        raise InputError("stdin: cannot read (the stream is closed)")
    else:
        name = getattr(source, "name", "<stdin>")
        name = name if isinstance(name, str) else "<stdin>"
        buffer = getattr(source, "buffer", None)
        try:
            data = (buffer or source).read()
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if isinstance(data, str):
        data = data.encode()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            raise InputError(f"{name}: corrupt gzip file") from None
    return name, decode_text(name, data)


def decode_text(name: str, data: bytes) -> str:
    """UTF-8 text (a byte-order mark dropped) with LF line ends; other bytes are named with their line, and a file
    with NUL bytes is called binary. Stockholm's '#' annotation lines may be Latin-1, as Pfam's own files are (author
    names in #=GF AU); its sequence lines may not."""
    if b"\x00" in data[:4096]:
        raise InputError(f"{name}: not a text file (binary data)")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not data.lstrip().startswith(b"# STOCKHOLM"):
            raise _not_utf8(name, data, exc.start) from None
        text = _decode_stockholm(name, data)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_stockholm(name: str, data: bytes) -> str:
    """A Stockholm file that is not all UTF-8: each '#' line as UTF-8 or else Latin-1 (every byte is a Latin-1
    character), every other line as UTF-8 only."""
    lines: list[str] = []
    start = 0
    for line in data.split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            if not line.startswith(b"#"):
                raise _not_utf8(name, data, start + exc.start) from None
            lines.append(line.decode("latin-1"))
        start += len(line) + 1
    return "\n".join(lines)


def _not_utf8(name: str, data: bytes, start: int) -> InputError:
    """The error for a byte that is not UTF-8: its line and value, and the likely cure."""
    line = data[:start].count(b"\n") + 1
    return InputError(f"{name}: line {line} is not UTF-8 text (byte 0x{data[start]:02x}; Latin-1? convert with iconv)")


def sniff_format(text: str) -> str | None:
    """Guess the format from the first non-empty line; None when it is none of FORMATS. A '>P1;id' header is PIR's
    only where a description line follows it: HOMSTRAD's alignments and others keep the header on plain FASTA."""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("# STOCKHOLM"):
            return "stockholm"
        if line.startswith(("CLUSTAL", "MUSCLE", "PROBCONS")):
            return "clustal"
        if line.startswith(">") and _pir_typed(line[1:]):
            return "pir" if _has_pir_descriptions(text) else "fasta"
        if line.startswith(">"):
            return "fasta"
        return None
    return None


def _pir_typed(title: str) -> bool:
    """Whether a header title starts with a PIR sequence type and its ';' ('P1;1akz')."""
    return title[:2] in PIR_TYPES and title[2:3] == ";"


def _has_pir_descriptions(text: str) -> bool:
    """Whether a '>XX;id' header is followed by a PIR description line (free text: empty, or with a character that
    no sequence line has, as in 'structureX:1akz: 1 :A:' or 'uracil glycosylase') rather than by the sequence."""
    for block in text.lstrip()[1:].split("\n>"):
        lines = block.split("\n", 2)
        if len(lines) > 1 and not (lines[1].strip() and _SEQUENCE_LINE.issuperset(lines[1].strip())):
            return True
    return False


def _parse(name: str, text: str, fmt: str | None) -> list[Record]:
    if not text.strip():
        raise InputError(f"{name}: input is empty")
    found = sniff_format(text)
    if fmt is None:
        fmt = found
    if fmt is None or fmt not in FORMATS:
        first = next((ln for ln in text.splitlines() if ln.strip()), "")[:40]
        raise InputError(f"{name}: not FASTA, A2M, Stockholm, Clustal or PIR (first line: {first!r})")
    _refuse_non_ascii(name, text)
    try:
        records = _parse_fasta(text) if fmt in ("fasta", "a2m") else _parse_biopython(text, fmt)
    except ValueError as exc:
        raise InputError(f"{name}: malformed {fmt} ({str(exc).splitlines()[0]})") from None
    if not records:
        raise InputError(f"{name}: no sequences found in {fmt} input")
    if fmt in ("fasta", "a2m") and all(_pir_typed(r.id) for r in records):
        records = [Record(r.id[3:], r.seq, r.description[3:]) for r in records]  # PIR's type code is not the id
    for n, r in enumerate(records, 1):
        if not r.id:  # a bare '>' would become a row with an empty query_id
            raise InputError(f"{name}: sequence {n} has no id (a '>' line without a name)")
    return records


_WHITESPACE = str.maketrans("", "", " \t\r\n")


def _parse_fasta(text: str) -> list[Record]:
    """FASTA/A2M records exactly as Biopython's FASTA parser gives them (id: the title's first word; description: the
    whole title; sequence lines joined without whitespace), without importing Biopython, whose import costs more
    than parsing 5,000 sequences and is a tenth of a small `classify-cnn predict` run."""
    if not text.startswith(">"):
        raise ValueError("text before the first '>' line (comments are not FASTA)")
    records = []
    for block in text[1:].split("\n>"):
        title, _, body = block.partition("\n")
        title = title.rstrip()
        words = title.split(None, 1)
        records.append(Record(words[0] if words else "", body.translate(_WHITESPACE), title))
    return records


def _parse_biopython(text: str, fmt: str) -> list[Record]:
    """Stockholm, Clustal and PIR through Biopython (imported only for them)."""
    from Bio import AlignIO, SeqIO

    handle = io.StringIO(text)
    if fmt in ("stockholm", "clustal"):
        records = [r for aln in AlignIO.parse(handle, fmt) for r in aln]
    else:
        try:
            records = list(SeqIO.parse(handle, fmt))
        except IndexError:  # Biopython's PIR parser looks for the '*' of an empty sequence
            raise ValueError("a record has no sequence") from None
    return [Record(r.id, str(r.seq), r.description) for r in records]


def _refuse_non_ascii(name: str, text: str) -> None:
    """Sequence letters are ASCII; Biopython would fail on any other with a UnicodeDecodeError. Headers and comments
    (lines starting '>' or '#') may hold any UTF-8."""
    if text.isascii():
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.startswith((">", "#")) and not line.isascii():
            c = next(c for c in line if not c.isascii())
            raise InputError(f"{name}: line {n} has a non-ASCII character {c!r} (sequence letters are A-Z)")


def _check_letters(name: str, rec: Record, allowed: frozenset[str]) -> None:
    if allowed.issuperset(rec.seq):  # one C-level pass; the position is looked for only when a letter is bad
        return
    i, c = next((i, c) for i, c in enumerate(rec.seq) if c not in allowed)
    if c == "*":  # a stop codon inside a sequence: removing it would join two proteins into one
        raise InputError(f"{name}: sequence {rec.id!r} has a stop '*' inside it at position {i + 1}")
    raise InputError(f"{name}: sequence {rec.id!r} has a non-amino-acid character {c!r} at position {i + 1}")


def _refuse_nucleotides(name: str, records: list[Record]) -> None:
    """A DNA/RNA file passes the letter check (A, C, G, T, U, N are amino-acid codes) and would be called
    'unassigned' without a word; refuse a whole input made of those letters only, as HMMER's alphabet guess does."""
    letters = "".join(r.seq for r in records).replace(GAP, "").replace(".", "")  # both readers upper-case
    if len(letters) >= 20 and set(letters) <= set("ACGTUN"):
        raise InputError(f"{name}: looks like nucleotide sequences (only A, C, G, T/U, N); protfam reads proteins")


def read_sequences(
    source: Source,
    fmt: str | None = None,
    *,
    stdin: IO | None = None,
    min_length: int = 1,
    max_length: int | None = None,
) -> list[Record]:
    """Unaligned protein sequences, upper-cased with gaps removed, letters and lengths checked."""
    return parse_sequences(*read_text(source, stdin), fmt, min_length=min_length, max_length=max_length)


def parse_sequences(
    name: str, text: str, fmt: str | None = None, *, min_length: int = 1, max_length: int | None = None
) -> list[Record]:
    """read_sequences on text already read (`name` is how messages call it)."""
    out = []
    seen: set[str] = set()
    for rec in _parse(name, text, fmt):
        seq = rec.seq.upper().replace(GAP, "").replace(".", "").removesuffix("*")  # a final stop is no residue
        rec = Record(rec.id, seq, rec.description)
        _check_letters(name, rec, PROTEIN_LETTERS)
        if len(seq) < min_length:
            raise InputError(f"{name}: sequence {rec.id!r} is empty or shorter than {min_length} residues")
        if max_length is not None and len(seq) > max_length:
            raise InputError(f"{name}: sequence {rec.id!r} has {len(seq)} residues, more than the limit {max_length}")
        if len(seq) > MAX_RESIDUES:
            raise InputError(
                f"{name}: sequence {rec.id!r} has {len(seq):,} residues, more than {MAX_RESIDUES:,} (the limit of "
                "the HMM search); split it into pieces of at most that length"
            )
        if rec.id in seen:
            raise InputError(f"{name}: duplicate sequence id {rec.id!r}")
        seen.add(rec.id)
        out.append(rec)
    _refuse_nucleotides(name, out)
    return out


def read_alignment(source: Source, fmt: str | None = None, *, stdin: IO | None = None) -> list[Record]:
    """Aligned rows of equal width; A2M/Stockholm insert columns (lower case, '.') are dropped, gaps become '-'."""
    return parse_alignment(*read_text(source, stdin), fmt)


def parse_alignment(name: str, text: str, fmt: str | None = None) -> list[Record]:
    """read_alignment on text already read (`name` is how messages call it)."""
    records = _parse(name, text, fmt)
    # A2M: lower case and '.' are insert states, dropped. An alignment without any upper-case letter is not A2M
    # (dropping would leave no column): it is read as plain rows, upper-cased.
    has_upper = any(c.isupper() for r in records for c in r.seq)
    has_inserts = has_upper and any(c.islower() or c == "." for r in records for c in r.seq)
    rows = []
    for rec in records:
        seq = rec.seq.replace("~", GAP) if has_upper else rec.seq.replace("~", GAP).replace(".", GAP)
        if has_inserts:
            seq = "".join(c for c in seq if not (c.islower() or c == "."))
        rec = Record(rec.id, seq.upper(), rec.description)
        _check_letters(name, rec, frozenset(ALIGNED_LETTERS))
        rows.append(rec)
    seen: set[str] = set()
    for rec in rows:
        if rec.id in seen:  # rows are named by id downstream (fingerprints, placements): a repeat is ambiguous
            raise InputError(f"{name}: duplicate sequence id {rec.id!r}")
        seen.add(rec.id)
    widths = {len(r.seq) for r in rows}
    if len(widths) != 1:
        raise InputError(f"{name}: not an alignment (rows have {len(widths)} different widths)")
    _refuse_nucleotides(name, rows)
    return rows


def format_fasta(records: Iterable[Record], width: int = 60) -> str:
    """FASTA text; width 0 writes each sequence on one line."""
    lines = []
    for rec in records:
        header = rec.id if not rec.description or rec.description == rec.id else rec.description
        if not header.startswith(rec.id):
            header = f"{rec.id} {header}"
        lines.append(f">{header}")
        seq = rec.seq
        step = width or max(len(seq), 1)
        lines.extend(seq[i : i + step] for i in range(0, len(seq), step))
    return "\n".join(lines) + "\n" if lines else ""


def write_fasta(records: Sequence[Record], dest: str | Path | TextIO, width: int = 60) -> None:
    """Write FASTA to a path, '-' (stdout) or stream, whole or not at all."""
    write_text(format_fasta(records, width), dest)


def format_alignment(records: Sequence[Record], fmt: str = "fasta") -> str:
    """Aligned rows as FASTA (one line per row), Stockholm or Clustal text (added for prep-msa align/filter/place)."""
    if fmt == "fasta":
        return format_fasta(records, width=0)
    if fmt not in ("stockholm", "clustal"):
        raise InputError(f"unknown alignment output format {fmt!r} (choose from fasta, stockholm, clustal)")
    from Bio import AlignIO
    from Bio.Align import MultipleSeqAlignment
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord

    aln = MultipleSeqAlignment([SeqRecord(Seq(r.seq), id=r.id, description="") for r in records])
    handle = io.StringIO()
    AlignIO.write(aln, handle, fmt)
    return handle.getvalue()
