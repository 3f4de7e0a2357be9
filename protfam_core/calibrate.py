"""`classify-cnn calibrate`: choose the calling rule (score threshold, fallback E-value) on validation data only.

Two validation sets decide it together: members of the known families (the dataset's validation split) and sequences
of families the model does not know (the open set's validation half). The rule maximises balanced accuracy: the
share of known sequences called right plus the share of unknown ones left `unassigned`. Within the best rules the
lowest fallback E-value wins (the fewest extra searches), and the median threshold of its equally good ones (the
middle of the gap between the unknown and the known scores, not its edge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .classify import Candidate, FamilyClassifier, pins
from .errors import InputError
from .registry import Bundle, save_bundle
from .seqio import Record

FALLBACK_GRID = (0.0, 1e-4, 1e-3, 1e-2)


@dataclass(frozen=True)
class Rule:
    """One candidate calling rule and what it does on the validation sets."""

    threshold: float
    fallback_evalue: float
    known_correct: float
    known_unassigned: float
    unknown_unassigned: float

    @property
    def balanced_accuracy(self) -> float:
        return (self.known_correct + self.unknown_unassigned) / 2

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "balanced_accuracy": self.balanced_accuracy}


def _best(candidates: list[list[Candidate]]) -> tuple[list[str | None], np.ndarray]:
    """Best candidate family (None if none) and its score (-1 if none) per query."""
    best = [max(c, key=lambda x: x.score) if c else None for c in candidates]
    return [b.family if b else None for b in best], np.array([b.score if b else -1.0 for b in best])


def rules_for(
    known_fams: Sequence[str | None],
    known_scores: np.ndarray,
    labels: Sequence[str],
    unknown_scores: np.ndarray,
    fallback_evalue: float,
) -> list[Rule]:
    """Every distinct threshold (0 and the midpoint between each two neighbouring best scores) with the rates it
    gives, for one fallback E-value."""
    right = np.array([f == t for f, t in zip(known_fams, labels, strict=True)])
    scores = np.unique(np.concatenate([known_scores[known_scores >= 0], unknown_scores[unknown_scores >= 0]]))
    out = []
    for t in np.concatenate([[0.0], (scores[1:] + scores[:-1]) / 2]):
        called_k, called_u = known_scores >= t, unknown_scores >= t
        out.append(
            Rule(
                float(t),
                fallback_evalue,
                float(np.mean(right & called_k)),
                float(np.mean(~called_k)),
                float(np.mean(~called_u)),
            )
        )
    return out


def choose_rule(rules: Sequence[Rule]) -> Rule:
    """Highest balanced accuracy; then the lowest fallback E-value; then the median threshold of the ties."""
    if not rules:
        raise InputError("no calling rules to choose from")
    best = max(round(r.balanced_accuracy, 12) for r in rules)
    ties = [r for r in rules if round(r.balanced_accuracy, 12) == best]
    lowest = min(r.fallback_evalue for r in ties)
    ties = sorted((r for r in ties if r.fallback_evalue == lowest), key=lambda r: r.threshold)
    return ties[(len(ties) - 1) // 2]


def calibrate(
    classifier: FamilyClassifier,
    known: Sequence[Record],
    labels: Sequence[str],
    unknown: Sequence[Record],
    fallback_grid: Sequence[float] = FALLBACK_GRID,
) -> tuple[Rule, list[Rule]]:
    """The chosen rule and, per fallback E-value, the best rule at that value (for the model card)."""
    if not known or not unknown:
        raise InputError("calibration needs known-family and unknown-family validation sequences")
    if len(known) != len(labels):
        raise InputError(f"{len(known)} known sequences but {len(labels)} labels")
    everything, per_fallback = [], []
    saved = classifier.fallback_evalue
    try:
        classifier.fallback_evalue = 0.0
        searched = classifier.candidates(known), classifier.candidates(unknown)
        for e in fallback_grid:
            classifier.fallback_evalue = e
            kf, ks = _best(_with_fallback(classifier, known, searched[0]))
            _, us = _best(_with_fallback(classifier, unknown, searched[1]))
            rules = rules_for(kf, ks, labels, us, e)
            everything += rules
            per_fallback.append(choose_rule(rules))
    finally:
        classifier.fallback_evalue = saved
    return choose_rule(everything), per_fallback


def _with_fallback(
    classifier: FamilyClassifier, records: Sequence[Record], searched: list[list[Candidate]]
) -> list[list[Candidate]]:
    """Candidates at the classifier's fallback E-value, from those of the plain search (computed once): only the
    records without any go through the chain again. Per-record results do not depend on the batch."""
    missing = [i for i, c in enumerate(searched) if not c]
    if not missing or classifier.fallback_evalue <= 0:
        return searched
    found = dict(zip(missing, classifier.candidates([records[i] for i in missing]), strict=True))
    return [found.get(i, c) for i, c in enumerate(searched)]


def save_calibrated(
    classifier: FamilyClassifier, rule: Rule, per_fallback: Sequence[Rule], out_dir: str | Path, sets: dict[str, str]
) -> Bundle:
    """A new CNN bundle: the same ONNX network, the card's rule replaced by `rule`, the calibration recorded.

    The version is the calibration time, so the old bundle (and whatever pins it) stays as it was."""
    source = classifier.cnn_bundle
    card = {k: v for k, v in source.card.items() if k not in ("name", "kind", "files")}
    card.update(
        version=datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
        threshold=rule.threshold,
        fallback_evalue=rule.fallback_evalue,
        calibration={
            "from": source.ref,
            "rule": "max balanced accuracy on the validation sets; lowest fallback E; median threshold of ties",
            "sets": sets,
            "chosen": rule.as_dict(),
            "best_per_fallback_evalue": [r.as_dict() for r in per_fallback],
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    card.pop("max_unassigned_val", None)
    card["pins"] = pins(
        {"frames": classifier.frames_bundle, "vae": classifier.vae_bundle, "ss": classifier.ss_predictor.bundle}
    )
    return save_bundle(Path(out_dir) / source.name, source.name, "cnn", {"model": source.file("model")}, card)
