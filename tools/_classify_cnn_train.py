"""classify-cnn's training commands (train, train-fast, calibrate, evaluate, easy-train, chain): shells over
cnn.train, cnn.calibrate, cnn.evaluate, workflow.train_chain and workflow.scatter, registered by `register` when one
of them is named (classify_cnn.TRAINING)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from protfam_tools._classify_cnn_chain import app as chain_app
from protfam_tools._classify_cnn_easy_train import easy_train
from protfam_tools._cli import LearningRate, MaxMinutes, Model, Threads
from protfam_tools.classify_cnn import Frames

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.errors import require
from protfam_core.io.seqio import read_sequences
from protfam_core.threads import resolve_threads

Cache = Annotated[Path, typer.Option(help="Feature cache folder (placements, SS/SA per dataset and SS model).")]


def train(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option(help="Dataset folder from `prep-msa build`.")],
    out: Annotated[Path, typer.Option(help="Folder for the family-cnn and family-frames bundles.")] = Path("build/cnn"),
    vae: Annotated[str | None, typer.Option(help="VAE bundle for the fingerprints (default: shipped).")] = None,
    ss: Annotated[str | None, typer.Option(help="SS/SA bundle (default: the one the VAE was trained with).")] = None,
    cache: Cache = Path("build/features"),
    seed: Annotated[int, typer.Option(help="Random seed (weights, batch order).")] = 0,
    epochs: Annotated[int, typer.Option(min=1, help="Most epochs.")] = 40,
    patience: Annotated[int, typer.Option(min=1, help="Early stopping: epochs without a better val loss.")] = 5,
    max_minutes: MaxMinutes = 8.0,
    batch_size: Annotated[int, typer.Option(min=2)] = 512,
    learning_rate: LearningRate = 1e-3,
    epoch_rows: Annotated[int, typer.Option(min=0, help="Training rows sampled per epoch (0 = all).")] = 20000,
    name: Annotated[str, typer.Option(help="Bundle name of the CNN.")] = "family-cnn",
    frames_name: Annotated[str, typer.Option(help="Bundle name of the frames.")] = "family-frames",
    publish: Annotated[bool, typer.Option("--publish", help="Copy both bundles into registry/ as defaults.")] = False,
    threads: Threads = 0,
) -> None:
    """Train the paper's CNN on fingerprints of placed rows; export ONNX; track in MLflow; optionally publish.

    Examples:
      classify-cnn train --dataset build/dataset --out build/cnn --publish
      PROTFAM_TRACKING_URI=sqlite:///build/mlflow.db classify-cnn train --dataset tests/data/mini --epochs 3
    """
    require("train", "torch", "onnx")
    from protfam_core.cnn.model import TrainConfig
    from protfam_core.cnn.train import train as train_cnn

    config = TrainConfig(seed, epochs, patience, batch_size, learning_rate, max_minutes, epoch_rows)
    threads = resolve_threads(threads)
    result = train_cnn(dataset, out, config, vae, cache, name, frames_name, ss=ss, log=ctx.obj.log, threads=threads,
                       publish=publish)  # fmt: skip
    summary = ", ".join(f"{k}={v:.4g}" for k, v in result.metrics.items())
    ctx.obj.stdout.write(f"{result.cnn_folder}\t{result.frames_folder}\t{summary}\n")


def train_fast(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option(help="Dataset folder the CNN was trained on.")],
    out: Annotated[Path, typer.Option(help="Folder for the family-fast bundle.")] = Path("build/fast"),
    model: Model = None,
    frames: Frames = None,
    cache: Cache = Path("build/features"),
    seed: Annotated[int, typer.Option(help="Random seed (weights, batch order).")] = 0,
    epochs: Annotated[int, typer.Option(min=1, help="Most epochs.")] = 40,
    max_minutes: MaxMinutes = 6.0,
    publish: Annotated[bool, typer.Option("--publish", help="Copy the bundle into registry/ as the default.")] = False,
    threads: Threads = 0,
) -> None:
    """Train the fast path of a CNN's chain (`predict --fast`): the 3-mer prefilter and the amino-acid CNN on the
    train split; the rule (candidates per query, score threshold, E-value cut) on the val split and the open set's
    val half: the widest rule with no wrong call there where the full chain makes a right one, narrowed by the
    margin that 5-fold cross-validation on those rows needs to make none on held-out rows either.

    Examples:
      classify-cnn train-fast --dataset build/dataset --publish
      classify-cnn train-fast --dataset build/dataset --model build/cnn/family-cnn --out build/fast
    """
    require("train", "torch", "onnx", "sklearn")
    from protfam_core.cnn.model import TrainConfig
    from protfam_core.cnn.train import train_fast as train

    config = TrainConfig(seed=seed, epochs=epochs, max_minutes=max_minutes)
    threads = resolve_threads(threads)
    bundle = train(dataset, out, config, model, cache, frames, log=ctx.obj.log, threads=threads, publish=publish)
    card = bundle.card
    rule = f"top_k={card['top_k']}\tthreshold={card['threshold']:.6g}\tevalue={card['evalue']:.6g}"
    ctx.obj.stdout.write(f"{bundle.path}\t{rule}\tval_accepted={card['metrics']['val_accepted']:.4f}\n")


def calibrate(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option(help="Dataset folder the model was trained on (its val split is used).")],
    unknown: Annotated[
        str | None,
        typer.Option(help="FASTA of families the model does not know, or '-' (default: the dataset's open-set val)."),
    ] = None,
    model: Model = None,
    frames: Frames = None,
    out: Annotated[Path, typer.Option(help="Folder for the calibrated bundle.")] = Path("build/cnn-calibrated"),
    publish: Annotated[bool, typer.Option("--publish", help="Copy the bundle into registry/ as the default.")] = False,
    threads: Threads = 0,
) -> None:
    """Choose the calling rule (E-value cuts, CNN threshold) on validation data: known members, unknown-family
    sequences, decoys (reversed, shuffled, low-complexity, coiled-coil, transmembrane) and constructed proteins.

    Writes a new CNN bundle (same network, new rule, the next version) and prints the rule and its figures.
    Test data never enters: known = the dataset's val split; unknown = the open set's val half (families the
    dataset's size filter dropped and HOMSTRAD reference families without an MMseqs2 hit among the train and
    val members; the benchmarks never test on this half); decoys and proteins are made from the val split.

    Examples:
      classify-cnn calibrate --dataset build/dataset --publish
      classify-cnn calibrate --dataset build/dataset --unknown my_other_families.fasta --out build/cal
    """
    from protfam_core.cnn.calibrate import calibrate_bundle

    unknown_seqs = read_sequences(unknown, stdin=ctx.obj.stdin) if unknown is not None else None
    classifier = FamilyClassifier(model, frames, threads=resolve_threads(threads))
    bundle, chosen = calibrate_bundle(classifier, dataset, out, unknown_seqs, unknown, publish, ctx.obj.log)
    summary = "\t".join(f"{k}={v:.6g}" for k, v in chosen.items())
    ctx.obj.stdout.write(f"{bundle.path}\t{summary}\n")


def evaluate(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option(help="Dataset folder the model was trained on.")],
    out: Annotated[Path, typer.Option(help="Report folder: <protocol>/table1.md and <protocol>/confusion.png.")],
    protocol: Annotated[list[str] | None, typer.Option(help="paper and/or blind (default: both).")] = None,
    model: Model = None,
    frames: Frames = None,
    split: Annotated[str, typer.Option(help="Dataset split to evaluate.")] = "test",
    cache: Cache = Path("build/features"),
    threads: Threads = 0,
) -> None:
    """Table 1 of the paper (per-family F1, precision, recall, accuracy + averages) and a confusion matrix.

    Examples:
      classify-cnn evaluate --dataset build/dataset --out build/report
      classify-cnn evaluate --dataset tests/data/mini --out /tmp/r --protocol blind --model build/cnn/family-cnn
    """
    require("report", "matplotlib")
    from protfam_core.cnn.evaluate import evaluate as run_protocols
    from protfam_core.msa.dataset import load_dataset

    classifier = FamilyClassifier(model, frames, threads=resolve_threads(threads))
    data = load_dataset(dataset)
    with ctx.obj.progress() as bar:
        task = bar.add_task("classifying", total=len(data.records(split)))
        for name, f1, accuracy, md, png in run_protocols(
            classifier, data, out, protocol, split, cache, partial(bar.advance, task)
        ):
            ctx.obj.stdout.write(f"{name}\tmacro_f1={f1:.4f}\taccuracy={accuracy:.4f}\t{md}\t{png}\n")


def register(app: typer.Typer) -> None:
    """Add the training commands to classify-cnn's app, after its own."""
    app.command()(train)
    app.command("train-fast")(train_fast)
    app.command()(calibrate)
    app.command()(evaluate)
    app.command("easy-train")(easy_train)
    app.add_typer(chain_app, name="chain")
