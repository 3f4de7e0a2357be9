"""Text outputs of predict-ss: SCRATCH-1D's own .ss/.acc layouts, e/b strings, per-residue TSV and JSON.

In alignment (`--msa`) mode every string has the alignment's width with '-' at the row's gaps, the paper's L x 4 (SS)
and L x 3 (SA) inputs; the .acc layout is refused there because ACCpro writes '-' for buried.
"""

from __future__ import annotations

import json

from .errors import InputError
from .ss_backends import SSResult, gapped

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
        return gapped(aligned[res.id], text) if aligned is not None else text

    if fmt == "ss":
        return _fasta_like([(r.id, lay(r, r.ss)) for r in results])
    if fmt == "sa":
        return _fasta_like([(r.id, lay(r, r.sa)) for r in results])
    if fmt == "acc":
        return _fasta_like([(r.id, r.sa.replace("b", "-")) for r in results])
    if fmt == "json":
        return json.dumps({"model": model_id, "sequences": [_json_entry(r, aligned) for r in results]}) + "\n"
    return _tsv(results, model_id, aligned)


def _json_entry(res: SSResult, aligned: dict[str, str] | None) -> dict:
    entry: dict = {"id": res.id, "sequence": res.seq, "ss": res.ss, "sa": res.sa}
    if res.ss_prob is not None and res.sa_prob is not None:
        entry["p_ss"] = [[round(float(x), 4) for x in row] for row in res.ss_prob]
        entry["p_exposed"] = [round(float(x), 4) for x in res.sa_prob[:, 0]]
    if aligned is not None:
        entry.update(aligned=aligned[res.id], ss_gapped=gapped(aligned[res.id], res.ss))
        entry["sa_gapped"] = gapped(aligned[res.id], res.sa)
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
        residues = iter(cells)
        for col, letter in enumerate(aligned[res.id], start=1):
            cell = ["-", "-", "-", "NA", "NA", "NA", "-", "NA"] if letter in "-." else next(residues)
            lines.append("\t".join([res.id, str(col), *cell]))
    return "\n".join(lines) + "\n"
