"""predict-ss: 3-state secondary structure and 2-state solvent accessibility, predicted or read from SCRATCH/DSSP."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from protfam_tools._cli import Out, Threads, new_app, run
from protfam_tools._predict_ss_train import register

from protfam_core.errors import InputError
from protfam_core.io.atomic import write_text
from protfam_core.io.placements import parse_placements, stage_of
from protfam_core.io.seqio import Record, parse_sequences, read_alignment, read_text
from protfam_core.ss.backends import BACKENDS, predict_dssp, predict_model, predict_scratch
from protfam_core.ss.formats import FORMATS, format_results
from protfam_core.threads import resolve_threads

if TYPE_CHECKING:
    pass

app = new_app(
    "Secondary structure (H/E/C) and solvent accessibility (exposed/buried at 25% RSA) of proteins.\n\n"
    "Examples:\n"
    "  predict-ss predict proteins.fasta > proteins.ss\n"
    "  predict-ss predict proteins.fasta --model ss-predictor/5 > proteins.ss\n"
    "  predict-ss predict --backend dssp --structure 1cbs.cif.gz --format tsv"
)


@app.command()
def predict(
    ctx: typer.Context,
    sequences: str = typer.Argument(
        None,
        help="Protein FASTA, placements from prep-msa place, or an alignment with --msa; '-' for stdin; not used with "
        "--backend dssp.",
    ),
    output_format: str = typer.Option(
        None,
        "--format",
        "-f",
        help="ss (SCRATCH .ss, the default), acc (SCRATCH .acc: e/-), sa (e/b), tsv (per residue), json; placements "
        "in give placements with SS/SA out.",
    ),
    msa: bool = typer.Option(False, "--msa", help="Input is an alignment: gapped SS/SA strings of its exact width."),
    backend: str = typer.Option("model", help="model (the shipped ONNX predictor), scratch or dssp."),
    model: str = typer.Option(None, help="SS bundle: name, name@alias, name/version or a folder (default: shipped)."),
    scratch_dir: str = typer.Option(None, help="Folder of SCRATCH-1D outputs (.ss/.ss8, .acc/.acc20) for scratch."),
    structure: str = typer.Option(None, help="PDB or mmCIF file for --backend dssp (runs mkdssp)."),
    chain: str = typer.Option(None, help="Comma-separated chain ids of --structure to report (default: all)."),
    out: Out = "-",
    threads: Threads = 0,
) -> None:
    """Per-residue SS and SA of every input sequence.

    Given placements (prep-msa place), the SS/SA of each whole query is added to its records, predicted by the SS
    model the shipped classifier was trained with (or --model): the second stage of the classification pipe.

    Examples:
      prep-msa place q.fasta | predict-ss predict - | encode-vae encode - | classify-cnn predict -
      predict-ss predict proteins.fasta > proteins.ss
      predict-ss predict proteins.fasta --format tsv -o proteins.tsv
      predict-ss predict family.afa --msa --format sa      # gapped e/b strings, the alignment's width
      predict-ss predict test.fasta --backend scratch --scratch-dir scratch_out/ --format json
      predict-ss predict --backend dssp --structure 1cbs.cif.gz --chain A --format tsv
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r} (one of {', '.join(BACKENDS)})")
    if output_format is not None and output_format not in FORMATS:
        raise InputError(f"unknown format {output_format!r} (one of {', '.join(FORMATS)})")
    aligned = None
    model_id = backend
    if backend == "dssp":
        if structure is None:
            raise InputError("--backend dssp needs --structure FILE")
        if msa or sequences is not None:
            raise InputError("--backend dssp reads the chains of --structure; give no sequence input and no --msa")
        results = predict_dssp(structure, chain.split(",") if chain else None)
        model_id = f"dssp:{Path(structure).name}"
    else:
        if sequences is None:
            raise InputError("give a FASTA file (or '-' for stdin)")
        if msa:
            rows = read_alignment(sequences, stdin=ctx.obj.stdin)
            aligned = {r.id: r.seq for r in rows}
            if len(aligned) != len(rows):
                raise InputError(f"{sequences}: duplicate sequence ids in the alignment")
            records = [Record(r.id, r.seq.replace("-", "").replace(".", ""), r.description) for r in rows]
        else:
            name, text = read_text(sequences, ctx.obj.stdin)
            if stage_of(text) == "placements":
                _annotate(ctx, parse_placements(name, text), backend, output_format, model, out, threads)
                return
            records = parse_sequences(name, text)
        if backend == "scratch":
            if scratch_dir is None:
                raise InputError("--backend scratch needs --scratch-dir DIR")
            results = predict_scratch(records, scratch_dir)
            model_id = f"scratch:{scratch_dir}"
        else:
            with ctx.obj.progress() as bar:
                task = bar.add_task("predicting", total=sum(len(r.seq) for r in records))
                results, model_id = predict_model(
                    records, model, lambda n: bar.advance(task, n), threads=resolve_threads(threads)
                )
    write_text(format_results(results, output_format or "ss", model_id, aligned), out, ctx.obj.stdout)


def _annotate(ctx: typer.Context, queries, backend: str, output_format: str | None, model, out, threads) -> None:
    """Stage 2 of the pipe: placements in, the same placements with each query's SS/SA out."""
    from protfam_core.io.placements import format_queries
    from protfam_core.registry.bundles import chain_bundle
    from protfam_core.ss.predict import SSPredictor

    if backend != "model" or output_format is not None:
        raise InputError("placements in give placements with SS/SA out: no --format, and --backend model only")
    predictor = SSPredictor(model or chain_bundle("ss"), resolve_threads(threads))
    write_text(format_queries(predictor.annotate(queries)), out, ctx.obj.stdout)


register(app)


def main(argv: list[str] | None = None, stdout=None, stderr=None, stdin=None) -> int:
    return run(app, "predict-ss", argv, stdout, stderr, stdin)


if __name__ == "__main__":
    raise SystemExit(main())
