"""prep-msa: align family sequence sets, apply the paper's gap rules, split, place sequences into family frames."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from protfam_tools._cli import DomainEvalue, FallbackEvalue, Model, Out, SearchEvalue, Threads, new_app, run
from protfam_tools._options import Backend

from protfam_core.frames.frameset import FrameSet
from protfam_core.io.atomic import write_text
from protfam_core.io.seqio import format_alignment, read_alignment, read_sequences
from protfam_core.msa.aligners import DEFAULT_BACKEND, align
from protfam_core.msa.gaps import COLUMN_GAP_THRESHOLD, SEQUENCE_GAP_THRESHOLD, apply_gap_rules
from protfam_core.threads import resolve_threads

app = new_app(
    "Align protein families, apply the paper's gap rules, split them, and place new sequences in frames.\n\n"
    "Examples:\n"
    "  prep-msa align fam.fasta | prep-msa filter - > fam.filtered.afa\n"
    "  prep-msa place query.fasta --family Fork_head > query.a2m\n"
    "  prep-msa build ../shared/data/families/exthomfam build/dataset",
    lazy=dict.fromkeys(("split", "build", "subset"), "protfam_tools._prep_msa_dataset"),  # registered when named
)

Fmt = Annotated[str, typer.Option("--format", "-f", help="Output format: fasta, stockholm or clustal.")]


@app.command("align")
def align_cmd(
    ctx: typer.Context,
    input: Annotated[str, typer.Argument(help="Unaligned sequences (FASTA, Stockholm, Clustal, PIR; gz ok), '-'.")],
    out: Out = "-",
    backend: Backend = DEFAULT_BACKEND,
    fmt: Fmt = "fasta",
    threads: Threads = 0,
) -> None:
    """Align one family's sequences.

    Examples:
      cat fam.fasta | prep-msa align - > fam.afa
      prep-msa align fam.fasta.gz --backend clustalw --format clustal -o fam.aln
    """
    records = read_sequences(input, stdin=ctx.obj.stdin)
    write_text(format_alignment(align(records, backend, resolve_threads(threads)), fmt), out, ctx.obj.stdout)


@app.command("filter")
def filter_cmd(
    ctx: typer.Context,
    input: Annotated[str, typer.Argument(help="An alignment (FASTA, Stockholm, Clustal, A2M), '-' for stdin.")],
    out: Out = "-",
    sequence_gap: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Step 1: drop sequences with residues in columns with more than this gap fraction."
        ),
    ] = SEQUENCE_GAP_THRESHOLD,
    column_gap: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Step 2: then drop columns with more than this gap fraction, or a residue in one row only.",
        ),
    ] = COLUMN_GAP_THRESHOLD,
    fmt: Fmt = "fasta",
) -> None:
    """Apply the paper's two gap steps to an alignment (dropped sequence ids go to stderr).

    Examples:
      prep-msa align fam.fasta | prep-msa filter - > fam.filtered.afa
      prep-msa filter fam.aln --column-gap 0.5 --format stockholm -o fam.sto
    """
    result = apply_gap_rules(read_alignment(input, stdin=ctx.obj.stdin), sequence_gap, column_gap)
    write_text(format_alignment(result.rows, fmt), out, ctx.obj.stdout)
    ctx.obj.log(
        f"kept {len(result.rows)} sequences x {len(result.columns)} columns; dropped {len(result.dropped)} sequences"
        + (f": {' '.join(result.dropped)}" if result.dropped else "")
    )


def _frames(ref: str) -> tuple[FrameSet, str]:
    """Frames from a frames.hmm file, a dataset folder or a registry reference, and how outputs name them."""
    path = Path(ref)
    if path.exists():
        return FrameSet.load(path / "frames.hmm" if path.is_dir() else path), str(path)
    from protfam_core.registry.bundles import resolve

    bundle = resolve(ref, "frames")
    return FrameSet.load(bundle.file("hmm")), bundle.ref


@app.command("place")
def place_cmd(
    ctx: typer.Context,
    input: Annotated[str, typer.Argument(help="Raw sequences to place (FASTA etc.), '-' for stdin.")],
    frames: Annotated[
        str | None,
        typer.Option(
            "--frames", help="frames.hmm, a dataset folder, or a model (default: the frames --model was trained with)."
        ),
    ] = None,
    model: Model = None,
    family: Annotated[str | None, typer.Option(help="Force every sequence into this family's frame.")] = None,
    out: Out = "-",
    evalue: SearchEvalue = None,
    domain_evalue: DomainEvalue = None,
    fallback_evalue: FallbackEvalue = None,
    threads: Threads = 0,
) -> None:
    """Place sequences into family frames: every candidate placement, as A2M with structured headers.

    Without --family, one search of all frames (and the sensitive search for the sequences it misses, as
    classify-cnn predict does) gives each sequence its candidate domains, best first: every domain of a family within
    the E-value cuts of the classifier (--model, as classify-cnn predict --model takes it; default: the shipped one),
    numbered along the sequence; a sequence without any gets one `family=-` record.
    With --family every sequence is forced into that frame (hmmalign; the paper's protocol).
    Each record: `>ID family=F start=S end=E score=BITS evalue=E frames=...`, then the whole sequence with the frame's
    match columns upper case, insertions and flanks lower case and '-' for empty columns.

    Examples:
      prep-msa place query.fasta | predict-ss predict - | encode-vae encode - | classify-cnn predict -
      prep-msa place q.fa --model fams | encode-vae encode - --model fams-vae | classify-cnn predict - --model fams
      prep-msa place query.fasta --family Fork_head > query.a2m
      prep-msa place query.fasta --frames build/dataset --family tln > query.a2m
    """
    from protfam_core.cnn.classify import FallbackShortlist, model_frames
    from protfam_core.frames.frameset import force_queries, place_queries
    from protfam_core.io.placements import format_queries
    from protfam_core.registry.bundles import resolve

    records = read_sequences(input, stdin=ctx.obj.stdin)
    # the model's frames, cuts and fallback, as classify-cnn predict --model takes them; forcing into given frames
    # reads no model
    cnn = resolve(model, "cnn") if frames is None or family is None else None
    if frames is None:
        bundle, frame_set, shortlist = model_frames(cnn)
        frames_ref = bundle.ref
    else:
        frame_set, frames_ref = _frames(frames)
        shortlist = FallbackShortlist.of(cnn, frame_set) if cnn is not None else None  # its own frames only
    if family is not None:
        queries = force_queries(frame_set, records, family, frames_ref)
    else:
        from protfam_core.cnn.settings import ChainSettings

        search = {"evalue": evalue, "domain_evalue": domain_evalue, "fallback_evalue": fallback_evalue}
        settings = ChainSettings.from_cards(cnn.card, **search, source=f"{cnn.ref} model card").search
        queries = place_queries(frame_set, records, settings, resolve_threads(threads), frames_ref, shortlist)
        missing = [q.id for q in queries if not q.candidates]
        if missing:
            ctx.obj.log(f"no frame found for {len(missing)} sequences: {' '.join(missing)}")
    write_text(format_queries(queries), out, ctx.obj.stdout)


def main(argv: list[str] | None = None, stdout=None, stderr=None, stdin=None) -> int:
    """Entry point of the prep-msa console script."""
    return run(app, "prep-msa", argv, stdout, stderr, stdin)


if __name__ == "__main__":
    raise SystemExit(main())
