"""classify-cnn: the family of raw protein sequences (the whole chain), CNN training and Table 1 evaluation."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from protfam_tools._cli import (
    FallbackEvalue,
    LearningRate,
    MaxCandidates,
    MaxMinutes,
    Out,
    SearchEvalue,
    Threads,
    new_app,
    run,
)

from protfam_core.cnn import tables
from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.errors import InputError, require
from protfam_core.io.atomic import write_text
from protfam_core.io.seqio import read_sequences
from protfam_core.threads import resolve_threads

app = new_app("Family of raw protein sequences with the paper's CNN on VAE fingerprints; training and evaluation.")


def _results(classifier: FamilyClassifier, streams, source: str, batch_size: int, domains: bool) -> list:
    """The calls (or, with `domains`, the called domains) of whatever stage of the pipe `source` holds: raw sequences
    run all four stages, placements (with or without SS/SA) the last two or three, framed fingerprints the CNN alone;
    fingerprints without frames (the paper's input) make every family a candidate, and come batch by batch so that
    only the output text grows."""
    from protfam_core.io.fingerprints import parse_fingerprints, read_fingerprints
    from protfam_core.io.placements import parse_placements, stage_of
    from protfam_core.io.seqio import parse_sequences, read_text
    from protfam_core.ss.predict import with_ss

    if source.endswith(".npy"):
        if classifier.fast_path is not None:
            raise InputError(f"--fast takes raw sequences; {source} holds fingerprints")
        fps = read_fingerprints(source)
    else:
        name, text = read_text(source, streams.stdin)
        stage = stage_of(text)
        if stage == "sequences":
            records = parse_sequences(name, text)
            run = classifier.predict_domains if domains else classifier.predict
            with streams.progress() as bar:
                task = bar.add_task("classifying", total=len(records))
                return run(records, batch_size, partial(bar.advance, task))
        if classifier.fast_path is not None:
            raise InputError(f"--fast takes raw sequences; {name} holds {stage}")
        if stage == "placements":
            frames = (classifier.frames_bundle.ref, classifier.frames.widths)  # the CNN's own frames version
            queries = with_ss(
                parse_placements(name, text, frames), classifier.ss_predictor.model_id, classifier.threads
            )
            fps = classifier.fingerprinter.encode_queries(queries)
        else:
            fps = parse_fingerprints("stdin" if source == "-" else name, text)
    if domains:
        return classifier.domains(fps)
    return classifier.classify(fps) if fps.frames is not None else classifier.predict_fingerprints(fps, batch_size)


Model = Annotated[
    str | None, typer.Option(help="CNN bundle: name, name@alias, name/version or a folder (default: shipped).")
]
Frames = Annotated[str | None, typer.Option(help="Frames bundle (default: the one the CNN was trained with).")]
Cache = Annotated[Path, typer.Option(help="Feature cache folder (placements, SS/SA per dataset and SS model).")]


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
    max_candidates: MaxCandidates = None,
    fallback_evalue: FallbackEvalue = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Sequences per batch (memory grows with it).")] = 1024,
    domains: Annotated[
        bool,
        typer.Option(
            "--domains",
            help="One row per called domain: query_id family start end score evalue (every domain hit is placed).",
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
    out: Out = "-",
    threads: Threads = 0,
) -> None:
    """Classify sequences whose family is unknown: TSV query_id, family, score, evalue (one row per input, in order).

    A sequence is searched against every family frame, each candidate placement is fingerprinted and scored by the
    CNN; the best candidate wins, 'unassigned' if no frame is a candidate or its score is below the threshold. This
    command is the pipe of the stage tools, and gives the same rows:
    prep-msa place | predict-ss predict | encode-vae encode | classify-cnn predict.

    With --domains every domain hit of every frame is a candidate, scored by the CNN like a protein's, and the table
    lists each called domain with its coordinates (a repeat protein gets one row per copy; of two families claiming
    one segment the better-scoring stays).

    Examples:
      classify-cnn predict examples/queries.fasta
      classify-cnn predict --domains examples/multidomain.fasta
      classify-cnn predict --fast --threads 0 proteome.fasta > calls.tsv
      cat queries.fasta | classify-cnn predict - --top-k 3 > calls.tsv
      prep-msa place q.fa | predict-ss predict - | encode-vae encode - | classify-cnn predict -
    """
    if fast and domains:
        raise InputError("--fast gives per-protein calls; --domains takes the full chain")
    search = {"evalue": evalue, "max_candidates": max_candidates, "fallback_evalue": fallback_evalue}
    classifier = FamilyClassifier(
        model, frames, vae, ss, threshold, **search, threads=resolve_threads(threads), fast=fast
    )
    results = _results(classifier, ctx.obj, sequences, batch_size, domains)
    header = tables.provenance(classifier, domains)
    text = tables.format_domains(results, header) if domains else tables.format_calls(results, top_k, header)
    write_text(text, out, stdout=ctx.obj.stdout)


@app.command()
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
    result = train_cnn(
        dataset, out, config, vae, cache, name, frames_name, ss=ss, log=ctx.obj.log, threads=resolve_threads(threads)
    )
    if publish:
        from protfam_core.registry.bundles import publish as publish_bundle

        publish_bundle(result.frames_folder)
        publish_bundle(result.cnn_folder)
    summary = ", ".join(f"{k}={v:.4g}" for k, v in result.metrics.items())
    ctx.obj.stdout.write(f"{result.cnn_folder}\t{result.frames_folder}\t{summary}\n")


@app.command("train-fast")
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
    folder = train(dataset, out, config, model, cache, frames, log=ctx.obj.log, threads=resolve_threads(threads))
    if publish:
        from protfam_core.registry.bundles import publish as publish_bundle

        publish_bundle(folder)
    card = json.loads((folder / "model.json").read_text())
    rule = f"top_k={card['top_k']}\tthreshold={card['threshold']:.6g}\tevalue={card['evalue']:.6g}"
    ctx.obj.stdout.write(f"{folder}\t{rule}\tval_accepted={card['metrics']['val_accepted']:.4f}\n")


@app.command()
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
    """Choose the threshold and fallback E-value on validation data: known members vs unknown-family sequences.

    Writes a new CNN bundle (same network, new rule, the next version) and prints the rule.
    Test data never enters: known = the dataset's val split; unknown = the open set's val half (families the
    dataset's size filter dropped and HOMSTRAD reference families without an MMseqs2 hit among the train and
    val members; the benchmarks never test on this half).

    Examples:
      classify-cnn calibrate --dataset build/dataset --publish
      classify-cnn calibrate --dataset build/dataset --unknown my_other_families.fasta --out build/cal
    """
    from protfam_core.cnn.calibrate import calibrate as choose
    from protfam_core.cnn.calibrate import calibrate_domains, save_calibrated
    from protfam_core.msa.dataset import load_dataset
    from protfam_core.msa.open_set import unknown_records

    data = load_dataset(dataset)
    if unknown is None:
        unknown_seqs, _ = unknown_records(data, "val")
        source = f"open-set val half of {dataset}: {len(unknown_seqs)} sequences"
    else:
        unknown_seqs = read_sequences(unknown, stdin=ctx.obj.stdin)
        source = f"{unknown}: {len(unknown_seqs)} sequences"
    classifier = FamilyClassifier(model, frames, threads=resolve_threads(threads))
    ctx.obj.log(f"calibrating {classifier.cnn_bundle.ref} on {source} and the val split")
    val, val_labels = data.records("val"), data.labels("val")
    rule = choose(classifier, val, val_labels, unknown_seqs)
    ctx.obj.log("choosing the domain rule on constructed validation proteins")
    domains = calibrate_domains(classifier, val, val_labels, unknown_seqs)
    sets = {"known": f"{dataset} val split: {len(val)} sequences", "unknown": source}
    bundle = save_calibrated(classifier, rule, out, sets, domains)
    if publish:
        from protfam_core.registry.bundles import publish as publish_bundle

        publish_bundle(bundle.path)
    chosen = {**rule.chosen_.as_dict(), "domain_threshold": domains[0].threshold_, "domain_evalue": domains[0].evalue_}
    summary = "\t".join(f"{k}={v:.6g}" for k, v in chosen.items())
    ctx.obj.stdout.write(f"{bundle.path}\t{summary}\n")


@app.command()
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
    from protfam_core.cnn.evaluate import PROTOCOLS, blind_protocol, paper_protocol, write_outcome
    from protfam_core.cnn.report import macro_average, table1
    from protfam_core.msa.dataset import load_dataset

    protocols = protocol or list(PROTOCOLS)
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise InputError(f"unknown protocol {unknown[0]!r} (choose from {', '.join(PROTOCOLS)})")
    classifier = FamilyClassifier(model, frames, threads=resolve_threads(threads))
    data = load_dataset(dataset)
    for name in protocols:
        if name == "paper":
            outcome = paper_protocol(classifier, data, split, cache)
        else:
            with ctx.obj.progress() as bar:
                task = bar.add_task("classifying", total=len(data.records(split)))
                outcome = blind_protocol(classifier, data, split, partial(bar.advance, task))
        md, png = write_outcome(outcome, classifier.families, out, f"Table 1, {name} protocol, {split} split")
        avg = macro_average(table1(outcome.truth, outcome.calls, classifier.families))
        ctx.obj.stdout.write(f"{name}\tmacro_f1={avg.f1:.4f}\taccuracy={avg.accuracy:.4f}\t{md}\t{png}\n")


def main(argv: list[str] | None = None, stdout=None, stderr=None, stdin=None) -> int:
    return run(app, "classify-cnn", argv, stdout, stderr, stdin)


if __name__ == "__main__":
    raise SystemExit(main())
