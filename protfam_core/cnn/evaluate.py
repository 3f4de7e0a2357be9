"""`classify-cnn evaluate`: Table 1 on a dataset's test split under two named protocols.

- paper: each test member is placed (forced, hmmalign) into its OWN family's frame, so the label is used to build
  the input; the CNN's highest output is the call (the paper's rule). Comparable with the paper's Table 1, optimistic.
- blind: each test sequence goes through FamilyClassifier exactly like a user's query (frame search, best
  candidate, validation threshold for `unassigned`). This is the figure that says what a user gets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.report import write_report
from protfam_core.errors import InputError, ModelError
from protfam_core.features.cache import FeatureCache
from protfam_core.msa.dataset import Dataset

PROTOCOLS = {
    "paper": "test members placed (forced, hmmalign) into their own family's frame (uses the label), call = highest "
    "CNN output over all families; comparable with the paper's Table 1, optimistic",
    "blind": "test sequences classified like a user's query: one pyhmmer search of all frames, CNN score of each "
    "candidate placement, best candidate wins, `unassigned` below the validation-chosen threshold",
}


@dataclass(frozen=True)
class Outcome:
    """Labels, calls and speed of one protocol on one split."""

    protocol: str
    truth: list[str]
    calls: list[str]
    seconds: float

    @property
    def per_second(self) -> float:
        return len(self.truth) / self.seconds if self.seconds > 0 else float("inf")


def _check(classifier: FamilyClassifier, dataset: Dataset) -> None:
    if list(dataset.frames.families) != classifier.families:
        raise ModelError("the dataset's frames are not the model's families: evaluate a model on its own dataset")


def paper_protocol(
    classifier: FamilyClassifier, dataset: Dataset, split: str = "test", cache_dir: str | Path | None = None
) -> Outcome:
    """Own-frame (label-using) placements, argmax of the CNN outputs."""
    _check(classifier, dataset)
    start = time.perf_counter()
    cache = FeatureCache(dataset, cache_dir, str(classifier.ss_bundle.path))
    placements, ss_sa = cache.own_frame(split)
    probabilities = classifier.cnn(classifier.fingerprinter.transform(placements, ss_sa))
    calls = [classifier.families[i] for i in np.argmax(probabilities, axis=1)]
    return Outcome("paper", dataset.labels(split), calls, time.perf_counter() - start)


def blind_protocol(
    classifier: FamilyClassifier,
    dataset: Dataset,
    split: str = "test",
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Raw test sequences through the user's path."""
    records = dataset.records(split)
    start = time.perf_counter()
    calls = classifier.predict(records, progress=progress)
    return Outcome("blind", dataset.labels(split), [c.family for c in calls], time.perf_counter() - start)


def write_outcome(outcome: Outcome, families: list[str], out_dir: str | Path, title: str) -> tuple[Path, Path]:
    """Table 1 Markdown + confusion PNG for one protocol under out_dir/<protocol>/."""
    extra = {"sequences per second (this protocol, whole chain)": f"{outcome.per_second:.1f}"}
    return write_report(
        Path(out_dir) / outcome.protocol,
        outcome.truth,
        outcome.calls,
        families,
        title,
        PROTOCOLS[outcome.protocol],
        extra,
    )


def evaluate(
    classifier: FamilyClassifier,
    dataset: Dataset,
    out_dir: str | Path,
    protocols: list[str] | None = None,
    split: str = "test",
    cache_dir: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[str, float, float, Path, Path]]:
    """`classify-cnn evaluate`: per protocol (default: all), Table 1 and the confusion matrix under out_dir; yields
    (protocol, macro F1, accuracy, table path, figure path). `progress` advances with the blind protocol's queries."""
    from protfam_core.cnn.report import macro_average, table1

    protocols = protocols or list(PROTOCOLS)
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise InputError(f"unknown protocol {unknown[0]!r} (choose from {', '.join(PROTOCOLS)})")
    for name in protocols:
        if name == "paper":
            outcome = paper_protocol(classifier, dataset, split, cache_dir)
        else:
            outcome = blind_protocol(classifier, dataset, split, progress)
        md, png = write_outcome(outcome, classifier.families, out_dir, f"Table 1, {name} protocol, {split} split")
        avg = macro_average(table1(outcome.truth, outcome.calls, classifier.families))
        yield name, avg.f1, avg.accuracy, md, png
