"""`classify-cnn calibrate`: the calling rule (`rule.CallRule`) chosen on validation data only.

Every validation query is searched once with no cut, by the plain and the sensitive search, and every domain hit is
scored by the CNN; each rule weighed replays stage 1's cuts on those hits (`frames.frameset.replay`) and stage 4's
threshold, exactly as `predict` would apply them. The sets:
- known: the dataset's validation members (a call is right when it names the member's family);
- unknown: the open set's validation half, families the model does not know (right when `unassigned`);
- decoys: the validation members reversed and shuffled (Pfam's own check): HMMER's calls on each kind (hmmsearch of
  the same frames, E <= 1e-3) are the most false calls a rule may make there; and generated low-complexity,
  coiled-coil and transmembrane proteins (`cnn.decoys`), whose calls a rule makes as few of as it can;
- constructed: whole proteins of validation domains (`cnn.constructed`), whose domain F1 ranks rules next.
The rule that meets the bounds with the best balanced accuracy of known and unknown, then the best domain F1, then
the fewest calls on the generated decoys, goes into a new CNN bundle with these figures (the same network, the
card's rule replaced).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np

from protfam_core.cnn.classify import FALLBACK_FRAMES, FamilyClassifier
from protfam_core.cnn.constructed import Protein, build_proteins, domain_scores
from protfam_core.cnn.decoys import decoys
from protfam_core.cnn.report import UNASSIGNED
from protfam_core.cnn.rule import CallRule, Domain
from protfam_core.errors import InputError
from protfam_core.frames.frameset import SearchSettings, replay
from protfam_core.io.placements import Query
from protfam_core.io.seqio import Record
from protfam_core.registry.bundles import Bundle, new_version, pins, save_bundle

HMMER_EVALUE = 1e-3  # the E-value cut of the HMMER baseline that bounds the decoys' false calls
BOUNDED = ("reversed", "shuffled")  # the decoy kinds whose false calls may not exceed HMMER's
RULE_TEXT = (
    "coordinate ascent over the E-value cuts and the CNN threshold: false calls on reversed and on shuffled val "
    "members <= HMMER's (hmmsearch, same frames, E <= 1e-3), then max balanced accuracy of known and unknown, then "
    "max domain F1 of constructed proteins, then the fewest calls on generated decoys; median of ties"
)


class Searched(NamedTuple):
    """One query's domain hits under no cut, CNN-scored: from the plain search and from the sensitive one."""

    plain: list[Domain]
    sensitive: list[Domain]


def searched(classifier: FamilyClassifier, records: Sequence[Record]) -> list[Searched]:
    """Every domain hit of each record, by the plain search and by the fallback's sensitive search (in the frames
    of its shortlist where the chain has one), scored by the CNN (the chain's stages 2-4 on them)."""
    if not records:
        return []
    wide, frames, threads = SearchSettings(fallback_evalue=0.0), classifier.frames, classifier.threads
    plain = frames.search(list(records), wide, cpus=threads)
    if classifier.shortlist is None:
        sensitive = frames.search(list(records), wide, sensitive=True, cpus=threads)
    else:  # the fallback's own frames, as predict searches them
        sensitive = frames.search_shortlist(list(records), classifier.shortlist(records), wide, True, max(1, threads))
    queries = [Query(r.id, r.seq, (*plain[r.id], *sensitive[r.id]), frames=classifier.frames_bundle.ref)
               for r in records]  # fmt: skip
    annotated = iter(classifier.ss_predictor.annotate([q for q in queries if q.candidates]))
    fps = classifier.fingerprinter.encode_queries([next(annotated) if q.candidates else q for q in queries])
    hits = classifier.domain_hits(fps)
    out = []
    for q in queries:
        scored = [d._replace(hit_evalue=p.hit_evalue) for d, p in zip(hits[q.id], q.candidates, strict=True)]
        out.append(Searched(scored[: len(plain[q.id])], scored[len(plain[q.id]) :]))
    return out


class Validation(NamedTuple):
    """The searched validation sets and what a rule must do on them."""

    known: list[Searched]
    labels: list[str]
    unknown: list[Searched]
    decoys: dict[str, list[Searched]]
    proteins: list[Protein]
    constructed: list[Searched]

    def hmmer_decoy_calls(self) -> dict[str, int]:
        """Decoys with a plain hit at whole-sequence E <= HMMER_EVALUE (hmmsearch's default filters)."""
        return {k: sum(any(h.hit_evalue <= HMMER_EVALUE for h in s.plain) for s in v) for k, v in self.decoys.items()}

    def figures(self, rule: CallRule) -> dict[str, float]:
        """What `rule` does on every set."""

        def calls(sets: Sequence[Searched]) -> list[str]:
            return [rule.decide("", replay(s.plain, s.sensitive, rule.search)).family for s in sets]

        known = calls(self.known)
        right = np.mean([c == t for c, t in zip(known, self.labels, strict=True)])
        unknown_unassigned = np.mean([c == UNASSIGNED for c in calls(self.unknown)])
        decoy_calls = {k: sum(c != UNASSIGNED for c in calls(v)) for k, v in self.decoys.items()}
        domains = [rule.domains("", replay(s.plain, s.sensitive, rule.search)) for s in self.constructed]
        return {
            "known_correct": float(right),
            "known_unassigned": float(np.mean([c == UNASSIGNED for c in known])),
            "unknown_unassigned": float(unknown_unassigned),
            "balanced_accuracy": float((right + unknown_unassigned) / 2),
            **{f"decoy_calls_{k}": float(v) for k, v in decoy_calls.items()},
            "decoy_calls": float(sum(decoy_calls.values())),
            **domain_scores(self.proteins, domains),
        }

    def objective(self, rule: CallRule, hmmer: dict[str, int]) -> tuple[float, float, float, float]:
        """What `CallRule.fit` maximises, in order: false calls over HMMER's on the bounded decoy kinds (negated),
        balanced accuracy, domain F1, calls on the other decoys (negated)."""
        f = self.figures(rule)
        over = sum(max(0.0, f[f"decoy_calls_{k}"] - hmmer[k]) for k in BOUNDED)
        other = sum(f[f"decoy_calls_{k}"] for k in hmmer if k not in BOUNDED)
        return (-over, round(f["balanced_accuracy"], 12), round(f["domain_f1"], 12), -other)


def validation_sets(
    classifier: FamilyClassifier,
    known: Sequence[Record],
    labels: Sequence[str],
    unknown: Sequence[Record],
    n_proteins: int = 100,
    seed: int = 0,
) -> Validation:
    """The validation sets of the rule, searched and scored once."""
    if not known or not unknown:
        raise InputError("calibration needs known-family and unknown-family validation sequences")
    if len(known) != len(labels):
        raise InputError(f"{len(known)} known sequences but {len(labels)} labels")
    proteins = build_proteins(known, labels, [(r, "unknown") for r in unknown], n_proteins, seed)
    made = decoys(known, seed)
    return Validation(
        searched(classifier, known),
        list(labels),
        searched(classifier, unknown),
        {kind: searched(classifier, recs) for kind, recs in made.items()},
        proteins,
        searched(classifier, [p.record for p in proteins]),
    )


def calibrate(validation: Validation) -> tuple[CallRule, dict]:
    """The rule fitted on the validation sets, and its figures (with HMMER's decoy calls beside them)."""
    hmmer = validation.hmmer_decoy_calls()
    rule = CallRule().fit(lambda r: validation.objective(r, hmmer))
    figures = validation.figures(rule)
    return rule, {**figures, **{f"hmmer_decoy_calls_{k}": v for k, v in hmmer.items()}}


def save_calibrated(
    classifier: FamilyClassifier, rule: CallRule, figures: dict, out_dir: str | Path, sets: dict[str, str]
) -> Bundle:
    """A new CNN bundle: the same ONNX network, the card's rule replaced by `rule`, the calibration recorded.

    The version is the next one of the model's name, so the old bundle (and whatever pins it) stays as it was."""
    source = classifier.cnn_bundle
    card = {k: v for k, v in source.card.items() if k not in ("name", "kind", "files", "max_unassigned_val")}
    for key in ("domain_threshold", *(key for key, _ in CallRule.CARD_KEYS.values())):
        card.pop(key, None)  # the former cards' separate domain threshold, and the old rule
    card.update(
        version=new_version(source.name),
        **rule.to_card(),
        calibration={
            "from": source.ref,
            "rule": RULE_TEXT,
            "sets": sets,
            "fallback_frames": (
                f"the first {FALLBACK_FRAMES} of the 3-mer prefilter of {classifier.shortlist.bundle.ref}"
                if classifier.shortlist is not None
                else "every frame"
            ),
            "chosen": {**rule.to_card(), **figures},
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    card["pins"] = pins({"frames": classifier.frames_bundle, "vae": classifier.vae_bundle, "ss": classifier.ss_bundle})
    return save_bundle(Path(out_dir) / source.name, source.name, "cnn", {"model": source.file("model")}, card)


def calibrate_bundle(
    classifier: FamilyClassifier,
    dataset_dir: str | Path,
    out_dir: str | Path,
    unknown: Sequence[Record] | None = None,
    unknown_name: str | None = None,
    publish: bool = False,
    log: Callable[[str], None] = lambda _msg: None,
) -> tuple[Bundle, dict[str, float]]:
    """`classify-cnn calibrate`: the rule chosen on the dataset's val split, `unknown` (default: the open set's val
    half), decoys and constructed proteins, saved as a new bundle (published with `publish`); returns it and the
    chosen rule's figures."""
    from protfam_core.msa.dataset import load_dataset
    from protfam_core.msa.open_set import unknown_records

    data = load_dataset(dataset_dir)
    if unknown is None:
        unknown, _ = unknown_records(data, "val")
        source = f"open-set val half of {dataset_dir}: {len(unknown)} sequences"
    else:
        source = f"{unknown_name}: {len(unknown)} sequences"
    val, val_labels = data.records("val"), data.labels("val")
    log(f"searching the validation sets of {classifier.cnn_bundle.ref}: the val split, {source}, decoys, proteins")
    validation = validation_sets(classifier, val, val_labels, unknown)
    log("choosing the rule")
    rule, figures = calibrate(validation)
    sets = {
        "known": f"{dataset_dir} val split: {len(val)} sequences",
        "unknown": source,
        "decoys": {k: len(v) for k, v in validation.decoys.items()},
        "constructed": f"{len(validation.proteins)} proteins of val domains (cnn.constructed, seed 0)",
    }
    bundle = save_calibrated(classifier, rule, figures, out_dir, sets)
    if publish:
        from protfam_core.registry.bundles import publish as publish_bundle

        publish_bundle(bundle.path)
    return bundle, {**rule.to_card(), **figures}
