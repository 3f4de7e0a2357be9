"""prep-msa's dataset commands (split, build, subset): shells over msa.dataset, registered on the tool's app by
`register` when one of them is named."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Annotated

import typer
from protfam_tools._cli import Out, Threads
from protfam_tools._options import Backend
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from protfam_core.errors import InputError
from protfam_core.io.atomic import write_text
from protfam_core.msa.aligners import DEFAULT_BACKEND
from protfam_core.msa.dataset import (
    BuildOptions,
    build_dataset,
    clean_families,
    manifest_text,
    read_families,
    sample_and_split,
    subset_dataset,
)
from protfam_core.msa.split import SPLITS
from protfam_core.threads import resolve_threads

_DEFAULTS = BuildOptions()
_FRACTIONS = ",".join(f"{x:g}" for x in _DEFAULTS.fractions)


def _options(params: dict[str, object], **fixed: object) -> BuildOptions:
    """The BuildOptions of a command's parameters, each option named as its field (--family fills `families`)."""
    names = {f.name for f in fields(BuildOptions)}
    given = {k: v for k, v in params.items() if k in names} | {"families": params["family"]} | fixed
    return BuildOptions.parsed(**given)


SplitMode = Annotated[str, typer.Option("--split", help="random (stratified per family) or cluster (MMseqs2).")]
Seed = Annotated[int, typer.Option(help="Random seed of sampling and splitting.")]
PerFamily = Annotated[int, typer.Option(help="At most this many sequences per family (before the training spares).")]
MinSize = Annotated[int, typer.Option(help="Drop families with fewer sequences after filtering.")]
Fractions = Annotated[str, typer.Option(help="train,val,test fractions.")]
MinLen = Annotated[int, typer.Option(help="Shortest sequence kept.")]
MaxLen = Annotated[int, typer.Option(help="Longest sequence kept.")]
Families = Annotated[list[str] | None, typer.Option("--family", help="Only these families (repeatable).")]
MinId = Annotated[float, typer.Option(min=0.0, max=1.0, help="Cluster split: MMseqs2 --min-seq-id.")]


def split_cmd(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="Folder of family files (<family>.fasta[.gz]).")],
    out: Out = "-",
    split: SplitMode = "random",
    per_family: PerFamily = _DEFAULTS.per_family,
    min_family_size: MinSize = _DEFAULTS.min_family_size,
    fractions: Fractions = _FRACTIONS,
    min_length: MinLen = _DEFAULTS.min_length,
    max_length: MaxLen = _DEFAULTS.max_length,
    family: Families = None,
    min_seq_id: MinId = _DEFAULTS.min_seq_id,
    seed: Seed = _DEFAULTS.seed,
) -> None:
    """Clean, sample and split families; write the manifest TSV (seq_id, family, split[, cluster]).

    Examples:
      prep-msa split ../shared/data/families/exthomfam -o split.tsv
      prep-msa split families/ --split cluster --min-seq-id 0.5 --per-family 100 --min-family-size 100
    """
    opts = _options(locals(), oversample=1.0)
    families, _ = clean_families(read_families(source, opts.families), opts)
    splits, clusters = sample_and_split(families, opts)
    rows = ((r, fam, name) for fam, parts in splits.items() for name in SPLITS for r in getattr(parts, name))
    write_text(manifest_text(rows, clusters), out, ctx.obj.stdout)


def build_cmd(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="Folder of family files (<family>.fasta[.gz]).")],
    out: Annotated[Path, typer.Argument(help="Dataset folder to create (replaced if it exists).")],
    backend: Backend = DEFAULT_BACKEND,
    split: SplitMode = "random",
    per_family: PerFamily = _DEFAULTS.per_family,
    min_family_size: MinSize = _DEFAULTS.min_family_size,
    fractions: Fractions = _FRACTIONS,
    min_length: MinLen = _DEFAULTS.min_length,
    max_length: MaxLen = _DEFAULTS.max_length,
    family: Families = None,
    min_seq_id: MinId = _DEFAULTS.min_seq_id,
    oversample: Annotated[
        float,
        typer.Option(min=1.0, help="Training pool size / training target: spares replace rows the gap rules drop."),
    ] = _DEFAULTS.oversample,
    seed: Seed = _DEFAULTS.seed,
    threads: Threads = 0,
) -> None:
    """Build the benchmark dataset: clean, merge duplicate families, split, align training members, filter, frames.

    Writes manifest.tsv, sequences.fasta, frames.hmm, alignments/<family>.afa and card.json (last).

    Examples:
      prep-msa build ../shared/data/families/exthomfam build/dataset
      prep-msa build ../shared/data/families/exthomfam build/dataset_cluster --split cluster
      prep-msa build ../shared/data/families/exthomfam build/dataset_paper --min-length 50 --min-family-size 500
      prep-msa build families/ mini --family tln --family DEATH --per-family 80
    """
    opts = _options(locals(), threads=resolve_threads(threads))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with ctx.obj.progress(*columns) as bar:
        tasks: dict[str, int] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        card = build_dataset(source, out, opts, tick)
    counts = card["counts"]
    summary = {k: counts[k] for k in ("families", "sequences", "train", "val", "test")}
    ctx.obj.log(f"{out}: {json.dumps(summary)}")


def subset_cmd(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Argument(help="A dataset folder built by prep-msa build.")],
    out: Annotated[Path, typer.Argument(help="Small dataset folder to create (replaced if it exists).")],
    family: Annotated[list[str], typer.Option("--family", help="Families to keep (repeatable).")],
    counts: Annotated[str, typer.Option(help="train,val,test members per family.")] = "60,10,10",
    backend: Backend = DEFAULT_BACKEND,
    seed: Seed = 0,
) -> None:
    """Cut a small dataset (for tests) from a built one: splits kept, training members re-aligned into new frames.

    Examples:
      prep-msa subset build/dataset tests/data/mini --family il8 --family toxin --counts 60,10,10
    """
    try:
        train, val, test = (int(x) for x in counts.split(","))
    except ValueError:
        raise InputError(f"--counts must be three integers like 60,10,10, got {counts!r}") from None
    card = subset_dataset(dataset, out, family, (train, val, test), BuildOptions(backend=backend, seed=seed))
    summary = {k: card["counts"][k] for k in ("families", "sequences", "train", "val", "test")}
    ctx.obj.log(f"{out}: {json.dumps(summary)}")


def register(app: typer.Typer) -> None:
    """Add the dataset commands to prep-msa's app, after its own."""
    app.command("split")(split_cmd)
    app.command("build")(build_cmd)
    app.command("subset")(subset_cmd)
