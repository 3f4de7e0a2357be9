"""classify-cnn easy-train: a shell over workflow.train_chain, registered on the tool's app by _classify_cnn_train."""

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
from rich.table import Table

from protfam_core.errors import require
from protfam_core.msa.split import SMALL_FAMILY
from protfam_core.threads import resolve_threads
from protfam_core.workflow.train_chain import STAGES, TrainSettings, train_chain


def easy_train(
    ctx: typer.Context,
    families: Families,
    name: Name,
    out: Annotated[Path, typer.Option("--out", "-o", help="Work folder (rerun with it to resume).")] = Path(
        "build/easy-train"
    ),
    unknown: Unknown = None,
    hold_out: HoldOut = None,
    epochs: Epochs = None,
    max_minutes: NetworkMinutes = None,
    min_family_size: MinFamilySize = TrainSettings.min_family_size,
    per_family: PerFamily = TrainSettings.per_family,
    backend: Backend = TrainSettings.backend,
    ss: Ss = None,
    seed: Seed = TrainSettings.seed,
    threads: Threads = 1,
) -> None:
    """Train a whole chain from your families and publish it as NAME: `classify-cnn predict --model NAME` uses it.

    Runs prep-msa build, encode-vae train, classify-cnn train, calibrate and train-fast, measures the chain on the
    validation members and publishes it into the registry ($PROTFAM_REGISTRY, else the installed one) under the
    champion alias. Rerun with the same --out to resume: a stage whose inputs and settings are unchanged is skipped.
    Writes <out>/summary.json; tracked in MLflow (PROTFAM_TRACKING_URI) as one run with a child run per stage.

    Examples:
      classify-cnn easy-train my_families/ --name my-fams
      classify-cnn easy-train Pfam-A.seed.gz --name pfam-seeds --unknown other_families/
      classify-cnn easy-train tests/data/easy_train --name demo --epochs 3 --threads 1
    """
    require("train", "torch", "onnx", "sklearn")

    settings = TrainSettings(name, seed, epochs, max_minutes, min_family_size, per_family, backend, hold_out, ss,
                             resolve_threads(threads))  # fmt: skip
    with ctx.obj.console.status("easy-train", spinner="dots") as status:
        stage_numbers = {}

        def progress(stage: str, message: str) -> None:
            n = stage_numbers.setdefault(stage, len(stage_numbers) + 1)
            status.update(f"[{n}/{len(STAGES)}] {stage}: {message[:90]}")
            if "skipped" in message or message.startswith("done in"):
                ctx.obj.log(f"[{n}/{len(STAGES)}] {stage}: {message}")

        summary = train_chain(families, out, settings, unknown or (), progress)
    _print_summary(ctx, summary)


def _print_summary(ctx: typer.Context, summary: dict) -> None:
    """Stages (time, peak memory), the validation figures and the weakest families with their confusions."""
    stages = Table("stage", "status", "seconds", "peak RSS MiB", title="easy-train " + summary["model"])
    for r in summary["stages"]:
        stages.add_row(r["stage"], r["status"], f"{r['seconds']:.1f}", f"{r['peak_rss_mb']:.0f}")
    ctx.obj.console.print(stages)
    val = summary["validation"]
    weak = Table("weakest family", "val members", "accuracy", "called instead")
    for fam in val["weakest"]:
        row = val["per_family"][fam]
        confused = ", ".join(f"{k} x{v}" for k, v in row["confusions"].items()) or "-"
        weak.add_row(fam, str(row["members"]), f"{row['accuracy']:.2f}", confused)
    ctx.obj.console.print(weak)
    ctx.obj.log(summary["calibration"])
    test, unknown = val["test_accuracy"], val["open_set_test_unassigned"]
    figures = f"validation accuracy {val['accuracy']:.3f} on {val['members']} members"
    figures += f"; test accuracy {test:.3f} on {val['test_members']} members" if test is not None else ""
    untested = len(val["families_without_test"])
    figures += f"; families without a test member (fewer than {SMALL_FAMILY} members): {untested}" if untested else ""
    figures += f"; unknown families' test half unassigned {unknown:.3f}" if unknown is not None else ""
    ctx.obj.log(figures)
    ctx.obj.stdout.write(f"{summary['model']}\t{summary['registry']}\t{summary['out']}/summary.json\n")
