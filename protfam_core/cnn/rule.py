"""The calling rule: which families a query is called, per domain and per protein, and how that rule is chosen.

One rule makes both tables (`CallRule`). Stage 1 keeps a family as a candidate of a query when HMMER calls it
significant, as Pfam's gathering thresholds do: the query's whole-sequence E-value against the family's frame is at
most `evalue_`, and each of its domains there with an independent E-value of at most `domain_evalue_` is a candidate
domain; a query without any is searched again without the bias filter, at `fallback_evalue_`. Stage 4 calls each
candidate domain whose CNN score (of its placement in its own frame) reaches `threshold_`, keeps the better-supported
of overlapping ones (`resolve_domains`), and the protein's call is its best-supported called domain. So the
per-protein call is always one of the protein's called domains, and an `unassigned` protein has none.
All four numbers are learned on validation data (`cnn.calibrate`), never on test data.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np

from protfam_core.cnn.report import UNASSIGNED
from protfam_core.errors import ModelError
from protfam_core.frames.frameset import SearchSettings

# The E-value cuts and CNN thresholds that `CallRule.fit` weighs (coordinate ascent, one coordinate at a time).
EVALUE_GRID = (1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0, 10.0)
THRESHOLD_GRID = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
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


def choose_threshold(best_scores: Sequence[float | None], max_unassigned: float = 0.01) -> float:
    """Highest threshold leaving at most `max_unassigned` of known sequences unassigned (None = had no candidate).

    Sequences without any candidate frame are unassigned whatever the threshold and use up the allowance first.
    """
    scores = np.sort([s for s in best_scores if s is not None])
    allowed = int(np.floor(max_unassigned * len(best_scores))) - (len(best_scores) - len(scores))
    if not len(scores) or allowed < 0:
        return 0.0
    return float(scores[min(allowed, len(scores) - 1)]) if allowed < len(scores) else 0.0


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


class Domain(NamedTuple):
    """One domain hit of a query: its frame, CNN score, independent E-value, 1-based inclusive span, the bit score
    of its placement (NaN where unknown), the query's length and the frame columns it fills (0 where unknown), as a
    HMMER domain table has them, and its hit's whole-sequence E-value."""

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
    hit_evalue: float = math.nan  # the search hit's whole-sequence E-value (stage 1's cut; calibration replays it)


def span_overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Residues two 1-based inclusive (start, end) spans share, as a share of the shorter one."""
    shared = min(a[1], b[1]) - max(a[0], b[0]) + 1
    return max(shared, 0) / min(a[1] - a[0] + 1, b[1] - b[0] + 1)


def support(hit: Domain) -> tuple[float, float, int]:
    """The order of the better-supported domain hits: higher CNN score, then lower E-value, then earlier."""
    return (-hit.score, hit.evalue, hit.start)


def resolve_domains(query_id: str, hits: Sequence[Domain], threshold: float) -> list[Domain]:
    """The called domains of one query, by start: every hit scoring at least `threshold`, the better-supported first,
    each kept unless it shares more than half of the shorter one with a domain already kept (the role of Pfam's clan
    competition: of two families claiming one segment, the better one stays; repeats of one family lie side by side
    and all stay). No domain called: one `unassigned` row without a span."""
    kept: list[Domain] = []
    for hit in sorted((h for h in hits if h.score >= threshold), key=support):
        if all(span_overlap((hit.start, hit.end), (k.start, k.end)) <= 0.5 for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: (h.start, h.end)) or [Domain(query_id, UNASSIGNED, 0, 0, 0.0, math.nan)]


class CallRule(CardRule):
    """The rule of every call (see the module docstring): settings in `__init__`, learned by `fit`.

    `fit` moves the numbers over their grids (the E-value cuts over `evalue_grid`, the threshold over
    `threshold_grid`; the sequence cut and the threshold as one pair) to the values that maximise `objective(rule)` (a
    tuple, compared in order), `rounds` times or until none moves; of equally good values, the median.
    `cnn.calibrate` gives the objective: first no more false calls on reversed and shuffled validation members than
    HMMER's at E <= 1e-3, then the balanced accuracy of the known and unknown validation sequences, then the domain
    F1 of constructed validation proteins, then the fewest calls on generated decoys.
    """

    CARD_KEYS = {
        "threshold_": ("threshold", float),
        "evalue_": ("evalue", float),
        "domain_evalue_": ("domain_evalue", float),
        "fallback_evalue_": ("fallback_evalue", float),
    }

    def __init__(
        self,
        evalue_grid: Sequence[float] = EVALUE_GRID,
        threshold_grid: Sequence[float] = THRESHOLD_GRID,
        rounds: int = 3,
    ) -> None:
        self.evalue_grid = tuple(evalue_grid)
        self.threshold_grid = tuple(threshold_grid)
        self.rounds = rounds

    @property
    def search(self) -> SearchSettings:
        """Stage 1's cuts under this rule."""
        return SearchSettings(self.evalue_, self.domain_evalue_, self.fallback_evalue_)

    def domains(self, query_id: str, hits: Sequence[Domain]) -> list[Domain]:
        """The called domains of one query from its candidate domains (by start; one `unassigned` row when none)."""
        return resolve_domains(query_id, hits, self.threshold_)

    def decide(self, query_id: str, hits: Sequence[Domain]) -> Call:
        """The protein's call: its best-supported called domain (the first that `resolve_domains` keeps), with the
        best hit of each candidate family as its candidates."""
        best: dict[str, Domain] = {}
        for h in sorted(hits, key=support):
            best.setdefault(h.family, h)
        ranked = tuple(Candidate(h.family, h.score, h.evalue, h.bits, h.start, h.end) for h in best.values())
        if not ranked:
            return Call(query_id, UNASSIGNED, 0.0, ())
        top = ranked[0]
        return Call(query_id, top.family if top.score >= self.threshold_ else UNASSIGNED, top.score, ranked)

    def fit(self, objective: Callable[[CallRule], tuple], start: Mapping[str, float] | None = None) -> CallRule:
        """Learn the four numbers by coordinate ascent from `start` (default: HMMER's usual 1e-3 cuts, no CNN veto,
        no fallback); `figures_` keeps the chosen rule's objective. The sequence cut and the CNN threshold move
        together, over every pair of their grids: a looser cut may pay only with a CNN veto, which neither move
        alone would find."""
        state = dict(start or {"threshold_": 0.0, "evalue_": 1e-3, "domain_evalue_": 1e-3, "fallback_evalue_": 0.0})
        steps = [
            (("evalue_", "threshold_"), list(itertools.product(self.evalue_grid, self.threshold_grid))),
            (("domain_evalue_",), [(e,) for e in self.evalue_grid]),
            (("fallback_evalue_",), [(e,) for e in (0.0, *self.evalue_grid)]),
        ]
        for _ in range(self.rounds):
            before = dict(state)
            for attrs, grid in steps:
                values = [objective(CallRule.learned(**{**state, **dict(zip(attrs, v, strict=True))})) for v in grid]
                ties = [v for v, o in zip(grid, values, strict=True) if o == max(values)]
                state.update(zip(attrs, ties[(len(ties) - 1) // 2], strict=True))
            if state == before:
                break
        for attr, value in state.items():
            setattr(self, attr, float(value))
        self.figures_ = objective(self)
        return self


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
