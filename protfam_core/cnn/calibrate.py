"""`classify-cnn calibrate`: the calling rule (score threshold, fallback E-value) chosen on validation data only.

Two validation sets decide it together (`CallingRule.fit`): members of the known families (the dataset's validation
split) and sequences of families the model does not know (the open set's validation half). The domain rule of
`--domains` is chosen apart, on whole proteins built from the same two sets (`cnn.constructed`): the CNN-score
threshold and independent E-value cut with the best domain F1. The result is a new CNN bundle: the same network, the
card's rules replaced and the calibration recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.constructed import best_rule, build_proteins, domain_scores, rule_cut
from protfam_core.cnn.rule import FALLBACK_GRID, CallingRule, Candidate, DomainRule
from protfam_core.errors import InputError
from protfam_core.io.seqio import Record
from protfam_core.registry.bundles import Bundle, new_version, pins, save_bundle


def calibrate(
    classifier: FamilyClassifier,
    known: Sequence[Record],
    labels: Sequence[str],
    unknown: Sequence[Record],
    fallback_grid: Sequence[float] = FALLBACK_GRID,
) -> CallingRule:
    """The calling rule fitted on known and unknown validation sequences over `fallback_grid`."""
    if not known or not unknown:
        raise InputError("calibration needs known-family and unknown-family validation sequences")
    if len(known) != len(labels):
        raise InputError(f"{len(known)} known sequences but {len(labels)} labels")
    by_fallback = []
    for records in (known, unknown):
        searched = classifier.candidates(records, fallback_evalue=0.0)
        by_fallback.append({e: _with_fallback(classifier, records, searched, e) for e in fallback_grid})
    return CallingRule(fallback_grid=fallback_grid).fit(by_fallback[0], labels, by_fallback[1])


def calibrate_domains(
    classifier: FamilyClassifier,
    known: Sequence[Record],
    labels: Sequence[str],
    unknown: Sequence[Record],
    n: int = 100,
    seed: int = 0,
) -> tuple[DomainRule, dict]:
    """The domain rule: the CNN-score threshold and E-value cut with the best domain F1 on `n` validation proteins of
    each kind built from `known` (by label) and `unknown`; returns it with its validation figures."""
    proteins = build_proteins(known, labels, [(r, "unknown") for r in unknown], n, seed)
    records = [p.record for p in proteins]
    found = classifier.domain_hits(classifier.fingerprint(records, domains=True))
    hits = [found[r.id] for r in records]
    rule = best_rule(proteins, hits)
    figures = domain_scores(proteins, rule_cut(hits, rule))
    return rule, {"proteins": len(proteins), "seed": seed, **figures}


def _with_fallback(
    classifier: FamilyClassifier, records: Sequence[Record], searched: list[list[Candidate]], fallback_evalue: float
) -> list[list[Candidate]]:
    """Candidates at `fallback_evalue`, from those of the plain search (computed once): only the records without
    any go through the chain again. Per-record results do not depend on the batch."""
    missing = [i for i, c in enumerate(searched) if not c]
    if not missing or fallback_evalue <= 0:
        return searched
    again = classifier.candidates([records[i] for i in missing], fallback_evalue=fallback_evalue)
    found = dict(zip(missing, again, strict=True))
    return [found.get(i, c) for i, c in enumerate(searched)]


def save_calibrated(
    classifier: FamilyClassifier,
    rule: CallingRule,
    out_dir: str | Path,
    sets: dict[str, str],
    domains: tuple[DomainRule, dict] | None = None,
) -> Bundle:
    """A new CNN bundle: the same ONNX network, the card's rule replaced by `rule` (and the domain rule by `domains`'
    (rule, validation figures)), the calibration recorded.

    The version is the next one of the model's name, so the old bundle (and whatever pins it) stays as it was."""
    source = classifier.cnn_bundle
    card = {k: v for k, v in source.card.items() if k not in ("name", "kind", "files")}
    card.update(
        version=new_version(source.name),
        **rule.to_card(),
        calibration={
            "from": source.ref,
            "rule": "max balanced accuracy on the validation sets; lowest fallback E; median threshold of ties",
            "sets": sets,
            "chosen": rule.chosen_.as_dict(),
            "best_per_fallback_evalue": [r.as_dict() for r in rule.best_per_fallback_],
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    card.pop("max_unassigned_val", None)
    for key, _ in DomainRule.CARD_KEYS.values():
        card.pop(key, None)
    if domains is not None:
        domain, figures = domains
        card.update(domain.to_card())
        evalue = domain.evalue_ if math.isfinite(domain.evalue_) else None
        card["calibration"]["domains"] = {
            "rule": "max domain F1 on constructed validation proteins (multi, repeat, unknown): coordinate ascent "
            "over the hits' independent E-values and CNN scores; median of ties",
            "chosen": {"threshold": domain.threshold_, "evalue": evalue, **figures},
        }
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
    """`classify-cnn calibrate`: both rules chosen on the dataset's val split and `unknown` (default: the open set's
    val half), saved as a new bundle (published with `publish`); returns it and the chosen rules' figures."""
    from protfam_core.msa.dataset import load_dataset
    from protfam_core.msa.open_set import unknown_records

    data = load_dataset(dataset_dir)
    if unknown is None:
        unknown, _ = unknown_records(data, "val")
        source = f"open-set val half of {dataset_dir}: {len(unknown)} sequences"
    else:
        source = f"{unknown_name}: {len(unknown)} sequences"
    log(f"calibrating {classifier.cnn_bundle.ref} on {source} and the val split")
    val, val_labels = data.records("val"), data.labels("val")
    rule = calibrate(classifier, val, val_labels, unknown)
    log("choosing the domain rule on constructed validation proteins")
    domains = calibrate_domains(classifier, val, val_labels, unknown)
    sets = {"known": f"{dataset_dir} val split: {len(val)} sequences", "unknown": source}
    bundle = save_calibrated(classifier, rule, out_dir, sets, domains)
    if publish:
        from protfam_core.registry.bundles import publish as publish_bundle

        publish_bundle(bundle.path)
    domain = domains[0]
    return bundle, {**rule.chosen_.as_dict(), "domain_threshold": domain.threshold_, "domain_evalue": domain.evalue_}
