"""The end-to-end family predictor for proteins whose family nobody knows (onnxruntime only, never torch).

A query is searched against every family frame in one pyhmmer pass; each candidate frame gives a placement, the
placement gives SS/SA-projected channels, the VAEs give the 3 x 30 fingerprint and the CNN gives one output per
family. The query's score for family f is output f on its placement in frame f (the CNN was trained with rows placed
in foreign frames as negatives, so that output means "this row belongs to the frame it sits in"). The best candidate
wins; the call is `unassigned` when no frame is a candidate or the best score is below the threshold. The threshold
and the fallback search's E-value come from the CNN's card, chosen on validation data (`calibrate.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from protfam_core.cnn.rule import Call, CallingRule, Candidate
from protfam_core.errors import InputError, ModelError
from protfam_core.frames.frameset import FALLBACK_EVALUE, FrameSet, Placement, candidate_placements
from protfam_core.io.seqio import Record
from protfam_core.registry.bundles import Bundle, resolve

INPUT_NAME = "fingerprints"  # the CNN's ONNX input and output names (cnn_model exports them)
OUTPUT_NAME = "probabilities"


def family_scores(probabilities: np.ndarray, placements: Sequence[Placement], families: Sequence[str]) -> np.ndarray:
    """Per placement, the CNN output of the family whose frame it sits in."""
    index = {f: i for i, f in enumerate(families)}
    try:
        cols = np.array([index[p.family] for p in placements], dtype=np.int64)
    except KeyError as exc:
        raise ModelError(f"placement in frame {exc.args[0]!r}, which the CNN does not know") from None
    return probabilities[np.arange(len(placements)), cols] if len(placements) else np.zeros(0, np.float32)


def check_families(cnn_families: Sequence[str], frames_families: Sequence[str], frameset: FrameSet) -> None:
    """The CNN's outputs, the frames bundle's card and its HMM file must name the same families in the same order."""
    if list(cnn_families) != list(frames_families):
        missing = sorted(set(frames_families) ^ set(cnn_families))
        detail = f"differ in {missing[:3]}" if missing else "are in a different order"
        raise ModelError(f"the CNN's families and the frames' families {detail}: the bundles do not belong together")
    if list(frameset.families) != list(frames_families):
        raise ModelError("the frames bundle's HMM file does not hold the families its model card lists")


def pinned(card: dict, role: str, override: str | None = None) -> Bundle:
    """The bundle a CNN card names for `role` (frames, vae, ss), or `override`.

    A card also records the sha256 of each named bundle's model.json (`pins`): a name/version that resolves to
    another bundle (a store numbering versions its own way, an edited card) is refused instead of silently used.
    """
    if override is not None:
        return resolve(override, role)
    bundle = resolve(card.get(role), role)
    expected = card.get("pins", {}).get(role)
    if expected is not None and bundle.card_sha256() != expected:
        raise ModelError(
            f"the CNN was trained with {role} {card.get(role)} (model.json sha256 {expected[:12]}...), but that name "
            f"resolves to {bundle.ref} (sha256 {bundle.card_sha256()[:12]}...)"
        )
    return bundle


def pins(bundles: dict[str, Bundle]) -> dict[str, str]:
    """`pins` of a CNN card: role -> sha256 of that bundle's model.json."""
    return {role: b.card_sha256() for role, b in bundles.items()}


class FamilyClassifier:
    """sklearn-style predictor over the shipped (or named) bundles: frames, SS/SA, VAE fingerprints, CNN."""

    def __init__(
        self,
        model: str | None = None,
        frames: str | None = None,
        vae: str | None = None,
        ss: str | None = None,
        threshold: float | None = None,
        max_candidates: int = 5,
        evalue: float = 10.0,
        fallback_evalue: float | None = None,
        threads: int = 0,
    ) -> None:
        from protfam_core.ss.predict import SSPredictor
        from protfam_core.vae.encode import Fingerprinter

        self.cnn_bundle = resolve(model, "cnn")
        card = self.cnn_bundle.card
        self.frames_bundle = pinned(card, "frames", frames)
        self.frames = FrameSet.load(self.frames_bundle.file("hmm"))
        self.families: list[str] = list(card["families"])
        check_families(self.families, self.frames_bundle.card["families"], self.frames)
        self.threads = threads
        self._cnn = self.cnn_bundle.onnx("model", threads)
        self.vae_bundle = pinned(card, "vae", vae)
        self.fingerprinter = Fingerprinter(self.vae_bundle, threads)
        self.ss_predictor = SSPredictor(pinned(card, "ss", ss), threads)
        self.rule = CallingRule.fixed(
            card.get("threshold", 0.5) if threshold is None else threshold,
            card.get("fallback_evalue", FALLBACK_EVALUE) if fallback_evalue is None else fallback_evalue,
        )
        self.max_candidates = max_candidates
        self.evalue = evalue

    @property
    def threshold(self) -> float:
        return self.rule.threshold_

    @property
    def fallback_evalue(self) -> float:
        return self.rule.fallback_evalue_

    def bundles(self) -> list[tuple[str, object]]:
        """(role, Bundle) of every model this predictor uses, for provenance lines."""
        ss = getattr(self.ss_predictor, "bundle", None)
        pairs = [("model", self.cnn_bundle), ("frames", self.frames_bundle), ("vae", self.vae_bundle)]
        return pairs + ([("ss", ss)] if ss is not None else [])

    def cnn(self, fingerprints: np.ndarray) -> np.ndarray:
        """CNN sigmoid outputs (n, families) for (n, 3, 30) fingerprints."""
        x = np.asarray(fingerprints, dtype=np.float32)
        if x.ndim != 3 or x.shape[1:] != (3, 30):
            raise InputError(f"fingerprints must be n x 3 x 30, got shape {x.shape}")
        if not len(x):
            return np.zeros((0, len(self.families)), np.float32)
        return self._cnn.run({INPUT_NAME: x[:, None, :, :]})[OUTPUT_NAME]

    def score_placements(self, placements: Sequence[Placement], ss_sa: Sequence[tuple[str, str]]) -> np.ndarray:
        """CNN score of each placement for the family of its own frame."""
        if not placements:
            return np.zeros(0, np.float32)
        return family_scores(
            self.cnn(self.fingerprinter.transform(list(placements), list(ss_sa))), placements, self.families
        )

    def candidates(self, records: Sequence[Record], fallback_evalue: float | None = None) -> list[list[Candidate]]:
        """Every candidate frame of every record (family, CNN score, search E-value), in input order; the sensitive
        search of queries without a hit keeps E <= `fallback_evalue` (default: the rule's)."""
        fallback = self.fallback_evalue if fallback_evalue is None else fallback_evalue
        found = candidate_placements(self.frames, records, self.evalue, self.max_candidates, fallback, self.threads)
        predicted = dict(zip((r.id for r in records), self.ss_predictor.predict([r.seq for r in records]), strict=True))
        placements = [p for r in records for p in found[r.id]]
        scores = self.score_placements(placements, [tuple(predicted[p.query_id]) for p in placements])
        out: dict[str, list[Candidate]] = {r.id: [] for r in records}
        for p, s in zip(placements, scores, strict=True):
            out[p.query_id].append(Candidate(p.family, float(s), float(p.evalue)))
        return [out[r.id] for r in records]

    def predict(
        self, records: Sequence[Record], batch_size: int = 256, progress: Callable[[int], None] | None = None
    ) -> list[Call]:
        """One Call per record, in input order; `progress(n)` is told after each batch of n records."""
        if not records:
            raise InputError("no sequences to classify")
        calls: list[Call] = []
        for i in range(0, len(records), batch_size):
            batch = records[i : i + batch_size]
            calls += [self.rule.decide(r.id, c) for r, c in zip(batch, self.candidates(batch), strict=True)]
            if progress is not None:
                progress(len(batch))
        return calls

    def predict_proba(self, records: Sequence[Record], batch_size: int = 256) -> np.ndarray:
        """(n, families) scores: the CNN output on the placement in each candidate frame, 0 for non-candidates."""
        index = {f: i for i, f in enumerate(self.families)}
        out = np.zeros((len(records), len(self.families)), np.float32)
        for i, call in enumerate(self.predict(records, batch_size)):
            for c in call.candidates:
                out[i, index[c.family]] = c.score
        return out

    def predict_fingerprints(self, ids: Sequence[str], fingerprints: np.ndarray) -> list[Call]:
        """Calls for precomputed fingerprints (frame unknown): every family is a candidate, as in the paper."""
        probs = self.cnn(fingerprints)
        return [
            self.rule.decide(q, [Candidate(f, s) for f, s in zip(self.families, row.tolist(), strict=True)])
            for q, row in zip(ids, probs, strict=True)
        ]
