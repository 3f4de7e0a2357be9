"""Multiple sequence alignment behind one function: FAMSA (pyfamsa, in-process), ClustalW, Clustal Omega, MAFFT.

ClustalW is the paper's aligner; FAMSA is the default because it aligns a 500-sequence family in about a second
(see BENCHMARKS.md for speed and accuracy of every backend). External aligners get sequences under safe temporary
names (they truncate or rewrite ids) and their output gap pattern is re-threaded onto the original residues, so ids,
letters and order always come back exactly as given.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pyfamsa

from protfam_core.errors import InputError, ToolMissingError
from protfam_core.io.alphabet import GAP
from protfam_core.io.seqio import Record, format_fasta

BACKENDS = ("famsa", "clustalw", "clustalo", "mafft")
DEFAULT_BACKEND = "famsa"
_PROGRAMS = {"clustalw": "clustalw", "clustalo": "clustalo", "mafft": "mafft"}
_FAMSA_LETTERS = frozenset("ACDEFGHIKLMNPQRSTVWYBZX")


def check_backend(backend: str) -> None:
    """InputError for an unknown backend, ToolMissingError when its program is not on PATH."""
    if backend not in BACKENDS:
        raise InputError(f"unknown alignment backend {backend!r} (choose from {', '.join(BACKENDS)})")
    program = _PROGRAMS.get(backend)
    if program and shutil.which(program) is None:
        raise ToolMissingError(f"{program} not found on PATH (install the Debian package {program!r})")


def tool_version(backend: str) -> str:
    """Version string of a backend, recorded in dataset cards."""
    check_backend(backend)
    if backend == "famsa":
        return f"pyfamsa {pyfamsa.__version__} (FAMSA {pyfamsa.famsa_info().version})"
    cmd = {"clustalw": ["clustalw", "-help"], "clustalo": ["clustalo", "--version"], "mafft": ["mafft", "--version"]}
    proc = subprocess.run(cmd[backend], capture_output=True, text=True)
    text = (proc.stdout + proc.stderr).strip()
    if backend == "clustalw":
        found = re.search(r"CLUSTAL\s+(\S+)", text)
        return f"clustalw {found.group(1)}" if found else "clustalw"
    return f"{backend} {text.splitlines()[0] if text else ''}".strip()


def align(records: list[Record], backend: str = DEFAULT_BACKEND, threads: int = 2) -> list[Record]:
    """Align unaligned protein sequences; rows come back in input order with the input ids and residues."""
    check_backend(backend)
    if not records:
        raise InputError("nothing to align: no sequences")
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        raise InputError("duplicate sequence ids in the alignment input")
    seqs = [r.seq.replace(GAP, "").replace(".", "").upper() for r in records]
    if any(not s for s in seqs):
        raise InputError("cannot align an empty sequence")
    if len(records) == 1:
        return [Record(records[0].id, seqs[0], records[0].description)]
    gapped = _famsa(seqs, threads) if backend == "famsa" else _external(backend, seqs, threads)
    return [Record(r.id, _rethread(row, s), r.description) for r, row, s in zip(records, gapped, seqs, strict=True)]


def _rethread(aligned: str, residues: str) -> str:
    """Put the original residues into the aligner's gap pattern (aligners may change case or odd letters)."""
    out = []
    it = iter(residues)
    for c in aligned:
        out.append(GAP if c in "-." else next(it))
    if len(out) - out.count(GAP) != len(residues):
        raise RuntimeError("aligner output lost or added residues")
    return "".join(out)


def _famsa(seqs: list[str], threads: int) -> list[str]:
    safe = ["".join(c if c in _FAMSA_LETTERS else "X" for c in s) for s in seqs]
    aligner = pyfamsa.Aligner(threads=threads)
    msa = aligner.align(pyfamsa.Sequence(str(i).encode(), s.encode()) for i, s in enumerate(safe))
    rows = {int(g.id): g.sequence.decode() for g in msa}
    return [rows[i] for i in range(len(seqs))]


def _external(backend: str, seqs: list[str], threads: int) -> list[str]:
    with tempfile.TemporaryDirectory(prefix=f"protfam-{backend}-") as tmp:
        src = Path(tmp) / "in.fasta"
        out = Path(tmp) / "out.fasta"
        src.write_text(format_fasta([Record(f"s{i}", s) for i, s in enumerate(seqs)]))
        if backend == "clustalw":
            cmd = [
                "clustalw",
                "-ALIGN",
                f"-INFILE={src}",
                f"-OUTFILE={out}",
                "-OUTPUT=FASTA",
                "-OUTORDER=INPUT",
                f"-NEWTREE={Path(tmp) / 'guide.dnd'}",
                "-QUIET",
            ]
            stdout = subprocess.DEVNULL
        elif backend == "clustalo":
            cmd = ["clustalo", "-i", str(src), "-o", str(out), "--outfmt=fa", f"--threads={threads}", "--force"]
            stdout = subprocess.DEVNULL
        else:
            cmd = ["mafft", "--auto", "--anysymbol", "--thread", str(threads), "--quiet", str(src)]
            stdout = out.open("w")
        try:
            proc = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
        finally:
            if stdout is not subprocess.DEVNULL:
                stdout.close()
        if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            last = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise InputError(f"{backend} failed (exit {proc.returncode}): {last[0]}")
        from Bio import SeqIO  # imported here, as in io.seqio: every tool that names the backends imports this module

        with out.open() as fh:
            rows = {r.id: str(r.seq) for r in SeqIO.parse(fh, "fasta")}
    return [rows[f"s{i}"] for i in range(len(seqs))]
