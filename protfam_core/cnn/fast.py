"""The fast path of `classify-cnn predict --fast` (issue 16): no frame search and no SS/SA for queries it is sure of.

Per query: the prefilter's top-k families (`frames/prefilter.py`, 3-mer profiles, no alignment), a forced placement
into each of those frames (hmmalign's optimal-accuracy trace, with its Viterbi score's E-value over all frames), the
amino-acid fingerprint of each placement (the VAE's aa encoder alone) and the output of the amino-acid CNN (the
paper's CNN on the 1 x 30 aa row) for its own frame. The best candidate is accepted when its CNN score and its E-value
pass the bundle's rule; every other query goes through the full chain, so the fast path only ever answers the queries
it is sure of. The rule and k are chosen on validation data (`fit_rule`): the widest rule that makes no wrong call on
the validation members and the open set's validation half where the full chain makes a right one, narrowed by the
margin that cross-validation on those rows shows it needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from protfam_core.cnn.classify import family_scores
from protfam_core.cnn.rule import Call, Candidate
from protfam_core.errors import ModelError
from protfam_core.frames.frameset import FrameSet
from protfam_core.frames.prefilter import KmerPrefilter
from protfam_core.io.placements import Placement
from protfam_core.io.seqio import Record
from protfam_core.threads import resolve_threads

AA_INPUT = "fingerprints"  # the aa CNN's ONNX input/output names, as the family CNN's
AA_OUTPUT = "probabilities"
K_GRID = (1, 2, 3)  # candidate families per query that fit_rule weighs (cost grows with k)
# What the full chain costs per query, in fast candidate placements (prefilter + forced placement + aa CNN): about
# 1.2 ms against 0.12 ms on 2 cores (benchmarks/classify_speed.py --fast, stage figures).
CHAIN_COST = 10.0
MARGINS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)  # how much fit_rule may narrow the widest rule (x threshold, / E)
FOLDS = 5  # fit_rule's cross-validation folds of the validation rows
CNN_BATCH = 512  # rows per aa CNN call: its activations for 4,096 rows take 110 MB


def forced_candidates(
    frames: FrameSet, records: Sequence[Record], top: np.ndarray, threads: int = 1
) -> list[list[Placement]]:
    """Each record forced into the frames of its row of `top` (indices into `frames.families`, best first): one
    placement per column, in the row's order; one hmmalign pass per frame, frames spread over `threads` threads.
    E-values are over all frames."""
    jobs: dict[int, list[tuple[int, int]]] = {}  # frame -> (record, column) slots it fills
    for i, row in enumerate(top.tolist()):
        for col, f in enumerate(row):
            jobs.setdefault(f, []).append((i, col))

    def place(item: tuple[int, list[tuple[int, int]]]) -> tuple[list[tuple[int, int]], list[Placement]]:
        f, slots = item
        return slots, frames.place([records[i] for i, _ in slots], frames.families[f])

    scale = len(frames.families)
    out: list[list] = [[None] * top.shape[1] for _ in records]  # every slot is filled below
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for slots, placed in pool.map(place, sorted(jobs.items())):
            for (i, col), p in zip(slots, placed, strict=True):
                out[i][col] = Placement(p.query_id, p.family, p.row, p.positions, p.score, min(1.0, p.evalue * scale))
    return out


@dataclass(frozen=True)
class FastRule:
    """Accept the best candidate of the first `top_k` when CNN score >= `threshold` and E-value <= `evalue`."""

    top_k: int
    threshold: float
    evalue: float

    def accepts(self, best: Candidate) -> bool:
        return best.score >= self.threshold and best.evalue <= self.evalue

    def narrowed(self, margin: float) -> FastRule:
        """The rule with its threshold times `margin` and its E-value cut divided by it."""
        return FastRule(self.top_k, min(1.0, self.threshold * margin), self.evalue / margin)


def best_of(candidates: Sequence[Candidate], k: int) -> Candidate | None:
    """The highest-scoring of the first k candidates (prefilter order); ties go to the better-ranked one."""
    return max(candidates[:k], key=lambda c: c.score, default=None)


def fit_rule(
    known: Sequence[Sequence[Candidate]],
    labels: Sequence[str],
    unknown: Sequence[Sequence[Candidate]],
    chain_right: Sequence[bool],
    chain_cost: float = CHAIN_COST,
    seed: int = 0,
) -> tuple[FastRule, dict]:
    """The fast rule from validation candidates (prefilter order, max(K_GRID) each) of known queries (with their
    labels) and unknown ones, and whether the full chain gets each of them right (known first, then unknown).

    A fast call is wrong when it names another family than a known query's, or any family for an unknown one; it
    counts against a rule only where the chain is right, so the cascade is never worse than the chain on validation.
    For each k: the E-value cut and score threshold that accept the most known queries with no such call. Then the k
    of least expected cost per query, k candidate placements plus `chain_cost` for each query left to the chain.

    That widest rule borders on the validation rows nearest to a wrong call, and new rows fall on both sides of it:
    so it is narrowed by the least of MARGINS with which the same fit, made on FOLDS - 1 folds of the validation
    rows, makes no wrong call on the fold left out, in every fold (the largest margin if none does)."""
    truth = [*labels, *([None] * len(unknown))]
    cands = [*known, *unknown]
    counts = np.asarray(chain_right, dtype=bool)
    edge, per_k = _widest_rule(cands, truth, counts, len(known), chain_cost)
    fold = np.random.default_rng(seed).integers(0, FOLDS, len(cands))
    wrong = dict.fromkeys(MARGINS, 0)
    for f in range(FOLDS):
        fit, held = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        n_known = int((fit < len(known)).sum())
        rule, _ = _widest_rule([cands[i] for i in fit], [truth[i] for i in fit], counts[fit], n_known, chain_cost)
        for m in MARGINS:
            narrow = rule.narrowed(m)
            called = [(_called(cands[i], narrow), truth[i], counts[i]) for i in held]
            wrong[m] += sum(c is not None and c != t and counted for c, t, counted in called)
    margin = next((m for m in MARGINS if wrong[m] == 0), MARGINS[-1])
    chosen = edge.narrowed(margin)
    accepted = sum(_called(c, chosen) == t for c, t in zip(known, labels, strict=True))
    figures = {"per_k": {str(k): v for k, v in per_k.items()}, "known": len(known), "unknown": len(unknown),
               "chain_cost": chain_cost, "widest": asdict(edge), "margin": margin, "folds": FOLDS,
               "held_out_wrong_calls": {str(m): int(w) for m, w in wrong.items()},
               "accepted": accepted / max(1, len(known))}  # fmt: skip
    return chosen, figures


def _called(candidates: Sequence[Candidate], rule: FastRule) -> str | None:
    """The family `rule` calls from a query's candidates, None where it leaves the query to the chain."""
    best = best_of(candidates, rule.top_k)
    return best.family if best is not None and rule.accepts(best) else None


def _widest_rule(
    cands: Sequence[Sequence[Candidate]], truth: Sequence[str | None], counts: np.ndarray, n_known: int, cost: float
) -> tuple[FastRule, dict[int, dict]]:
    """fit_rule's widest rule with no counted wrong call, and its figures per k (the first n_known rows are known)."""
    per_k = {}
    for k in K_GRID:
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
        per_k[k] = {"accepted": share, "threshold": top[1], "evalue": top[2], "cost": k + (1 - share) * cost}
    k = min(per_k, key=lambda k: (per_k[k]["cost"], k))
    return FastRule(k, per_k[k]["threshold"], per_k[k]["evalue"]), per_k


class FastPath:
    """The prefilter, the aa CNN and the rule of a "fast" bundle over the chain's frames and VAE."""

    def __init__(
        self, prefilter: KmerPrefilter, aa_cnn, frames: FrameSet, fingerprinter, rule: FastRule, threads: int = 0
    ) -> None:
        if list(prefilter.families_) != list(frames.families):
            raise ModelError("the fast path's prefilter and the frames name different families")
        self.prefilter = prefilter
        self.aa_cnn = aa_cnn
        self.frames = frames
        self.fingerprinter = fingerprinter
        self.rule = rule
        self.threads = resolve_threads(threads)

    @classmethod
    def from_bundle(cls, bundle, frames: FrameSet, fingerprinter, threads: int = 0) -> FastPath:
        """The prefilter, aa CNN and rule of a "fast" bundle, over the chain's frames and VAE."""
        card = bundle.card
        rule = FastRule(int(card["top_k"]), float(card["threshold"]), float(card["evalue"]))
        prefilter = KmerPrefilter.load(bundle.file("prefilter"))
        return cls(prefilter, bundle.onnx("model", threads), frames, fingerprinter, rule, threads)

    def scores(self, placements: Sequence[Placement]) -> np.ndarray:
        """The aa CNN's output of each placement's own frame."""
        if not placements:
            return np.zeros(0, np.float32)
        z = self.fingerprinter.encode_channel("aa", [p.row for p in placements])[:, None, None, :]
        probs = np.concatenate([self.aa_cnn.run({AA_INPUT: z[s : s + CNN_BATCH]})[AA_OUTPUT]
                                for s in range(0, len(z), CNN_BATCH)])  # fmt: skip
        return family_scores(probs, [p.family for p in placements], self.frames.families)

    def candidates(self, records: Sequence[Record], k: int | None = None) -> list[list[Candidate]]:
        """Each record's first k (default: the rule's) prefilter families with its aa CNN score and E-value."""
        top = self.prefilter.top([r.seq for r in records], k or self.rule.top_k)
        placed = forced_candidates(self.frames, records, top, self.threads)
        flat = [p for cands in placed for p in cands]
        scores = iter(self.scores(flat).tolist())
        return [[Candidate(p.family, next(scores), p.evalue) for p in cands] for cands in placed]

    def calls(self, records: Sequence[Record]) -> list[Call | None]:
        """The accepted call of each record, None where the fast path is not sure (the full chain decides)."""
        out: list[Call | None] = []
        for rec, cands in zip(records, self.candidates(records), strict=True):
            best = best_of(cands, self.rule.top_k)
            ranked = tuple(sorted(cands, key=lambda c: -c.score))
            out.append(Call(rec.id, best.family, best.score, ranked) if best and self.rule.accepts(best) else None)
        return out
