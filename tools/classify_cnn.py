"""classify-cnn: the family of raw protein sequences (the whole chain), CNN training and Table 1 evaluation."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer
from protfam_tools._cli import (
    DomainEvalue,
    FallbackEvalue,
    Model,
    Out,
    SearchEvalue,
    Threads,
    new_app,
    run,
)

from protfam_core.cnn import tables
from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.errors import InputError
from protfam_core.io.atomic import write_text
from protfam_core.threads import resolve_threads

# The training commands, registered by their module when named: predict and families never import them.
TRAINING = ("train", "train-fast", "calibrate", "evaluate", "easy-train", "chain")
app = new_app(
    "Family of raw protein sequences with the paper's CNN on VAE fingerprints; training and evaluation.\n\n"
    "Examples:\n"
    "  classify-cnn predict examples/queries.fasta > calls.tsv\n"
    "  classify-cnn predict --fast --threads 0 proteome.fasta > calls.tsv\n"
    "  classify-cnn predict --domains examples/multidomain.fasta\n"
    "  classify-cnn evaluate --dataset build/dataset --out build/report",
    lazy=dict.fromkeys(TRAINING, "protfam_tools._classify_cnn_train"),
)
Frames = Annotated[str | None, typer.Option(help="Frames bundle (default: the one the CNN was trained with).")]


@app.command()
def predict(
    ctx: typer.Context,
    sequences: Annotated[
        str,
        typer.Argument(
            help="Raw protein FASTA (any seqio format, gzip ok), or any stage of the pipe: placements (prep-msa place, "
            "predict-ss), fingerprints (encode-vae encode); '-' for stdin. The kind is read from the content."
        ),
    ],
    top_k: Annotated[int, typer.Option("--top-k", min=0, help="Also list the N best candidate families.")] = 0,
    model: Model = None,
    frames: Frames = None,
    vae: Annotated[str | None, typer.Option(help="VAE bundle (default: the one the CNN was trained with).")] = None,
    ss: Annotated[str | None, typer.Option(help="SS/SA bundle (default: the one the CNN was trained with).")] = None,
    threshold: Annotated[
        float | None,
        typer.Option(help="Score below which a call is 'unassigned' (default: the model's)."),
    ] = None,
    evalue: SearchEvalue = None,
    domain_evalue: DomainEvalue = None,
    fallback_evalue: FallbackEvalue = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Sequences per batch (memory grows with it).")] = 1024,
    domains: Annotated[
        bool,
        typer.Option(
            "--domains",
            help="One row per called domain: query_id family start end score evalue (the rows the per-protein call "
            "is chosen from).",
        ),
    ] = False,
    fast: Annotated[
        bool,
        typer.Option(
            "--fast",
            help="For large inputs: queries the fast path is sure of (3-mer prefilter, forced placement, amino-acid "
            "CNN) skip the frame search and SS/SA; the others take the full chain. Raw sequences, per-protein calls.",
        ),
    ] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="tsv (default); tblout / domtblout (with --domains): HMMER3 hmmscan tables, target = family; gff3: a "
            "protein_match per called protein or domain; jsonl: a metadata record, then one object per row.",
        ),
    ] = "tsv",
    out: Out = "-",
    threads: Threads = 0,
) -> None:
    """Classify sequences whose family is unknown: TSV query_id, family, score, evalue (one row per input, in order).

    A sequence is searched against every family frame; each domain of a family that HMMER calls significant (the
    model's whole-sequence and domain E-value cuts, -E and --domE) is placed, fingerprinted and scored by the CNN.
    Domains scoring at least the threshold are called (of two families claiming one segment, the better-scoring
    stays); the protein's call is its best called domain, with that domain's score and independent E-value, and
    'unassigned' when it has none. --domains lists every called domain instead, so the two tables always agree.
    This command is the pipe of the stage tools, and gives the same rows:
    prep-msa place | predict-ss predict | encode-vae encode | classify-cnn predict.

    Examples:
      classify-cnn predict examples/queries.fasta
      classify-cnn predict --domains examples/multidomain.fasta
      classify-cnn predict --domains --format domtblout examples/multidomain.fasta > domains.domtblout
      classify-cnn predict --fast --threads 0 proteome.fasta > calls.tsv
      cat queries.fasta | classify-cnn predict - --top-k 3 > calls.tsv
      prep-msa place q.fa | predict-ss predict - | encode-vae encode - | classify-cnn predict -
    """
    if fast and domains:
        raise InputError("--fast gives per-protein calls; --domains takes the full chain")
    tables.check_format(fmt, domains, top_k)
    search = {"evalue": evalue, "domain_evalue": domain_evalue, "fallback_evalue": fallback_evalue}
    classifier = FamilyClassifier(
        model, frames, vae, ss, threshold, **search, threads=resolve_threads(threads), fast=fast
    )
    records, fps = classifier.read_input(sequences, ctx.obj.stdin)
    if records is None:
        results = classifier.answer(fps, domains, batch_size)
    else:
        run_chain = classifier.predict_domains if domains else classifier.predict
        with ctx.obj.progress() as bar:
            task = bar.add_task("classifying", total=len(records))
            results = run_chain(records, batch_size, partial(bar.advance, task))
    write_text(tables.format_table(fmt, results, domains, top_k, classifier), out, stdout=ctx.obj.stdout)


@app.command()
def families(ctx: typer.Context, model: Model = None, out: Out = "-") -> None:
    """List every family of a model: TSV family, frame_length, frame_sequences (the sequences its frame HMM was built
    from), accession and description (NA where the frames file gives none).

    Example:
      classify-cnn families > families.tsv
    """
    write_text(tables.format_families(model), out, stdout=ctx.obj.stdout)


def main(argv: list[str] | None = None, stdout=None, stderr=None, stdin=None) -> int:
    return run(app, "classify-cnn", argv, stdout, stderr, stdin)


if __name__ == "__main__":
    raise SystemExit(main())
