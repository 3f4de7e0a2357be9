"""encode-vae: VAE fingerprints (phase 1 of the paper): train, encode, reconstruct, report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from protfam_tools._cli import Threads, new_app, run
from protfam_tools._encode_vae_train import Model, register

from protfam_core.errors import InputError
from protfam_core.threads import resolve_threads

app = new_app(
    "VAE fingerprints of aligned protein rows: 30 floats per channel (amino acids, SS, SA).\n\n"
    "Examples:\n"
    "  predict-ss predict placed.a2m | encode-vae encode - > fp.tsv\n"
    "  encode-vae encode rows.afa --ss rows.ss --sa rows.acc -f txt -o latent/\n"
    "  encode-vae reconstruct fp.npy --channel ss -o rebuilt_ss.afa"
)

FORMATS = ("tsv", "npy", "txt")


def _per_residue(
    ss: Path | None, sa: Path | None, records, ss_model: str | None, threads: int
) -> list[tuple[str, str]]:
    """SS/SA per row: from files (ids must match) or predicted on the ungapped rows."""
    from protfam_core.ss.formats import read_per_residue

    if (ss is None) != (sa is None):
        raise InputError("give both --ss and --sa, or neither (then they are predicted)")
    if ss is None:
        from protfam_core.registry.bundles import resolve
        from protfam_core.ss.predict import SSPredictor

        predictor = SSPredictor(resolve(ss_model, "ss"), threads)
        return [tuple(x) for x in predictor.predict([r.seq.replace("-", "") for r in records])]
    ss_map, sa_map = read_per_residue(ss, "ss"), read_per_residue(sa, "sa")
    missing = [r.id for r in records if r.id not in ss_map or r.id not in sa_map]
    if missing:
        raise InputError(f"no SS/SA for {len(missing)} rows (first: {missing[0]!r}); ids must match the alignment")
    return [(ss_map[r.id], sa_map[r.id]) for r in records]


@app.command()
def encode(
    ctx: typer.Context,
    alignment: Annotated[
        str,
        typer.Argument(help="placements (prep-msa place, predict-ss), or aligned rows of ONE frame width; '-' = stdin"),
    ],
    out: Annotated[str, typer.Option("--out", "-o", help="output: file ('-' = stdout for tsv) or folder (txt)")] = "-",
    fmt: Annotated[str, typer.Option("--format", "-f", help="tsv | npy | txt (authors' files)")] = "tsv",
    ss: Annotated[Path | None, typer.Option(help="SS strings (H/E/C) per id, FASTA-like (SCRATCH .ss)")] = None,
    sa: Annotated[Path | None, typer.Option(help="SA strings (e/b; SCRATCH .acc '-' = b) per id")] = None,
    model: Model = None,
    ss_model: Annotated[str | None, typer.Option(help="SS/SA model if no --ss/--sa (default: the VAE's own)")] = None,
    threads: Threads = 0,
) -> None:
    """Fingerprints (z_mean, 30 floats per channel aa, ss, sa) of placed or aligned rows, on onnxruntime.

    Placements in (the third stage of the pipe): one TSV row per candidate placement, `query_id frame domain start
    end evalue` then the 90 floats; a query without a candidate gets one row with frame '-' and NA. Placements
    without SS/SA get it from the SS model the VAE was trained with; the VAE defaults to the one the shipped
    classifier was trained with.

    Aligned rows in: SS/SA strings may be per residue (the row without gaps, as SCRATCH writes them) or aligned to
    the row.
    tsv: a '# model' comment, a header `id aa1..aa30 ss1..ss30 sa1..sa30`, one row per sequence.
    npy: an (n, 3, 30) float32 array in input order, ids one per line in <out>.ids.
    txt: the authors' files, OUT/<channel>/<id>.txt with 30 floats one per line ('/' in ids becomes '_').

    Examples:
      prep-msa place q.fasta | predict-ss predict - | encode-vae encode - > fp.tsv
      prep-msa place q.fasta --frames build/dataset --family tln | encode-vae encode - > fp.tsv
      encode-vae encode rows.afa --ss rows.ss --sa rows.acc --format txt --out latent/
    """
    from protfam_core.io.fingerprints import write_fingerprints
    from protfam_core.io.placements import parse_placements, stage_of
    from protfam_core.io.seqio import parse_alignment, read_text
    from protfam_core.vae.encode import Fingerprinter, rows_from_alignment

    if fmt not in FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})", param_hint="--format")
    if fmt != "tsv" and out == "-":
        raise typer.BadParameter(f"--format {fmt} needs --out PATH", param_hint="--out")
    name, text = read_text(alignment, ctx.obj.stdin)
    threads = resolve_threads(threads)
    if stage_of(text) == "placements":
        if fmt != "tsv" or ss is not None or sa is not None:
            raise InputError("placements are encoded to tsv, with the SS/SA of predict-ss (no --ss/--sa)")
        from protfam_core.io.atomic import write_text
        from protfam_core.io.fingerprints import framed_tsv_text
        from protfam_core.registry.bundles import chain_bundle
        from protfam_core.ss.predict import with_ss

        fp = Fingerprinter(model or chain_bundle("vae"), threads)
        fps = fp.encode_queries(with_ss(parse_placements(name, text), ss_model or fp.ss_model, threads))
        write_text(framed_tsv_text(fps), out, ctx.obj.stdout)
        return
    records = parse_alignment(name, text)
    fp = Fingerprinter(model, threads)
    name = "stdin" if alignment == "-" else alignment
    if len(records[0].seq) > fp.width:
        raise InputError(
            f"{name}: rows are {len(records[0].seq)} columns wide, model {fp.model_id} takes at most {fp.width}"
        )
    # Default to the SS model the VAE was trained on, not whichever is champion now.
    ss_model = ss_model or fp.bundle.card.get("params", {}).get("ss_model")
    rows = rows_from_alignment([r.seq for r in records], _per_residue(ss, sa, records, ss_model, threads))
    z = fp.encode_rows(rows)
    write_fingerprints([r.id for r in records], z, fmt, out, fp.model_id, ctx.obj.stdout)


@app.command()
def reconstruct(
    ctx: typer.Context,
    fingerprints: Annotated[str, typer.Argument(help="fingerprints from `encode` (tsv or .npy; '-' = stdin)")],
    out: Annotated[str, typer.Option("--out", "-o", help="aligned FASTA ('-' = stdout)")] = "-",
    width: Annotated[int | None, typer.Option(help="frame width to cut the rows to (default: model width)")] = None,
    channel: Annotated[str, typer.Option(help="aa | ss | sa")] = "aa",
    model: Model = None,
) -> None:
    """Rows back from their fingerprints through the decoders (most probable symbol per column), onnxruntime only.

    Examples:
      encode-vae encode rows.afa | encode-vae reconstruct - --width 180 > rebuilt.afa
      encode-vae reconstruct fp.npy --channel ss -o rebuilt_ss.afa
    """
    from protfam_core.io.alphabet import CHANNEL_ORDER
    from protfam_core.io.fingerprints import read_fingerprint_matrix
    from protfam_core.io.seqio import Record, write_fasta
    from protfam_core.vae.encode import Fingerprinter

    if channel not in CHANNEL_ORDER:
        choices = ", ".join(CHANNEL_ORDER)
        raise typer.BadParameter(f"unknown channel {channel!r} (one of {choices})", param_hint="--channel")
    fp = Fingerprinter(model)
    ids, z = read_fingerprint_matrix(fingerprints, fp.latent_dim, ctx.obj.stdin)
    rows = fp.decode_rows(z, width)[channel]
    write_fasta([Record(i, r) for i, r in zip(ids, rows, strict=True)], ctx.obj.stdout if out == "-" else out, width=0)


register(app)


def main(argv: list[str] | None = None, stdout=None, stderr=None, stdin=None) -> int:
    return run(app, "encode-vae", argv, stdout, stderr, stdin)


if __name__ == "__main__":
    raise SystemExit(main())
