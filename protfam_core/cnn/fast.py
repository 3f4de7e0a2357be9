"""The fast path of `classify-cnn predict --fast` (issue 16): no frame search and no SS/SA for queries it is sure of.

Per query: the prefilter's top-k families (`frames/prefilter.py`, 3-mer profiles, no alignment), a forced placement
into each of those frames (hmmalign's optimal-accuracy trace, with its Viterbi score's E-value over all frames), the
amino-acid fingerprint of each placement (the VAE's aa encoder alone) and the output of the amino-acid CNN (the
paper's CNN on the 1 x 30 aa row) for its own frame. The best candidate is accepted when its CNN score and its E-value
pass the bundle's rule; every other query goes through the full chain, so the fast path only ever answers the queries
it is sure of. The rule and k are chosen on validation data (`rule.FastRule.fit`): the widest rule that makes no wrong
call on the validation members and the open set's validation half where the full chain makes a right one, narrowed by
the margin that cross-validation on those rows shows it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from protfam_core.cnn.classify import family_scores
from protfam_core.cnn.rule import Call, Candidate, FastRule
from protfam_core.errors import ModelError
from protfam_core.frames.frameset import FrameSet
from protfam_core.frames.prefilter import KmerPrefilter
from protfam_core.io.placements import Placement
from protfam_core.io.seqio import Record

AA_INPUT = "fingerprints"  # the aa CNN's ONNX input/output names, as the family CNN's
AA_OUTPUT = "probabilities"
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


class FastPath:
    """The prefilter, the aa CNN and the rule of a "fast" bundle over the chain's frames and VAE."""

    def __init__(
        self, prefilter: KmerPrefilter, aa_cnn, frames: FrameSet, fingerprinter, rule: FastRule, threads: int = 1
    ) -> None:
        if list(prefilter.families_) != list(frames.families):
            raise ModelError("the fast path's prefilter and the frames name different families")
        self.prefilter = prefilter
        self.aa_cnn = aa_cnn
        self.frames = frames
        self.fingerprinter = fingerprinter
        self.rule = rule
        self.threads = threads

    @classmethod
    def from_bundle(cls, bundle, frames: FrameSet, fingerprinter, rule: FastRule, threads: int = 1) -> FastPath:
        """The prefilter and aa CNN of a "fast" bundle with its rule (`ChainSettings.fast`), over the chain's frames
        and VAE."""
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
        """Each record's first k (default: the rule's) prefilter families with its aa CNN score and hit."""
        top = self.prefilter.top([r.seq for r in records], k or self.rule.top_k_)
        placed = forced_candidates(self.frames, records, top, self.threads)
        flat = [p for cands in placed for p in cands]
        scores = iter(self.scores(flat).tolist())
        return [[Candidate(p.family, next(scores), p.evalue, p.score, *p.span) for p in cands] for cands in placed]

    def calls(self, records: Sequence[Record]) -> list[Call | None]:
        """The accepted call of each record, None where the fast path is not sure (the full chain decides)."""
        out: list[Call | None] = []
        for rec, cands in zip(records, self.candidates(records), strict=True):
            best = self.rule.accepted(cands)
            ranked = tuple(sorted(cands, key=lambda c: -c.score))
            out.append(Call(rec.id, best.family, best.score, ranked) if best is not None else None)
        return out
