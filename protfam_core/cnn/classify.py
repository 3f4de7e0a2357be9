"""The end-to-end family predictor for proteins whose family nobody knows (onnxruntime only, never torch).

A query is searched against every family frame in one pyhmmer pass; each significant domain hit gives a placement in
its frame, the placement gives SS/SA-projected channels, the VAEs give the 3 x 30 fingerprint and the CNN gives one
output per family. A domain's score is the output of its own frame's family (the CNN was trained with rows placed in
foreign frames as negatives, so that output means "this row belongs to the frame it sits in"). One rule
(`rule.CallRule`, from the CNN's card, chosen on validation data by `calibrate.py`) makes both tables: the domains
called (score >= threshold, overlaps settled) and, per protein, the best-supported of them (`unassigned`: none).
With a fast bundle (`fast.py`, `predict --fast`) the queries it is sure of are answered before any of this.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from typing import IO, TYPE_CHECKING

import numpy as np

from protfam_core.cnn.rule import Call, Domain
from protfam_core.cnn.settings import ChainSettings
from protfam_core.errors import InputError, ModelError
from protfam_core.frames.frameset import FrameSet, SearchSettings, place_queries
from protfam_core.io.fingerprints import Fingerprints, check_model
from protfam_core.io.placements import Query, same_frames
from protfam_core.io.seqio import Record
from protfam_core.registry.bundles import Bundle, load_manifest, pinned, resolve
from protfam_core.registry.onnx_runtime import OnnxModel
from protfam_core.ss.predict import SSPredictor

if TYPE_CHECKING:
    from protfam_core.cnn.fast import FastPath
    from protfam_core.frames.prefilter import KmerPrefilter

INPUT_NAME = "fingerprints"  # the CNN's ONNX input and output names (cnn_model exports them)
OUTPUT_NAME = "probabilities"
# The fast pass holds a row and its positions per query, not the chain's features, so it takes this many batches at
# once: each batch places its queries frame by frame, and a frame call costs about 0.3 ms besides the alignments
# (4,458 queries on 2 cores: 0.15 s less than in batches of 1,024; its encoder and CNN still run 512 rows a call).
FAST_BATCHES = 4
# Frames per query the sensitive fallback searches (ranked by the 3-mer prefilter): on the validation sets 3 and all
# 96 gave the same calls, at 3/96 of the cost of searching them all (2.6 times the plain search, on a proteome).
FALLBACK_FRAMES = 3


def family_scores(probabilities: np.ndarray, frames: Sequence[str], families: Sequence[str]) -> np.ndarray:
    """Per placed row, the CNN output of the family whose frame it sits in."""
    index = {f: i for i, f in enumerate(families)}
    try:
        cols = np.array([index[f] for f in frames], dtype=np.int64)
    except KeyError as exc:
        raise ModelError(f"placement in frame {exc.args[0]!r}, which the CNN does not know") from None
    return probabilities[np.arange(len(frames)), cols] if len(frames) else np.zeros(0, np.float32)


def fast_ref(cnn: Bundle) -> str | None:
    """The fast bundle of a CNN: the shipped default for the shipped CNN, else NAME-fast@champion for a CNN named NAME
    (as `classify-cnn easy-train` publishes them)."""
    shipped = load_manifest().get("defaults", {}).get("cnn")
    return None if cnn.name == shipped else f"{cnn.name}-fast@champion"


class FallbackShortlist:
    """The frames the sensitive fallback searches for each query without a candidate: the first FALLBACK_FRAMES of
    the 3-mer prefilter of the CNN's fast bundle (`frames.prefilter`). On the validation sets the calls are those of
    the fallback over every frame (cnn.calibrate replays exactly this search). The prefilter is read on first use: a
    run whose queries all have a candidate, or that starts from fingerprints, never needs it."""

    def __init__(self, bundle: Bundle, frames: FrameSet) -> None:
        self.bundle = bundle
        self.frames = frames

    @classmethod
    def of(cls, cnn: Bundle, frames: FrameSet) -> FallbackShortlist | None:
        """The shortlist of a CNN's fast bundle, None where it has none for these frames (the fallback then searches
        them all)."""
        try:
            bundle = resolve(fast_ref(cnn), "fast")
        except ModelError:
            return None
        return cls(bundle, frames) if list(bundle.card.get("families", [])) == list(frames.families) else None

    @cached_property
    def prefilter(self) -> KmerPrefilter:
        from protfam_core.frames.prefilter import KmerPrefilter

        prefilter = KmerPrefilter.load(self.bundle.file("prefilter"))
        if list(prefilter.families_) != list(self.frames.families):
            raise ModelError(f"the prefilter of {self.bundle.ref} names other families than its model card")
        return prefilter

    def __call__(self, records: Sequence[Record]) -> list[list[str]]:
        top = self.prefilter.top([r.seq for r in records], FALLBACK_FRAMES)
        return [[self.frames.families[i] for i in row] for row in top.tolist()]


def check_families(cnn_families: Sequence[str], frames_families: Sequence[str], frameset: FrameSet) -> None:
    """The CNN's outputs, the frames bundle's card and its HMM file must name the same families in the same order."""
    if list(cnn_families) != list(frames_families):
        missing = sorted(set(frames_families) ^ set(cnn_families))
        detail = f"differ in {missing[:3]}" if missing else "are in a different order"
        raise ModelError(f"the CNN's families and the frames' families {detail}: the bundles do not belong together")
    if list(frameset.families) != list(frames_families):
        raise ModelError("the frames bundle's HMM file does not hold the families its model card lists")


def model_frames(cnn: Bundle, frames: str | None = None) -> tuple[Bundle, FrameSet, FallbackShortlist | None]:
    """The frames a CNN places its queries in (the bundle its card pins, or `frames`: a bundle of the same families),
    checked against the CNN, and its fallback's shortlist: the classifier and `prep-msa place --model` take them from
    here alike, so that the stage pipe places as the chain does."""
    bundle = pinned(cnn.card, "frames", frames)
    frame_set = FrameSet.load(bundle.file("hmm"))
    check_families(cnn.card["families"], bundle.card["families"], frame_set)
    return bundle, frame_set, FallbackShortlist.of(cnn, frame_set)


class FamilyClassifier:
    """sklearn-style predictor over the shipped (or named) bundles: frames, SS/SA, VAE fingerprints, CNN."""

    def __init__(
        self,
        model: str | None = None,
        frames: str | None = None,
        vae: str | None = None,
        ss: str | None = None,
        threshold: float | None = None,
        evalue: float | None = None,
        domain_evalue: float | None = None,
        fallback_evalue: float | None = None,
        threads: int = 1,
        fast: bool | str = False,
    ) -> None:
        from protfam_core.vae.encode import Fingerprinter

        self.cnn_bundle = resolve(model, "cnn")
        card = self.cnn_bundle.card
        self.frames_bundle, self.frames, self.shortlist = model_frames(self.cnn_bundle, frames)
        self.families: list[str] = list(card["families"])
        self.threads = threads
        self.vae_bundle = pinned(card, "vae", vae)
        self.fingerprinter = Fingerprinter(self.vae_bundle, threads)
        self.ss_bundle = pinned(card, "ss", ss)
        self.fast_bundle = resolve(self._fast_ref(fast), "fast") if fast else None
        self.settings = ChainSettings.from_cards(
            card,
            self.fast_bundle.card if self.fast_bundle is not None else None,
            threshold=threshold,
            evalue=evalue,
            domain_evalue=domain_evalue,
            fallback_evalue=fallback_evalue,
            source=f"{self.cnn_bundle.ref} model card",
        )
        self.fast_path = self._fast_path(self.fast_bundle) if self.fast_bundle is not None else None
        if (
            self.shortlist is not None
            and self.fast_path is not None
            and self.shortlist.bundle.path == self.fast_bundle.path
        ):
            self.shortlist.prefilter = self.fast_path.prefilter  # the fast path's own: read once

    def _fast_ref(self, fast: bool | str) -> str | None:
        """The fast bundle `fast` names; for True, the one of this CNN (`fast_ref`)."""
        return fast_ref(self.cnn_bundle) if fast is True else str(fast)

    def _fast_path(self, bundle) -> FastPath:
        """The fast path of this CNN (its card pins the CNN's model.json), used with the frames and VAE the CNN pins."""
        card, cnn_pins = bundle.card, self.cnn_bundle.card.get("pins", {})
        if card.get("pins", {}).get("cnn") != self.cnn_bundle.card_sha256():
            made_for = card.get("cnn")
            raise ModelError(f"the fast path {bundle.ref} was made for cnn {made_for}, not {self.cnn_bundle.ref}")
        for role, used in (("frames", self.frames_bundle), ("vae", self.vae_bundle)):
            if cnn_pins.get(role) not in (None, used.card_sha256()):
                raise ModelError(f"the fast path takes the {role} its CNN was trained with, not {used.ref}")
        from protfam_core.cnn.fast import FastPath  # imported here: fast.py builds on this module

        return FastPath.from_bundle(bundle, self.frames, self.fingerprinter, self.settings.fast, self.threads)

    @cached_property
    def ss_predictor(self) -> SSPredictor:
        """Started on first use, as the CNN session: the fast path leaves most queries without SS/SA."""
        return SSPredictor(self.ss_bundle, self.threads)

    @cached_property
    def _cnn(self) -> OnnxModel:
        return self.cnn_bundle.onnx("model", self.threads)

    def bundles(self) -> list[tuple[str, object]]:
        """(role, Bundle) of every model this predictor uses, for provenance lines."""
        pairs = [("model", self.cnn_bundle), ("frames", self.frames_bundle), ("vae", self.vae_bundle)]
        pairs.append(("ss", self.ss_bundle))
        pairs += [("prefilter", self.shortlist.bundle)] if self.shortlist is not None else []
        return pairs + ([("fast", self.fast_bundle)] if self.fast_bundle is not None else [])

    def cnn(self, fingerprints: np.ndarray) -> np.ndarray:
        """CNN sigmoid outputs (n, families) for (n, 3, 30) fingerprints."""
        with np.errstate(over="ignore"):  # 1e308 is inf in float32: refused below
            x = np.asarray(fingerprints, dtype=np.float32)
        if x.ndim != 3 or x.shape[1:] != (3, 30):
            raise InputError(f"fingerprints must be n x 3 x 30, got shape {x.shape}")
        if not len(x):
            return np.zeros((0, len(self.families)), np.float32)
        if not np.isfinite(x).all():  # the CNN would turn them into NaN scores
            raise InputError("fingerprints hold values beyond float32 (|x| > 3.4e38)")
        probs = self._cnn.run({INPUT_NAME: x[:, None, :, :]})[OUTPUT_NAME]
        if np.isnan(probs).any():
            raise InputError("fingerprints give NaN scores: their values are far outside what a VAE makes")
        return probs

    def place(self, records: Sequence[Record], search: SearchSettings | None = None) -> list[Query]:
        """Stage 1: the candidate domains of each record in the frames this CNN was trained with, under the chain's
        cuts (or `search`'s: calibration searches with none)."""
        search = self.settings.search if search is None else search
        return place_queries(self.frames, records, search, self.threads, self.frames_bundle.ref, self.shortlist)

    def check_fingerprints(self, fps: Fingerprints) -> None:
        """Fingerprints must come from the VAE this CNN was trained on, placed in frames it knows."""
        dim = self.fingerprinter.latent_dim
        if fps.dim != 3 * dim:
            raise InputError(f"fingerprints have {fps.dim} values, expected {3 * dim} (aa, ss, sa x {dim})")
        vae = self.vae_bundle.ref
        reader, remedy = (
            f"the CNN {self.cnn_bundle.ref} was trained on",
            f"encode with that VAE (encode-vae encode --model {vae})",
        )
        check_model(fps.model, vae, reader, remedy)
        if fps.frames_ref is not None and not same_frames(fps.frames_ref, self.frames_bundle.ref):
            raise ModelError(
                f"the fingerprints are of placements in frames {fps.frames_ref}, the CNN {self.cnn_bundle.ref} was "
                f"trained in {self.frames_bundle.ref}: place the sequences in those frames (prep-msa place)"
            )
        known = set(self.families)
        stranger = next((f for f in fps.frames or () if f is not None and f not in known), None)
        if stranger is not None:
            raise ModelError(f"a placement in frame {stranger!r}, which the CNN {self.cnn_bundle.ref} does not know")

    def _own_frame_scores(self, fps: Fingerprints) -> Iterator[float]:
        """The CNN output of its own frame's family for each placed row of `fps`, in row order."""
        placed = fps.placed()
        probs = self.cnn(placed.vectors.reshape(len(placed), 3, self.fingerprinter.latent_dim))
        return iter(family_scores(probs, placed.frames, self.families).tolist())

    def domain_hits(self, fps: Fingerprints) -> dict[str, list[Domain]]:
        """Every candidate domain of every query (input order), scored by the CNN output of its frame, from framed
        fingerprints (`encode-vae encode` of placements; a forced placement is one domain)."""
        self.check_fingerprints(fps)
        scores = self._own_frame_scores(fps)
        hits: dict[str, list[Domain]] = {}
        values = fps.evalues.tolist(), fps.scores.tolist(), fps.lengths.tolist(), fps.hmm_spans.tolist()
        for qid, frame, (_, start, end), *hit, columns in zip(fps.ids, fps.frames, fps.spans.tolist(), *values,
                                                               strict=True):  # fmt: skip
            hits.setdefault(qid, [])
            if frame is not None:
                hits[qid].append(Domain(qid, frame, start, end, next(scores), *hit, *columns))
        return hits

    def classify(self, fps: Fingerprints) -> list[Call]:
        """Stage 4 per protein: one Call per query of framed fingerprints, input order."""
        return [self.settings.rule.decide(qid, hits) for qid, hits in self.domain_hits(fps).items()]

    def domains(self, fps: Fingerprints) -> list[Domain]:
        """Stage 4 per domain: the called domains of every query (input order, then by start); a query without any
        gets one `unassigned` row."""
        return [d for qid, hits in self.domain_hits(fps).items() for d in self.settings.rule.domains(qid, hits)]

    def fingerprint(self, records: Sequence[Record], search: SearchSettings | None = None) -> Fingerprints:
        """Stages 1-3: candidate domains, SS/SA, fingerprints, exactly what the pipe of the stage tools computes.
        SS/SA are predicted only for the queries with a candidate: a query without one gets no fingerprint, and on a
        proteome that is almost every query (SS/SA was 70% of the chain's time there)."""
        queries = self.place(records, search)
        annotated = iter(self.ss_predictor.annotate([q for q in queries if q.candidates]))
        return self.fingerprinter.encode_queries([next(annotated) if q.candidates else q for q in queries])

    def predict(
        self, records: Sequence[Record], batch_size: int = 256, progress: Callable[[int], None] | None = None
    ) -> list[Call]:
        """One Call per record, in input order: the four stages on each batch; `progress(n)` after each batch. With
        the fast path, the records it is not sure of take the four stages afterwards, in batches of their own; the
        fast pass takes FAST_BATCHES batches at a time."""
        if self.fast_path is None:
            return self._batched(records, batch_size, progress, self._chain)

        def fast_calls(batch: Sequence[Record]) -> list[Call | None]:
            calls = self.fast_path.calls(batch)
            if progress is not None:
                progress(sum(call is not None for call in calls))
            return calls

        fast = self._batched(records, batch_size * FAST_BATCHES, None, fast_calls)
        rest = [r for r, call in zip(records, fast, strict=True) if call is None]
        full = iter(self._batched(rest, batch_size, progress, self._chain) if rest else [])
        return [call if call is not None else next(full) for call in fast]

    def _chain(self, batch: Sequence[Record]) -> list[Call]:
        return self.classify(self.fingerprint(batch))

    def predict_domains(
        self, records: Sequence[Record], batch_size: int = 256, progress: Callable[[int], None] | None = None
    ) -> list[Domain]:
        """The called domains of every record (input order, then by start): the four stages."""
        return self._batched(records, batch_size, progress, lambda b: self.domains(self.fingerprint(b)))

    def _batched(self, records: Sequence[Record], batch_size: int, progress, work) -> list:
        if not records:
            raise InputError("no sequences to classify")
        out: list = []
        for i in range(0, len(records), batch_size):
            batch = records[i : i + batch_size]
            out += work(batch)
            if progress is not None:
                progress(len(batch))
        return out

    def read_input(self, source: str, stdin: IO | None = None) -> tuple[list[Record] | None, Fingerprints | None]:
        """Whatever stage of the pipe `source` holds, as what is left to run: raw sequences (the four stages; first)
        or fingerprints (second): placements (with or without SS/SA) get SS/SA and the VAE here, framed fingerprints
        are taken as they are, and fingerprints without frames (the paper's input) make every family a candidate."""
        from protfam_core.io.fingerprints import parse_fingerprints, read_fingerprints
        from protfam_core.io.placements import parse_placements, stage_of
        from protfam_core.io.seqio import parse_sequences, read_text
        from protfam_core.ss.predict import with_ss

        npy = source.endswith(".npy")
        name, text = (source, "") if npy else read_text(source, stdin)
        stage = "fingerprints" if npy else stage_of(text)
        if stage == "sequences":
            return parse_sequences(name, text), None
        if self.fast_path is not None:
            raise InputError(f"--fast takes raw sequences; {name} holds {stage}")
        if npy:
            return None, read_fingerprints(source)
        if stage == "placements":
            frames = (self.frames_bundle.ref, self.frames.widths)  # the CNN's own frames version
            queries = with_ss(parse_placements(name, text, frames), self.ss_predictor.model_id, self.threads)
            return None, self.fingerprinter.encode_queries(queries)
        return None, parse_fingerprints("stdin" if source == "-" else name, text)

    def answer(self, fps: Fingerprints, domains: bool = False, batch_size: int = 256) -> Iterable:
        """Stage 4 on fingerprints of any kind: the called domains (`domains`), the calls of framed fingerprints, or
        the calls of frame-less ones (every family a candidate, batch by batch so that only the output grows)."""
        if domains:
            return self.domains(fps)
        return self.classify(fps) if fps.frames is not None else self.predict_fingerprints(fps, batch_size)

    def predict_proba(self, records: Sequence[Record], batch_size: int = 256) -> np.ndarray:
        """(n, families) scores: the CNN output on the placement in each candidate frame, 0 for non-candidates."""
        index = {f: i for i, f in enumerate(self.families)}
        out = np.zeros((len(records), len(self.families)), np.float32)
        for i, call in enumerate(self.predict(records, batch_size)):
            for c in call.candidates:
                out[i, index[c.family]] = c.score
        return out

    def predict_fingerprints(self, fps: Fingerprints, batch_size: int = 256) -> Iterator[Call]:
        """Calls for fingerprints without frames (the paper's input): every family is a candidate. Yielded batch by
        batch, because every row holds a candidate per family: 50,000 rows' calls at once took 5.8 GB."""
        self.check_fingerprints(fps)
        vectors = fps.vectors.reshape(len(fps), 3, self.fingerprinter.latent_dim)
        for i in range(0, len(fps), batch_size):
            probs = self.cnn(vectors[i : i + batch_size])
            for q, row in zip(fps.ids[i : i + batch_size], probs.tolist(), strict=True):
                hits = [Domain(q, f, 0, 0, s, math.nan) for f, s in zip(self.families, row, strict=True)]
                yield self.settings.rule.decide(q, hits)
