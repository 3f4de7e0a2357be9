"""Resumable stages: each records a key (sha256 of its inputs and settings), its time and peak memory in
`<out>/stages/<stage>.json`, and a child run of the workflow's MLflow parent run; a stage whose key is unchanged and
whose outputs are still there is skipped."""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from protfam_core.io.atomic import write_text
from protfam_core.registry.tracking import TrainingRun, training_run

Progress = Callable[[str, str], None]  # (stage, message)


def peak_rss_mb() -> float:
    """Peak resident memory so far of this process or of its largest child (an aligner, MMseqs2), in MiB: a
    high-water mark, so a stage's figure is the most any stage up to it used."""
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return round(peak * scale / 2**20, 1)


def sha256_json(value: object) -> str:
    """The key of a stage: sha256 of its inputs and settings as canonical JSON."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


class Stages:
    """Runs stages in order and keeps their records (the summary's `stages`)."""

    def __init__(self, out: Path, progress: Progress, parent: TrainingRun) -> None:
        self.out, self.progress, self.parent = out, progress, parent
        self.records: list[dict] = []

    def run(
        self,
        stage: str,
        inputs: dict,
        work: Callable[[Callable[[str], None]], dict],
        done: Callable[[], bool],
        checksum: str | None = None,
    ) -> dict:
        """The stage's metrics: the recorded ones when its key is unchanged and `done()` (its outputs exist), else
        `work(log)`'s. `checksum` is the data checksum its MLflow run records."""
        key = sha256_json({"stage": stage, **inputs})
        path = self.out / "stages" / f"{stage}.json"
        old = json.loads(path.read_text()) if path.is_file() else {}
        with training_run("easy-train", {"stage": stage, **inputs}, checksum) as child:
            child.client.set_tag(child.run_id, "mlflow.parentRunId", self.parent.run_id)
            child.client.set_tag(child.run_id, "mlflow.runName", stage)
            if old.get("key") == key and done():
                self.progress(stage, "inputs and settings unchanged: skipped")
                record = {**old, "status": "skipped"}
            else:
                path.unlink(missing_ok=True)  # a stage that fails leaves no record of its earlier outputs
                started = time.monotonic()
                metrics = work(lambda message: self.progress(stage, message))
                seconds = round(time.monotonic() - started, 1)
                record = {"stage": stage, "key": key, "status": "ran", "seconds": seconds,
                          "peak_rss_mb": peak_rss_mb(), "metrics": metrics}  # fmt: skip
                path.parent.mkdir(parents=True, exist_ok=True)
                write_text(json.dumps(record, indent=2) + "\n", path)
                self.progress(stage, f"done in {seconds:.0f} s")
            child.client.set_tag(child.run_id, "protfam.stage_status", record["status"])
            numbers = {k: float(v) for k, v in record["metrics"].items() if isinstance(v, int | float)}
            child.log_epoch(0, {**numbers, "seconds": record["seconds"], "peak_rss_mb": record["peak_rss_mb"]})
            child.client.log_artifact(child.run_id, str(path))
        self.records.append(record)
        return record["metrics"]
