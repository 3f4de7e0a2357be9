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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np

from protfam_core.cnn.report import UNASSIGNED
from protfam_core.errors import InputError, ModelError

FALLBACK_GRID = (0.0, 1e-4, 1e-3, 1e-2)
K_GRID = (1, 2, 3)  # candidate families per query that the fast rule weighs (cost grows with k)
# What the full chain costs per query, in fast candidate placements (prefilter + forced placement + aa CNN): about
# 1.2 ms against 0.12 ms on 2 cores (benchmarks/classify_speed.py --fast, stage figures).
CHAIN_COST = 10.0
MARGINS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)  # how much the fast rule may be narrowed (x threshold, / E)
FOLDS = 5  # the fast rule's cross-validation folds of the validation rows


class Candidate(NamedTuple):
    """One candidate family of a query: the CNN score of its placement in that frame, the search hit's E-value and
    bit score and the placed domain's 1-based span on the query (what a HMMER table or a GFF3 feature reports)."""

    family: str
    score: float
    evalue: float = math.nan  # NaN where no search produced it (fingerprint input)
    bits: float = math.nan
    start: int = 0  # 0 0: no span known
    end: int = 0


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


class CardRule:
    """The one shape of the chain's rules (protein, domain, fast): settings in `__init__`, learned state in attributes
    ending in `_`, saved in a model card under fixed keys (`CARD_KEYS`: attribute -> (card key, type)) and read back
    from it the same way, so that a card and the rule it holds cannot drift apart."""

    CARD_KEYS: ClassVar[dict[str, tuple[str, type]]] = {}

    @classmethod
    def learned(cls, **state: Any) -> Self:
        """A rule whose learned state is given (a card's, or a candidate while fitting), with default settings."""
        rule = cls()
        for attr, (_, kind) in cls.CARD_KEYS.items():
            setattr(rule, attr, kind(state[attr]))
        return rule

    @classmethod
    def from_card(
        cls, card: Mapping[str, Any], defaults: Mapping[str, Any], source: str = "the model card", **overrides: Any
    ) -> Self:
        """The rule a card holds: each learned value is the user's override, else the card's, else `defaults`'.
        A value that is not a number is refused with the card and the field named."""
        state = {}
        for attr, (key, _) in cls.CARD_KEYS.items():
            value = overrides.get(attr)
            if value is None:
                value = card.get(key, defaults.get(attr))
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ModelError(f"{source}: field {key!r} must be a number, got {value!r}")
            state[attr] = value
        return cls.learned(**state)

    def to_card(self) -> dict[str, Any]:
        """The learned state under the card's keys (an infinite cut is left out: JSON has no infinity, and a card
        without the key reads back as no cut)."""
        values = {key: kind(getattr(self, attr)) for attr, (key, kind) in self.CARD_KEYS.items()}
        return {k: v for k, v in values.items() if not (isinstance(v, float) and math.isinf(v))}


class CallingRule(CardRule):
    """The per-protein rule shared by `train`, `calibrate` and `predict` (settings in __init__, learned by `fit`).

    `fit` takes, per fallback E-value, every validation query's candidates as the chain gives them at that fallback.
    Learned: `threshold_`, `fallback_evalue_` and, when unknown-family sequences were given, `chosen_` (the rule with
    its validation rates) and `best_per_fallback_` (the best rule at each fallback E-value, for the model card).
    """

    CARD_KEYS = {"threshold_": ("threshold", float), "fallback_evalue_": ("fallback_evalue", float)}

    def __init__(self, max_unassigned: float = 0.01, fallback_grid: Sequence[float] = FALLBACK_GRID) -> None:
        self.max_unassigned = max_unassigned
        self.fallback_grid = tuple(fallback_grid)
        self.chosen_: Rule | None = None
        self.best_per_fallback_: list[Rule] = []

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
    """One domain hit of a query: its frame, CNN score, independent E-value, 1-based inclusive span, the bit score
    of its placement (NaN where unknown), the query's length and the frame columns it fills (0 where unknown), as a
    HMMER domain table has them."""

    query_id: str
    family: str
    start: int
    end: int
    score: float
    evalue: float
    bits: float = math.nan
    length: int = 0
    hmm_from: int = 0
    hmm_to: int = 0


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


class DomainRule(CardRule):
    """The rule of the per-domain calls (`--domains`): a domain hit is called when its CNN score reaches `threshold_`
    and its independent E-value is at most `evalue_`, then `resolve_domains` settles overlaps.

    `fit` chooses both by coordinate ascent from (0, no cut) over every E-value, then every score, of the hits (exact
    in each coordinate, `rounds` times or until it stops moving), maximising `f1` of the domains each rule calls
    (the constructed validation proteins' domain F1, `cnn.constructed`); ties: the median of the tied rules.
    `by_score=False` keeps every score (an E-value rule, as hmmscan users cut), `by_evalue=False` every E-value.
    """

    CARD_KEYS = {"threshold_": ("domain_threshold", float), "evalue_": ("domain_evalue", float)}

    def __init__(self, by_score: bool = True, by_evalue: bool = True, rounds: int = 3) -> None:
        self.by_score = by_score
        self.by_evalue = by_evalue
        self.rounds = rounds

    def fit(self, hits: Sequence[Sequence[Domain]], f1: Callable[[list[list[Domain]]], float]) -> DomainRule:
        """Learn `threshold_` and `evalue_` from the domain hits of validation proteins."""
        scores = sorted({0.0, *(d.score for h in hits for d in h)})
        evalues = sorted({math.inf, *(d.evalue for h in hits for d in h)})

        def best_rule(rules: list[tuple[float, float]]) -> tuple[float, float]:
            values = [f1([resolve_domains("", h, t, e) for h in hits]) for t, e in rules]
            ties = [r for r, v in zip(rules, values, strict=True) if v >= max(values) - 1e-12]
            return ties[(len(ties) - 1) // 2]

        rule = (0.0 if self.by_score else -math.inf, math.inf)
        for _ in range(self.rounds):
            moved = rule
            if self.by_evalue:
                moved = best_rule([(moved[0], e) for e in evalues])
            if self.by_score:
                moved = best_rule([(t, moved[1]) for t in scores])
            if moved == rule:
                break
            rule = moved
        self.threshold_, self.evalue_ = float(rule[0]), float(rule[1])
        return self

    def calls(self, query_id: str, hits: Sequence[Domain]) -> list[Domain]:
        """The called domains of one query (by start; one `unassigned` row when none)."""
        return resolve_domains(query_id, hits, self.threshold_, self.evalue_)


def best_of(candidates: Sequence[Candidate], k: int) -> Candidate | None:
    """The highest-scoring of the first k candidates (prefilter order); ties go to the better-ranked one."""
    return max(candidates[:k], key=lambda c: c.score, default=None)


class FastRule(CardRule):
    """The rule of the fast path (`cnn.fast`, `predict --fast`): accept the best of a query's first `top_k_`
    prefilter candidates when its aa CNN score is at least `threshold_` and its E-value at most `evalue_`; every
    other query takes the full chain.

    `fit` takes validation candidates (prefilter order, max(k_grid) each) of known queries (with their labels) and
    unknown ones, and whether the full chain gets each of them right (known first, then unknown). A fast call is
    wrong when it names another family than a known query's, or any family for an unknown one; it counts against a
    rule only where the chain is right, so the cascade is never worse than the chain on validation. For each k: the
    E-value cut and score threshold that accept the most known queries with no such call. Then the k of least
    expected cost per query, k candidate placements plus `chain_cost` for each query left to the chain.

    That widest rule borders on the validation rows nearest to a wrong call, and new rows fall on both sides of it:
    so it is narrowed by the least of `margins` with which the same fit, made on `folds` - 1 folds of the validation
    rows, makes no wrong call on the fold left out, in every fold (the largest margin if none does). Learned:
    `top_k_`, `threshold_`, `evalue_` and `figures_` (the validation figures, for the card).
    """

    CARD_KEYS = {"top_k_": ("top_k", int), "threshold_": ("threshold", float), "evalue_": ("evalue", float)}

    def __init__(
        self,
        k_grid: Sequence[int] = K_GRID,
        margins: Sequence[float] = MARGINS,
        folds: int = FOLDS,
        chain_cost: float = CHAIN_COST,
        seed: int = 0,
    ) -> None:
        self.k_grid = tuple(k_grid)
        self.margins = tuple(margins)
        self.folds = folds
        self.chain_cost = chain_cost
        self.seed = seed

    def accepts(self, best: Candidate) -> bool:
        return best.score >= self.threshold_ and best.evalue <= self.evalue_

    def narrowed(self, margin: float) -> FastRule:
        """The rule with its threshold times `margin` and its E-value cut divided by it."""
        return FastRule.learned(top_k_=self.top_k_, threshold_=min(1.0, self.threshold_ * margin),
                                evalue_=self.evalue_ / margin)  # fmt: skip

    def accepted(self, candidates: Sequence[Candidate]) -> Candidate | None:
        """The candidate this rule answers a query with, None where it leaves the query to the chain."""
        best = best_of(candidates, self.top_k_)
        return best if best is not None and self.accepts(best) else None

    def called(self, candidates: Sequence[Candidate]) -> str | None:
        """The family this rule calls from a query's candidates, None where it leaves the query to the chain."""
        best = self.accepted(candidates)
        return best.family if best is not None else None

    def fit(
        self,
        known: Sequence[Sequence[Candidate]],
        labels: Sequence[str],
        unknown: Sequence[Sequence[Candidate]],
        chain_right: Sequence[bool],
    ) -> FastRule:
        """Learn the rule from validation candidates (see the class)."""
        truth = [*labels, *([None] * len(unknown))]
        cands = [*known, *unknown]
        counts = np.asarray(chain_right, dtype=bool)
        edge, per_k = self._widest(cands, truth, counts, len(known))
        fold = np.random.default_rng(self.seed).integers(0, self.folds, len(cands))
        wrong = dict.fromkeys(self.margins, 0)
        for f in range(self.folds):
            fit, held = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            n_known = int((fit < len(known)).sum())
            rule, _ = self._widest([cands[i] for i in fit], [truth[i] for i in fit], counts[fit], n_known)
            for m in self.margins:
                narrow = rule.narrowed(m)
                called = [(narrow.called(cands[i]), truth[i], counts[i]) for i in held]
                wrong[m] += sum(c is not None and c != t and counted for c, t, counted in called)
        margin = next((m for m in self.margins if wrong[m] == 0), self.margins[-1])
        chosen = edge.narrowed(margin)
        self.top_k_, self.threshold_, self.evalue_ = chosen.top_k_, chosen.threshold_, chosen.evalue_
        accepted = sum(self.called(c) == t for c, t in zip(known, labels, strict=True))
        self.figures_ = {"per_k": {str(k): v for k, v in per_k.items()}, "known": len(known),
                         "unknown": len(unknown), "chain_cost": self.chain_cost, "widest": edge.to_card(),
                         "margin": margin, "folds": self.folds,
                         "held_out_wrong_calls": {str(m): int(w) for m, w in wrong.items()},
                         "accepted": accepted / max(1, len(known))}  # fmt: skip
        return self

    def _widest(
        self, cands: Sequence[Sequence[Candidate]], truth: Sequence[str | None], counts: np.ndarray, n_known: int
    ) -> tuple[FastRule, dict[int, dict]]:
        """The widest rule with no counted wrong call, and its figures per k (the first n_known rows are known)."""
        per_k = {}
        for k in self.k_grid:
            best = [best_of(c, k) for c in cands]
            right = np.array([b is not None and b.family == t for b, t in zip(best, truth, strict=True)])
            against = np.array([b is not None for b in best]) & ~right & counts
            score = np.array([b.score if b is not None else -math.inf for b in best])
            evalue = np.array([b.evalue if b is not None else math.inf for b in best])
            top = (0, math.inf, 0.0)
            for cut in np.unique(evalue[right & np.isfinite(evalue)]):
                blocked = against & (evalue <= cut)
                threshold = float(np.nextafter(score[blocked].max(), np.inf)) if blocked.any() else 0.0
                accepted = int((right & (evalue <= cut) & (score >= threshold)).sum())
                if accepted > top[0]:
                    top = (accepted, max(threshold, 0.0), float(cut))
            share = top[0] / max(1, n_known)
            per_k[k] = {"accepted": share, "threshold": top[1], "evalue": top[2],
                        "cost": k + (1 - share) * self.chain_cost}  # fmt: skip
        k = min(per_k, key=lambda k: (per_k[k]["cost"], k))
        return FastRule.learned(top_k_=k, threshold_=per_k[k]["threshold"], evalue_=per_k[k]["evalue"]), per_k
