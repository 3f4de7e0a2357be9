"""Where per-residue SS/SA comes from, behind one interface: the shipped ONNX model, existing SCRATCH-1D output files,
or DSSP run on a structure. Each backend turns records into `SSResult`s; probabilities exist only for the model.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from protfam_core.errors import InputError, ToolMissingError
from protfam_core.io.seqio import Record
from protfam_core.ss.data import UNKNOWN, acc20_to_sa, parse_dssp, read_scratch_acc, read_scratch_acc20, read_scratch_ss
from protfam_core.ss.predict import SSPredictor, check_sequences, to_strings

BACKENDS = ("model", "scratch", "dssp")


@dataclass(frozen=True)
class SSResult:
    """Per-residue SS (H/E/C) and SA (e/b) of one sequence; probabilities when the backend gives them."""

    id: str
    seq: str
    ss: str
    sa: str
    ss_prob: np.ndarray | None = None
    sa_prob: np.ndarray | None = None


def predict_model(
    records: list[Record],
    model: str | None = None,
    progress: Callable[[int], None] | None = None,
    threads: int = 0,
) -> tuple[list[SSResult], str]:
    """The shipped (or named) ONNX predictor on `threads` threads; returns the results and the model's name/version."""
    check_sequences([r.seq for r in records], [r.id for r in records])
    predictor = SSPredictor(model, threads)
    probs = predictor.predict_proba([r.seq for r in records], progress)
    out = [
        SSResult(rec.id, rec.seq, *to_strings(ss_p, sa_p), ss_p, sa_p)
        for rec, (ss_p, sa_p) in zip(records, probs, strict=True)
    ]
    return out, predictor.model_id


def _scratch_files(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """SS and SA strings by header from every .ss/.ss8 and .acc/.acc20 file in a SCRATCH-1D output folder."""
    if not folder.is_dir():
        raise InputError(f"{folder}: SCRATCH-1D output folder not found")
    ss: dict[str, str] = {}
    sa: dict[str, str] = {}
    # 3-state files win over the 8-state / 20-level ones, which fill in what they lack.
    for path in sorted(folder.glob("*.ss8")) + sorted(folder.glob("*.ss")):
        ss.update(read_scratch_ss(path))
    for path in sorted(folder.glob("*.acc20")):
        sa.update({k: acc20_to_sa(v) for k, v in read_scratch_acc20(path).items()})
    for path in sorted(folder.glob("*.acc")):
        sa.update(read_scratch_acc(path))
    if not ss and not sa:
        raise InputError(f"{folder}: no SCRATCH-1D .ss, .ss8, .acc or .acc20 files")
    return ss, sa


def _by_id(table: dict[str, str]) -> dict[str, str]:
    """Lookup by whole header and by its first word (a FASTA record's id)."""
    out = {h.split()[0]: v for h, v in table.items() if h.split()}
    out.update(table)
    return out


def predict_scratch(records: list[Record], folder: str | Path) -> list[SSResult]:
    """Read existing SCRATCH-1D predictions for the records (matched by id; lengths must agree)."""
    ss_all, sa_all = (_by_id(t) for t in _scratch_files(Path(folder)))
    out = []
    for rec in records:
        ss = ss_all.get(rec.id, UNKNOWN * len(rec.seq))
        sa = sa_all.get(rec.id, UNKNOWN * len(rec.seq))
        if rec.id not in ss_all and rec.id not in sa_all:
            raise InputError(f"{folder}: no SCRATCH-1D prediction for sequence {rec.id!r}")
        for kind, text in (("SS", ss), ("accessibility", sa)):
            if len(text) != len(rec.seq):
                raise InputError(
                    f"{folder}: SCRATCH-1D {kind} of {rec.id!r} has {len(text)} residues, the sequence {len(rec.seq)}"
                )
        out.append(SSResult(rec.id, rec.seq, ss, sa))
    return out


def run_mkdssp(structure: str | Path) -> str:
    """Classic DSSP text of a PDB/mmCIF file (gzip accepted by mkdssp) from Debian's mkdssp."""
    exe = shutil.which("mkdssp")
    if exe is None:
        raise ToolMissingError("mkdssp is not on PATH; install the Debian package dssp to use --backend dssp")
    structure = Path(structure)
    if not structure.is_file():
        raise InputError(f"{structure}: structure file not found")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "out.dssp")
        proc = subprocess.run(
            [exe, "--output-format", "dssp", str(structure), str(out)], capture_output=True, text=True
        )
        if proc.returncode != 0 or not out.exists():
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise InputError(f"{structure}: mkdssp failed ({reason})")
        return out.read_text(errors="replace")


def predict_dssp(structure: str | Path, chains: list[str] | None = None) -> list[SSResult]:
    """SS/SA of every (or the named) chain of a structure, assigned by DSSP; ids are `<file stem>_<chain>`."""
    found = parse_dssp(run_mkdssp(structure), str(structure))
    wanted = chains or list(found)
    missing = [c for c in wanted if c not in found]
    if missing:
        raise InputError(f"{structure}: no chain {missing[0]!r} (chains: {', '.join(found)})")
    stem = Path(structure).name.split(".")[0]
    return [SSResult(f"{stem}_{c}", found[c].seq, found[c].ss, found[c].sa) for c in wanted]
