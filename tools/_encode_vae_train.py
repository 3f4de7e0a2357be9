"""encode-vae's training commands (train, report): shells over vae.train and vae.report, registered on the tool's app
by `register`."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from protfam_tools._cli import LearningRate, MaxMinutes, OldLr, Threads, alias_of

from protfam_core.errors import require
from protfam_core.threads import resolve_threads

Model = Annotated[
    str | None,
    typer.Option("--model", help="VAE bundle: folder, NAME, NAME@ALIAS or NAME/VERSION (default: shipped)"),
]
Cache = Annotated[Path, typer.Option("--cache", help="feature cache folder (placements + predicted SS/SA per dataset)")]


def train(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="dataset folder built by `prep-msa build`")],
    out: Annotated[Path, typer.Option("--out", "-o", help="bundle folder to write")] = Path("build/models/vae"),
    cache: Cache = Path("build/features"),
    epochs: Annotated[int, typer.Option(help="maximum epochs per channel")] = 200,
    batch_size: Annotated[int, typer.Option(help="rows per Adam step")] = 128,
    learning_rate: LearningRate = 2e-3,
    patience: Annotated[int, typer.Option(help="epochs without validation improvement before stopping")] = 8,
    max_minutes: MaxMinutes = 12.0,
    seed: Annotated[int, typer.Option(help="seed of initialisation, shuffling and sampling")] = 0,
    threads: Threads = 1,
    kl_weight: Annotated[float, typer.Option(min=0.0, help="weight of the KL term (1 = the paper's loss)")] = 1.0,
    arch: Annotated[
        str, typer.Option(help="paper: the paper's VAE; deep: two hidden layers a side, a softmax per column")
    ] = "paper",
    hidden: Annotated[int, typer.Option(min=1, help="hidden units per layer (the paper's 128)")] = 128,
    ss_model: Annotated[str | None, typer.Option(help="SS/SA model for the features (default: shipped)")] = None,
    name: Annotated[str, typer.Option(help="model name in the registries")] = "vae",
    publish: Annotated[bool, typer.Option("--publish", help="copy into registry/ as the shipped default")] = False,
    lr: OldLr = None,
) -> None:
    """Train the three channel VAEs on the train split, early-stopping on validation; export ONNX; register.

    Tracked in MLflow (PROTFAM_TRACKING_URI, default a per-user sqlite store) with the dataset card's checksum.

    Examples:
      encode-vae train --dataset build/dataset --out build/models/vae --publish
      encode-vae train -d tests/data/mini --epochs 3 --out /tmp/vae
      encode-vae train -d build/dataset --arch deep --hidden 256 --out build/models/vae_deep
    """
    require("train", "torch", "onnx")
    from protfam_core.vae.model import ARCHS, TrainConfig
    from protfam_core.vae.train import train_vae

    lr = alias_of(learning_rate, lr)
    if min(epochs, batch_size, patience) < 1 or lr <= 0 or max_minutes <= 0:
        raise typer.BadParameter("epochs, batch size, patience, learning rate and time budget must be positive")
    if arch not in ARCHS:
        raise typer.BadParameter(f"--arch must be one of {', '.join(ARCHS)}, not {arch!r}")
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        patience=patience,
        seed=seed,
        max_seconds=max_minutes * 60,
        threads=resolve_threads(threads),
        kl_weight=kl_weight,
        hidden=hidden,
        arch=arch,
    )
    with ctx.obj.progress(transient=True) as progress:
        task = progress.add_task("encode-vae train", total=None)

        def log(text: str) -> None:
            progress.update(task, description=text[:70])
            ctx.obj.log(text)

        bundle = train_vae(dataset, out, config, cache, name=name, ss_model=ss_model, publish=publish, log=log)
    m = bundle.card["metrics"]
    ctx.obj.log(
        f"{bundle.ref} -> {out}: validation residue reconstruction aa {m['aa_val_residue_accuracy']:.4f}, "
        f"ss {m['ss_val_residue_accuracy']:.4f}, sa {m['sa_val_residue_accuracy']:.4f}; "
        f"{bundle.card['parameters']['total']:,} parameters"
    )


def report(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="dataset folder built by `prep-msa build`")],
    out: Annotated[Path, typer.Option("--out", "-o", help="report folder (report.md, metrics.json, PNGs)")],
    model: Model = None,
    family: Annotated[str | None, typer.Option(help="family of Figure 4 (default: the largest in the split)")] = None,
    cache: Cache = Path("build/features"),
    split: Annotated[str, typer.Option(help="split to evaluate")] = "test",
    seed: Annotated[int, typer.Option(help="seed of the folds, k-means and t-SNE")] = 0,
) -> None:
    """The paper's phase-1 evaluation on the test split: reconstruction, column consensus, BLOSUM62 per position,
    k-means separability (10-fold CV), t-SNE map.

    Examples:
      encode-vae report --dataset build/dataset --out build/reports/vae
    """
    require("report", "sklearn", "matplotlib")
    from protfam_core.vae.report import phase1_report

    busy = ctx.obj.console.status("computing the phase-1 report") if ctx.obj.stderr.isatty() else nullcontext()
    with busy:
        m = phase1_report(dataset, out, model=model, family=family, cache_dir=cache, split=split, seed=seed)
    ctx.obj.log(
        f"{out}/report.md: aa residues {m['aa_residue_accuracy']:.4f}, consensus {m['consensus_agreement']:.4f}, "
        f"k-means {m['kmeans_fingerprint_mean']:.4f} (gap pattern alone {m['kmeans_gap_pattern_mean']:.4f})"
    )


def register(app: typer.Typer) -> None:
    """Add these commands to the tool's app, after its own."""
    app.command()(train)
    app.command()(report)
