"""Readers of secondary-structure (SS) and solvent-accessibility (SA) ground truth and predictions.

Every source ends up as `SSChain`: a raw sequence with per-residue 3-state SS (H/E/C) and 2-state SA (e/b) strings,
'?' where the label is unknown (unresolved residue, chain break, a source without that label). Sources: classic DSSP
files (cath_dssp, mkdssp output), FLIP's fasta triples, the CB513 csv, and SCRATCH-1D's .ss/.ss8/.acc/.acc20 files.
"""

from __future__ import annotations

import csv
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from protfam_core.errors import InputError
from protfam_core.io.seqio import read_text
from protfam_core.ss.project import accpro_to_sa

UNKNOWN = "?"
SS3 = "HEC"
SA2 = "eb"
EXPOSED_RSA = 0.25  # ACCpro's 2-state threshold

# DSSP 8 states -> 3 states as SSpro: H,G,I -> H; E,B -> E; the rest (T, S, P, blank) -> C.
SS8_TO_SS3 = {"H": "H", "G": "H", "I": "H", "E": "E", "B": "E"}

# Theoretical maximum accessible surface areas in A^2 (Tien et al. 2013, PLoS ONE 8:e80635).
MAX_ASA = {
    "A": 129.0, "R": 274.0, "N": 195.0, "D": 193.0, "C": 167.0, "Q": 225.0, "E": 223.0, "G": 104.0, "H": 224.0,
    "I": 197.0, "L": 201.0, "K": 236.0, "M": 224.0, "F": 240.0, "P": 159.0, "S": 155.0, "T": 172.0, "W": 285.0,
    "Y": 263.0, "V": 174.0,
}  # fmt: skip


@dataclass(frozen=True)
class SSChain:
    """One chain: raw sequence, 3-state SS and 2-state SA strings of the same length ('?' = unknown)."""

    id: str
    seq: str
    ss: str
    sa: str

    def __post_init__(self) -> None:
        if not (len(self.seq) == len(self.ss) == len(self.sa)):
            raise InputError(f"chain {self.id!r}: sequence, SS and SA lengths differ")


def reduce_ss8(ss8: str) -> str:
    """3-state string of an 8-state DSSP/SSpro8 string (blank, '-', C, T, S, P -> C)."""
    return "".join(SS8_TO_SS3.get(c, "C") for c in ss8)


def sa_state(aa: str, acc: float) -> str:
    """'e' (exposed) or 'b' (buried) from absolute accessibility; '?' for residues without a maximum ASA."""
    max_asa = MAX_ASA.get(aa)
    if max_asa is None:
        return UNKNOWN
    return "e" if acc / max_asa >= EXPOSED_RSA else "b"


# ---------------------------------------------------------------------------------------------------------- DSSP


def parse_dssp(text: str, name: str = "<dssp>") -> dict[str, SSChain]:
    """Chains of a classic fixed-width DSSP file, keyed by chain id; '!' break lines are skipped.

    Lower-case amino acids are half-cystines (read as C); residues other than the 20 standard ones are kept as X with
    unknown SA. Columns (1-based): chain 12, amino acid 14, SS 17, ACC 35-38.
    """
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("  #  RESIDUE")), None)
    if start is None:
        raise InputError(f"{name}: not a DSSP file (no '  #  RESIDUE' header)")
    parts: dict[str, tuple[list[str], list[str], list[str]]] = {}
    for line in lines[start + 1 :]:
        if len(line) < 38 or line[13] == "!":
            continue
        chain, aa, ss = line[11], line[13], line[16]
        aa = "C" if aa.islower() else aa
        aa = aa if aa in MAX_ASA else "X"
        try:
            acc = float(line[34:38])
        except ValueError:
            raise InputError(f"{name}: bad accessibility field in line {line[:20]!r}") from None
        seq, ss3, sa = parts.setdefault(chain, ([], [], []))
        seq.append(aa)
        ss3.append(SS8_TO_SS3.get(ss, "C"))
        sa.append(sa_state(aa, acc))
    if not parts:
        raise InputError(f"{name}: DSSP file has no residues")
    return {c: SSChain(c, "".join(s), "".join(h), "".join(a)) for c, (s, h, a) in parts.items()}


def read_cath_dssp(tar_path: str | Path, info_path: str | Path) -> list[SSChain]:
    """The chains named in CATH_info.txt (`<pdbid><chain> <class>`) from dssp.tar.xz; ids are `<PDBID><chain>`."""
    wanted: dict[str, list[str]] = {}
    for line in Path(info_path).read_text().splitlines():
        if line.strip():
            key = line.split()[0]
            wanted.setdefault(key[:4].upper(), []).append(key[4:])
    chains = []
    with tarfile.open(tar_path) as tar:
        for member in tar:
            if not member.name.endswith(".dssp"):
                continue
            pdb = Path(member.name).stem.upper()
            if pdb not in wanted:
                continue
            text = tar.extractfile(member).read().decode("latin-1")
            found = parse_dssp(text, member.name)
            for chain in wanted[pdb]:
                if chain in found:
                    c = found[chain]
                    chains.append(SSChain(f"{pdb}{chain}", c.seq, c.ss, c.sa))
    return chains


# ---------------------------------------------------------------------------------------------------------- FLIP


def _fasta_dict(text: str) -> dict[str, tuple[str, str]]:
    """{id: (header, one-line body)} of plain FASTA text."""
    out: dict[str, tuple[str, str]] = {}
    header, body = None, []
    for line in text.splitlines() + [">"]:
        if line.startswith(">"):
            if header is not None:
                out[header.split()[0]] = (header, "".join(body))
            header, body = line[1:].strip(), []
        else:
            body.append(line.strip())
    return out


def read_flip(source: str | Path) -> list[tuple[SSChain, str]]:
    """FLIP secondary-structure split (FLIP's `splits.zip` or a folder with `sequences.fasta`, `sampled.fasta`,
    `mask.fasta`): (chain, split) pairs.

    split is 'train', 'valid' (SET=train VALIDATION=True) or 'test'; masked residues (mask 0) get label '?'; FLIP has
    no accessibility, so SA is all '?'.
    """
    source = Path(source)
    names = ("sequences.fasta", "sampled.fasta", "mask.fasta")
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            found = {Path(n).name: n for n in zf.namelist()}
            texts = [zf.read(found[n]).decode() for n in names]
    else:
        texts = [(source / n).read_text() for n in names]
    seqs, labels, masks = (_fasta_dict(t) for t in texts)
    out = []
    for key, (header, label) in labels.items():
        fields = dict(f.split("=", 1) for f in header.split()[1:] if "=" in f)
        split = "test" if fields.get("SET") == "test" else "valid" if fields.get("VALIDATION") == "True" else "train"
        seq, mask = seqs[key][1], masks[key][1]
        ss = "".join(s if m == "1" else UNKNOWN for s, m in zip(label, mask, strict=True))
        out.append((SSChain(key, seq, ss, UNKNOWN * len(seq)), split))
    return out


# ---------------------------------------------------------------------------------------------------------- CB513


def read_cb513(path: str | Path) -> list[SSChain]:
    """CB513 in the NetSurfP-2.0 csv layout (input,dssp3,dssp8,disorder,cb513_mask).

    `input` is the whole PDB chain; CB513's own domain segment is where cb513_mask is 1 and the residue is resolved
    where disorder is 1. Residues outside either get '?', so scores count only CB513's resolved residues.
    """
    chains = []
    with open(path, newline="") as handle:
        for i, row in enumerate(csv.DictReader(handle)):
            pairs = zip(row["cb513_mask"].split(), row["disorder"].split(), strict=True)
            keep = [float(m) > 0 and float(d) > 0 for m, d in pairs]
            ss = "".join(s if k else UNKNOWN for s, k in zip(row["dssp3"], keep, strict=True))
            chains.append(SSChain(f"cb513_{i + 1}", row["input"], ss, UNKNOWN * len(ss)))
    return chains


# ---------------------------------------------------------------------------------------------------------- SCRATCH-1D


def _scratch_blocks(source: str | Path, stdin=None) -> Iterator[tuple[str, str]]:
    """(header id, body) pairs of a SCRATCH-1D FASTA-like output file; the body keeps its line breaks' content."""
    name, text = read_text(source, stdin)
    header, body = None, []
    for line in text.splitlines() + [">"]:
        if line.startswith(">"):
            if header is not None:
                yield header, " ".join(body)
            header, body = line[1:].strip(), []
        elif line.strip():
            if header is None:
                raise InputError(f"{name}: not a SCRATCH-1D output file (text before the first '>' header)")
            body.append(line.strip())


def _scratch_strings(source, stdin, allowed: str, what: str, convert) -> dict[str, str]:
    """Letter strings by header of a SCRATCH-1D file, each checked against `allowed` and converted."""
    out = {}
    for header, body in _scratch_blocks(source, stdin):
        body = body.replace(" ", "")
        if set(body) - set(allowed):
            raise InputError(f"{source}: {header!r} has letters {what}")
        out[header] = convert(body)
    return out


def read_scratch_ss(source: str | Path, stdin=None) -> dict[str, str]:
    """SSpro .ss (H/E/C) or SSpro8 .ss8 (reduced to 3 states) strings by header."""
    return _scratch_strings(source, stdin, "HGIEBTSC", "that are not SSpro states", reduce_ss8)


def read_scratch_acc(source: str | Path, stdin=None) -> dict[str, str]:
    """ACCpro .acc strings by header, as e/b ('-' in the file means buried)."""
    return _scratch_strings(source, stdin, "e-b", "other than 'e' and '-'", accpro_to_sa)


def read_scratch_acc20(source: str | Path, stdin=None) -> dict[str, list[int]]:
    """ACCpro20 .acc20 relative accessibilities (percent, 5% steps) by header. Real ACCpro20 output holds some -5
    values; they are kept as read (below the 25% threshold either way, so buried in 2 states)."""
    out = {}
    for header, body in _scratch_blocks(source, stdin):
        try:
            out[header] = [int(v) for v in body.split()]
        except ValueError:
            raise InputError(f"{source}: {header!r} has a non-integer accessibility value") from None
    return out


def acc20_to_sa(values: list[int]) -> str:
    """2-state e/b string from ACCpro20 percentages, exposed at >= 25% as ACCpro."""
    return "".join("e" if v >= EXPOSED_RSA * 100 else "b" for v in values)
