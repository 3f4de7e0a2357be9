"""The calling rule: which candidate family a query is called, or `unassigned`, and how that rule is chosen.

A query's candidates are the families whose frames the search placed it in, each with the CNN's score of that
placement. The best candidate is the call when its score reaches the threshold; a query with no candidate, or a best
score below it, is `unassigned`. Queries without any search hit are searched again with a sensitive search and keep
the frames with E <= the fallback E-value. `CallingRule` learns both numbers on validation data, never on test data:
- `classify-cnn train` has only the known families' validation members: the highest threshold that leaves at most
  `max_unassigned` of them unassigned;
- `classify-cnn calibrate` also has sequences of families the model does not know: the threshold and fallback
  E-value with the highest balanced accuracy (known called right + unknown left unassigned); within the best, the
  lowest fallback E-value (the fewest extra searches) and the median threshold of its equally good ones (the middle
  of the gap between the unknown and the known scores, not its edge).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from protfam_core.cnn.report import UNASSIGNED
from protfam_core.errors import InputError

FALLBACK_GRID = (0.0, 1e-4, 1e-3, 1e-2)


class Candidate(NamedTuple):
    """One candidate family of a query: the CNN score of its placement in that frame and the search hit's E-value."""

    family: str
    score: float
    evalue: float = math.nan  # NaN where no search produced it (fingerprint input)


@dataclass(frozen=True)
class Call:
    """One query's answer: the called family (or `unassigned`), its score, the E-value of the best candidate's hit
    and all candidates, best first."""

    query_id: str
    family: str
    score: float
    candidates: tuple[Candidate, ...] = ()

    @property
    def evalue(self) -> float:
        return self.candidates[0].evalue if self.candidates else math.nan


def decide(query_id: str, candidates: Sequence[Candidate], threshold: float) -> Call:
    """The best candidate if its score reaches `threshold`, else `unassigned`; candidates ranked best first."""
    ranked = tuple(sorted((Candidate(*c) for c in candidates), key=lambda c: (-c.score, c.family)))
    if not ranked:
        return Call(query_id, UNASSIGNED, 0.0, ())
    best = ranked[0]
    return Call(query_id, best.family if best.score >= threshold else UNASSIGNED, best.score, ranked)


def choose_threshold(best_scores: Sequence[float | None], max_unassigned: float = 0.01) -> float:
    """Highest threshold leaving at most `max_unassigned` of known sequences unassigned (None = had no candidate).

    Sequences without any candidate frame are unassigned whatever the threshold and use up the allowance first.
    """
    scores = np.sort([s for s in best_scores if s is not None])
    allowed = int(np.floor(max_unassigned * len(best_scores))) - (len(best_scores) - len(scores))
    if not len(scores) or allowed < 0:
        return 0.0
    return float(scores[min(allowed, len(scores) - 1)]) if allowed < len(scores) else 0.0


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


def _best(candidates: Sequence[Sequence[Candidate]]) -> tuple[list[str | None], np.ndarray]:
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


Candidates = Sequence[Sequence[Candidate]]


class CallingRule:
    """The calling rule shared by `train`, `calibrate` and `predict` (settings in __init__, learned by `fit`).

    `fit` takes, per fallback E-value, every validation query's candidates as the chain gives them at that fallback.
    Learned: `threshold_`, `fallback_evalue_` and, when unknown-family sequences were given, `chosen_` (the rule with
    its validation rates) and `best_per_fallback_` (the best rule at each fallback E-value, for the model card).
    """

    def __init__(self, max_unassigned: float = 0.01, fallback_grid: Sequence[float] = FALLBACK_GRID) -> None:
        self.max_unassigned = max_unassigned
        self.fallback_grid = tuple(fallback_grid)

    @classmethod
    def fixed(cls, threshold: float, fallback_evalue: float) -> CallingRule:
        """A rule already learned (a model card's threshold and fallback E-value)."""
        rule = cls(fallback_grid=(fallback_evalue,))
        rule.threshold_, rule.fallback_evalue_ = float(threshold), float(fallback_evalue)
        rule.chosen_, rule.best_per_fallback_ = None, []
        return rule

    def fit(
        self,
        known: Mapping[float, Candidates],
        labels: Sequence[str],
        unknown: Mapping[float, Candidates] | None = None,
    ) -> CallingRule:
        """Learn the threshold (and, with `unknown`, the fallback E-value) from validation candidates."""
        grid = [e for e in self.fallback_grid if e in known]
        if not grid or any(len(known[e]) != len(labels) for e in grid):
            raise InputError("calibration needs the known validation sequences' candidates at each fallback E-value")
        if unknown is None:
            self.fallback_evalue_ = float(min(grid))
            _, scores = _best(known[self.fallback_evalue_])
            self.threshold_ = choose_threshold([s if s >= 0 else None for s in scores], self.max_unassigned)
            self.chosen_, self.best_per_fallback_ = None, []
            return self
        if not labels or any(not unknown.get(e) for e in grid):
            raise InputError("calibration needs known-family and unknown-family validation sequences")
        everything, self.best_per_fallback_ = [], []
        for e in grid:
            kf, ks = _best(known[e])
            rules = rules_for(kf, ks, labels, _best(unknown[e])[1], e)
            everything += rules
            self.best_per_fallback_.append(choose_rule(rules))
        self.chosen_ = choose_rule(everything)
        self.threshold_, self.fallback_evalue_ = self.chosen_.threshold, self.chosen_.fallback_evalue
        return self

    def decide(self, query_id: str, candidates: Sequence[Candidate]) -> Call:
        """The call of one query from its candidates."""
        return decide(query_id, candidates, self.threshold_)


class Domain(NamedTuple):
    """One domain hit of a query: its frame, CNN score, independent E-value and 1-based inclusive span."""

    query_id: str
    family: str
    start: int
    end: int
    score: float
    evalue: float


def span_overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Residues two 1-based inclusive (start, end) spans share, as a share of the shorter one."""
    shared = min(a[1], b[1]) - max(a[0], b[0]) + 1
    return max(shared, 0) / min(a[1] - a[0] + 1, b[1] - b[0] + 1)


def resolve_domains(query_id: str, hits: Sequence[Domain], threshold: float, evalue: float = math.inf) -> list[Domain]:
    """The called domains of one query, by start: every hit scoring at least `threshold` with an independent E-value
    of at most `evalue`, the better-supported first
    (higher CNN score, then lower E-value), each kept unless it shares more than half of the shorter one with a domain
    already kept (the role of Pfam's clan competition: of two families claiming one segment, the better one stays;
    repeats of one family lie side by side and all stay). No domain called: one `unassigned` row without a span."""
    kept: list[Domain] = []
    passing = (h for h in hits if h.score >= threshold and h.evalue <= evalue)
    for hit in sorted(passing, key=lambda h: (-h.score, h.evalue, h.start)):
        if all(span_overlap((hit.start, hit.end), (k.start, k.end)) <= 0.5 for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: (h.start, h.end)) or [Domain(query_id, UNASSIGNED, 0, 0, 0.0, math.nan)]
