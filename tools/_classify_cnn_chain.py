"""classify-cnn chain: easy-train's work as steps for a workflow manager (the Nextflow pipeline's train mode), each a
shell over workflow.scatter; registered on the tool's app by _classify_cnn_train."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from protfam_tools._cli import Threads
from protfam_tools._options import (
    Backend,
    Epochs,
    Families,
    HoldOut,
    MinFamilySize,
    Name,
    NetworkMinutes,
    PerFamily,
    Seed,
    Ss,
    Unknown,
)

from protfam_core.errors import require
from protfam_core.threads import resolve_threads
from protfam_core.workflow.scatter import ANNOTATE_CHUNK
from protfam_core.workflow.train_chain import TrainSettings

app = typer.Typer(
    help="A chain's training as separate steps (the Nextflow pipeline's train mode runs each as its own task): "
    "prepare, align (per family), assemble, annotate (per chunk), train, publish. `classify-cnn easy-train` runs "
    "the same in one process.",
    no_args_is_help=True,
)
Folder = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]


@app.command()
def prepare(
    ctx: typer.Context,
    families: Families,
    name: Name,
    out: Folder = Path("prepared"),
    unknown: Unknown = None,
    hold_out: HoldOut = None,
    epochs: Epochs = None,
    max_minutes: NetworkMinutes = None,
    min_family_size: MinFamilySize = TrainSettings.min_family_size,
    per_family: PerFamily = TrainSettings.per_family,
    backend: Backend = TrainSettings.backend,
    ss: Ss = None,
    seed: Seed = TrainSettings.seed,
) -> None:
    """Read, check and split the families; write one part per family (the align step's input) and the plan, which
    holds every setting of the training. Bad input is one error line and nothing written.

    Example:
      classify-cnn chain prepare tests/data/easy_train --name demo --epochs 2 -o prepared
    """
    from protfam_core.workflow.scatter import prepare as prepare_chain

    settings = TrainSettings(name, seed, epochs, max_minutes, min_family_size, per_family, backend, hold_out, ss)
    plan = prepare_chain(families, out, settings, unknown or ())
    ctx.obj.log(plan["note"])
    ctx.obj.stdout.write("".join(f"{out}/parts/{fam}.json\n" for fam in plan["families"]))


@app.command()
def align(
    ctx: typer.Context,
    part: Annotated[Path, typer.Argument(help="A family's part file from `chain prepare` (parts/FAMILY.json).")],
    out: Folder = Path("aligned"),
    threads: Threads = 1,
) -> None:
    """Align one family's training members, apply the gap rules and build its frame: FAMILY.afa, .json, .hmm.

    Example:
      classify-cnn chain align prepared/parts/rrm.json -o aligned
    """
    from protfam_core.workflow.scatter import align as align_part

    ctx.obj.stdout.write(f"{align_part(part, out, resolve_threads(threads))}\n")


@app.command()
def assemble(
    ctx: typer.Context,
    prepared: Annotated[Path, typer.Argument(help="The folder of `chain prepare`.")],
    aligned: Annotated[list[Path], typer.Argument(help="Outputs of `chain align`: files, or folders of them.")],
    out: Folder = Path("dataset"),
    chunks: Annotated[Path, typer.Option(help="TSV of the annotate chunks: split, start, end.")] = Path("chunks.tsv"),
    chunk_size: Annotated[int, typer.Option(min=1, help="Members per annotate chunk.")] = ANNOTATE_CHUNK,
) -> None:
    """The dataset (as `prep-msa build` writes it) from the plan and every family's alignment and frame, and the
    chunks of its train and validation members for `chain annotate`.

    Example:
      classify-cnn chain assemble prepared aligned -o dataset --chunks chunks.tsv --chunk-size 50
    """
    from protfam_core.workflow.scatter import assemble as assemble_dataset

    card = assemble_dataset(prepared, aligned, out, chunks, chunk_size)
    ctx.obj.log(f"{card['counts']['families']} families, {card['counts']['sequences']} sequences")
    ctx.obj.stdout.write(f"{out}\t{card['checksum']}\n")


@app.command()
def annotate(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Argument(help="The dataset of `chain assemble`.")],
    split: Annotated[str, typer.Option(help="train or val.")],
    start: Annotated[int, typer.Option(min=0, help="First member (0-based, manifest order).")],
    end: Annotated[int, typer.Option(min=0, help="One past the last member.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .npz, named SPLIT.START.npz for `chain train`.")],
    ss: Ss = None,
    threads: Threads = 1,
) -> None:
    """Predict SS/SA of one chunk of a split's members, for the feature cache that `chain train` fills.

    Example:
      classify-cnn chain annotate dataset --split train --start 0 --end 50 -o train.0.npz
    """
    from protfam_core.workflow.scatter import annotate as annotate_chunk

    n = annotate_chunk(dataset, split, start, end, out, ss, resolve_threads(threads))
    ctx.obj.stdout.write(f"{out}\t{n}\n")


@app.command()
def train(
    ctx: typer.Context,
    prepared: Annotated[Path, typer.Argument(help="The folder of `chain prepare` (its plan holds the settings).")],
    dataset: Annotated[Path, typer.Argument(help="The dataset of `chain assemble`.")],
    annotated: Annotated[list[Path], typer.Argument(help="Every chunk of `chain annotate` (SPLIT.START.npz).")],
    out: Folder = Path("trained"),
    threads: Threads = 1,
) -> None:
    """Train the VAE and the CNN, calibrate, train the fast path and measure the chain, as easy-train does; the
    bundles land in OUT/registry (a registry folder of their own), the summary in OUT/summary.json.

    Example:
      classify-cnn chain train prepared dataset train.*.npz val.*.npz -o trained --threads 4
    """
    require("train", "torch", "onnx", "sklearn")
    from protfam_core.workflow.scatter import train as train_scattered

    summary = train_scattered(prepared, dataset, annotated, out, resolve_threads(threads),
                              lambda stage, message: ctx.obj.log(f"{stage}: {message}"))  # fmt: skip
    val = summary["validation"]
    ctx.obj.log(f"validation accuracy {val['accuracy']:.3f} on {val['members']} members")
    ctx.obj.stdout.write(f"{summary['model']}\t{summary['registry']}\t{out}/summary.json\n")


@app.command()
def publish(
    ctx: typer.Context,
    trained: Annotated[Path, typer.Argument(help="The registry folder of `chain train` (OUT/registry).")],
    name: Name,
    registry: Annotated[
        Path | None, typer.Option(help="Registry folder to publish into (default: $PROTFAM_REGISTRY, else installed).")
    ] = None,
) -> None:
    """Publish the trained chain: NAME and NAME-fast under the champion alias (not the defaults), with the frames,
    the VAE and the SS model they name; `classify-cnn predict --model NAME` then uses it.

    Example:
      classify-cnn chain publish trained/registry --name demo --registry /data/protfam/registry
    """
    from protfam_core.registry.bundles import registry_dir
    from protfam_core.workflow.scatter import publish_trained

    root = registry or registry_dir()
    root.mkdir(parents=True, exist_ok=True)
    names = publish_trained(trained, name, root)
    ctx.obj.stdout.write("".join(f"{model}\t{root}\n" for model in names))
