"""Text outputs of predict-ss: SCRATCH-1D's own .ss/.acc layouts, e/b strings, per-residue TSV and JSON.

In alignment (`--msa`) mode every string has the alignment's width with '-' at the row's gaps, the paper's L x 4 (SS)
and L x 3 (SA) inputs; the .acc layout is refused there because ACCpro writes '-' for buried.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from protfam_core.errors import InputError
from protfam_core.io.seqio import read_text
from protfam_core.ss.backends import SSResult
from protfam_core.ss.project import project, row_positions, sa_to_accpro

FORMATS = ("ss", "acc", "sa", "tsv", "json")


def _prob(value: float | None) -> str:
    return "NA" if value is None else f"{value:.4f}"


def _fasta_like(rows: list[tuple[str, str]]) -> str:
    return "".join(f">{rid}\n{text}\n" for rid, text in rows)


def format_results(results: list[SSResult], fmt: str, model_id: str, aligned: dict[str, str] | None = None) -> str:
    """The whole output text; `aligned` (id -> aligned row) switches to alignment mode."""
    if fmt not in FORMATS:
        raise InputError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")
    if aligned is not None and fmt == "acc":
        raise InputError("--format acc writes '-' for buried residues, which clashes with alignment gaps; use sa")

    def lay(res: SSResult, text: str) -> str:
        return project(text, row_positions(aligned[res.id]), res.id) if aligned is not None else text

    if fmt == "ss":
        return _fasta_like([(r.id, lay(r, r.ss)) for r in results])
    if fmt == "sa":
        return _fasta_like([(r.id, lay(r, r.sa)) for r in results])
    if fmt == "acc":
        return _fasta_like([(r.id, sa_to_accpro(r.sa)) for r in results])
    if fmt == "json":
        return json.dumps({"model": model_id, "sequences": [_json_entry(r, aligned) for r in results]}) + "\n"
    return _tsv(results, model_id, aligned)


def _json_entry(res: SSResult, aligned: dict[str, str] | None) -> dict:
    entry: dict = {"id": res.id, "sequence": res.seq, "ss": res.ss, "sa": res.sa}
    if res.ss_prob is not None and res.sa_prob is not None:
        entry["p_ss"] = [[round(float(x), 4) for x in row] for row in res.ss_prob]
        entry["p_exposed"] = [round(float(x), 4) for x in res.sa_prob[:, 0]]
    if aligned is not None:
        positions = row_positions(aligned[res.id])
        entry.update(aligned=aligned[res.id], ss_gapped=project(res.ss, positions, res.id))
        entry["sa_gapped"] = project(res.sa, positions, res.id)
    return entry


def _tsv(results: list[SSResult], model_id: str, aligned: dict[str, str] | None) -> str:
    column = ["column"] if aligned is not None else []
    lines = [
        f"# predict-ss model: {model_id}",
        "\t".join(["id", *column, "pos", "aa", "ss", "p_H", "p_E", "p_C", "sa", "p_exposed"]),
    ]
    for res in results:
        cells = []
        for i, aa in enumerate(res.seq):
            probs = [None] * 4
            if res.ss_prob is not None and res.sa_prob is not None:
                probs = [*map(float, res.ss_prob[i]), float(res.sa_prob[i, 0])]
            cells.append([str(i + 1), aa, res.ss[i], *map(_prob, probs[:3]), res.sa[i], _prob(probs[3])])
        if aligned is None:
            lines.extend("\t".join([res.id, *c]) for c in cells)
            continue
        gap_cell = ["-", "-", "-", "NA", "NA", "NA", "-", "NA"]
        for col, p in enumerate(row_positions(aligned[res.id]).tolist(), start=1):
            lines.append("\t".join([res.id, str(col), *(cells[p] if p >= 0 else gap_cell)]))
    return "\n".join(lines) + "\n"


def read_per_residue(source: str | Path, kind: str) -> dict[str, str]:
    """SS (H/E/C) or SA (e/b) strings per id from a FASTA-like file, '-' kept: it is a gap in a string aligned to a
    row, or "buried" in SCRATCH-1D's per-residue ACCpro output (vae_encode.rows_from_alignment tells them apart)."""
    name, text = read_text(source)
    allowed = set("HEC-") if kind == "ss" else set("eb-")
    out: dict[str, str] = {}
    current: str | None = None
    chunks: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(">"):
            current = line[1:].split()[0] if line[1:].split() else ""
            if current in chunks:
                raise InputError(f"{name}: duplicate id {current!r}")
            chunks[current] = []
        elif line:
            if current is None:
                raise InputError(f"{name}: not a FASTA-like {kind.upper()} file (no '>' header before the data)")
            chunks[current].append(line)
    if not chunks:
        raise InputError(f"{name}: no {kind.upper()} strings found")
    for key, parts in chunks.items():
        seq = "".join(parts)
        bad = set(seq) - allowed
        if bad:
            raise InputError(
                f"{name}: {key!r} has letters {''.join(sorted(bad))!r}, expected {''.join(sorted(allowed))}"
            )
        out[key] = seq
    return out
