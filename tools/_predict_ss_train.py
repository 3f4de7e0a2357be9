"""predict-ss's training commands (train, ensemble): shells over ss.model, registered on the tool's app by
`register`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from protfam_tools._cli import LearningRate, MaxMinutes, OldLr, OldTimeLimit, Threads, alias_of

from protfam_core.errors import InputError, require
from protfam_core.threads import resolve_threads

if TYPE_CHECKING:
    from protfam_core.ss.model import Sources


DATA = "../shared/data"  # the reference data beside the checkout, as in the project layout
CathDssp = Annotated[str, typer.Option(help="Folder with dssp.tar.xz and CATH_info.txt.")]
Flip = Annotated[str, typer.Option(help="FLIP secondary-structure splits.zip (or folder).")]
Cb513 = Annotated[str, typer.Option(help="CB513 csv: test set, kept out of training.")]
Blosum = Annotated[str, typer.Option(help="NCBI BLOSUM62 matrix file.")]
Publish = Annotated[bool, typer.Option("--publish", help="Copy the bundle into registry/ as the default SS model.")]


def _sources(cath_dssp: str, flip: str, cb513: str, blosum: str) -> Sources:
    """The training and test data files, each checked to exist."""
    from protfam_core.ss.model import Sources

    cath = Path(cath_dssp)
    sources = Sources(cath / "dssp.tar.xz", cath / "CATH_info.txt", Path(flip), Path(cb513), Path(blosum))
    for path in (sources.cath_tar, sources.cath_info, sources.flip, sources.cb513, sources.blosum):
        if not path.exists():
            raise InputError(f"{path}: training data not found")
    return sources


def train(
    ctx: typer.Context,
    out: str = typer.Option("build/ss/ss-predictor", help="Bundle folder to write."),
    cath_dssp: CathDssp = f"{DATA}/ss/cath_dssp",
    flip: Flip = f"{DATA}/ss/flip/splits.zip",
    cb513: Cb513 = f"{DATA}/ss/cb513/CB513.csv",
    blosum: Blosum = f"{DATA}/blosum62/BLOSUM62",
    epochs: int = typer.Option(8, min=1, help="Maximum epochs."),
    patience: int = typer.Option(3, min=1, help="Stop after this many epochs without validation gain."),
    channels: int = typer.Option(96, min=8, help="Convolution channels (with --init: the bundle's)."),
    learning_rate: LearningRate = 2e-3,
    seed: int = typer.Option(0, help="Seed of the DSSP split (and of training, without --train-seed)."),
    train_seed: int = typer.Option(
        None, help="Seed of initialisation and batch order only: ensemble members share --seed, differ in this."
    ),
    max_minutes: MaxMinutes = 20.0,
    threads: Threads = 0,
    init: str = typer.Option(None, help="Continue training this SS bundle's network (its layers), e.g. ss-predictor."),
    publish: Publish = False,
    lr: OldLr = None,
    time_limit: OldTimeLimit = None,
) -> None:
    """Train the SS/SA network on DSSP + FLIP, test on CB513 / FLIP test / held-out DSSP, export ONNX (tracked).

    Examples:
      predict-ss train --epochs 8 --out build/ss/ss-predictor
      PROTFAM_TRACKING_URI=sqlite:///runs.db predict-ss train --epochs 2 --publish
      predict-ss train --init ss-predictor --epochs 2 --learning-rate 5e-4 --publish
      predict-ss train --train-seed 1 --epochs 12 --patience 12 --out build/ss/member1   # an ensemble member
    """
    require("train", "torch", "onnx")
    from protfam_core.ss.model import TrainConfig, train_and_export

    sources = _sources(cath_dssp, flip, cb513, blosum)
    config = TrainConfig(
        epochs=epochs,
        patience=patience,
        channels=channels,
        lr=alias_of(learning_rate, lr),
        seed=seed,
        train_seed=train_seed,
        time_limit_s=alias_of(max_minutes * 60, time_limit),
        threads=resolve_threads(threads),
    )

    with ctx.obj.progress() as bar:
        task = bar.add_task("training", total=None)

        def progress(step: int, total: int) -> None:
            bar.update(task, completed=step, total=total)

        path, _ = train_and_export(
            sources, Path(out), config, publish=publish, log=ctx.obj.log, progress=progress, init=init
        )
    ctx.obj.stdout.write(f"{path}\n")


def ensemble(
    ctx: typer.Context,
    members: Annotated[list[str], typer.Argument(help="Trained SS bundles (name/version or folders), two or more.")],
    out: str = typer.Option("build/ss/ss-ensemble", help="Bundle folder to write."),
    cath_dssp: CathDssp = f"{DATA}/ss/cath_dssp",
    flip: Flip = f"{DATA}/ss/flip/splits.zip",
    cb513: Cb513 = f"{DATA}/ss/cb513/CB513.csv",
    blosum: Blosum = f"{DATA}/blosum62/BLOSUM62",
    threads: Threads = 0,
    publish: Publish = False,
) -> None:
    """Average the probabilities of SS networks trained alike into one ONNX model, scored and tracked like train.

    The members must be trained on the same data and DSSP split (same --seed; other --train-seed), so none has seen
    another's validation or test chains. The bundle runs wherever a single network does (predict-ss --model).

    Examples:
      predict-ss ensemble ss-predictor/5 build/ss/member1 build/ss/member2 --out build/ss/ensemble
      predict-ss ensemble ss-predictor/5 build/ss/member1 build/ss/member2 --publish
    """
    require("train", "torch", "onnx")
    from protfam_core.ss.model import ensemble_and_export

    sources = _sources(cath_dssp, flip, cb513, blosum)
    path, _ = ensemble_and_export(
        sources, members, Path(out), publish=publish, threads=resolve_threads(threads), log=ctx.obj.log
    )
    ctx.obj.stdout.write(f"{path}\n")


def register(app: typer.Typer) -> None:
    """Add these commands to the tool's app, after its own."""
    app.command()(train)
    app.command()(ensemble)
