"""`classify-cnn train`: dataset -> CNN examples -> trained, exported, tracked "family-cnn" + "family-frames" bundles.

The threshold for `unassigned` is chosen here, on the validation split, with exactly the rule predict uses: a
validation member's score is its best candidate frame's CNN output from the frame search (no label involved).
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from protfam_core.cnn.classify import FamilyClassifier, family_scores
from protfam_core.cnn.examples import SEARCH, Examples, split_examples
from protfam_core.cnn.model import TrainConfig, export, predict, train_cnn
from protfam_core.cnn.report import overall_accuracy
from protfam_core.cnn.rule import K_GRID, Domain, FastRule, choose_threshold
from protfam_core.cnn.settings import ChainSettings
from protfam_core.errors import ModelError
from protfam_core.features.cache import FeatureCache
from protfam_core.msa.dataset import load_dataset
from protfam_core.registry.bundles import Bundle, new_version, pins, resolve, save_bundle
from protfam_core.registry.bundles import publish as registry_publish
from protfam_core.registry.onnx_export import parameter_count
from protfam_core.vae.encode import Fingerprinter


@dataclass(frozen=True)
class TrainResult:
    """Where the bundles went and the validation figures that were logged."""

    cnn_folder: Path
    frames_folder: Path
    threshold: float
    metrics: dict[str, float]


def blind_calls(examples: Examples, probabilities: np.ndarray, families: list[str], threshold: float) -> dict:
    """Per query: the call from its searched candidates only, by the rule of an uncalibrated card at `threshold`
    (what predict does); queries without any get none. The rows carry no E-value or span, so of equal scores the
    family first by name is called."""
    mask = np.array([s == SEARCH for s in examples.sources], dtype=bool)
    scores = family_scores(probabilities[mask], [examples.frames[i] for i in np.flatnonzero(mask)], families)
    per_query: dict[str, list[Domain]] = {}
    for i, s in zip(np.flatnonzero(mask), scores, strict=True):
        q = examples.query_ids[i]
        per_query.setdefault(q, []).append(Domain(q, examples.frames[i], 0, 0, float(s), math.nan))
    rule = ChainSettings.from_cards({}, threshold=threshold).rule
    return {q: rule.decide(q, sorted(hits, key=lambda h: h.family)) for q, hits in per_query.items()}


def validation_threshold(
    val: Examples, probabilities: np.ndarray, families: list[str], members: list[str], max_unassigned: float
) -> float:
    """The uncalibrated card's threshold: the highest that leaves at most `max_unassigned` of the validation members'
    searched candidates unassigned (`classify-cnn calibrate` replaces it)."""
    calls = blind_calls(val, probabilities, families, 0.0)
    return choose_threshold([calls[q].score if q in calls else None for q in members], max_unassigned)


def frames_card(dataset_card: dict, families: list[str], widths: dict[str, int], version: str) -> dict:
    """Model card of the frames bundle: the families (in CNN output order) and their widths."""
    return {
        "version": version,
        "families": families,
        "widths": {f: widths[f] for f in families},
        "params": {"source": "dataset frames.hmm (training members only)"},
        "metrics": {},
        "data": {"checksum": dataset_card.get("checksum"), "description": dataset_card.get("description", "")},
    }


def train(
    dataset_dir: str | Path,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    vae: str | None = None,
    cache_dir: str | Path | None = None,
    name: str = "family-cnn",
    frames_name: str = "family-frames",
    max_unassigned: float = 0.01,
    ss: str | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    threads: int = 1,
    publish: bool = False,
) -> TrainResult:
    """Train the CNN on one dataset, export ONNX, write both bundles under out_dir, log everything to MLflow; with
    `publish`, copy both into the shipped registry as the defaults."""
    import torch

    from protfam_core.registry.tracking import training_run

    torch.set_num_threads(threads)
    config = config or TrainConfig()
    dataset = load_dataset(dataset_dir)
    families = list(dataset.frames.families)
    fingerprinter = Fingerprinter(resolve(vae, "vae"))
    ss_bundle = resolve(ss or fingerprinter.ss_model, "ss")  # the features the VAE was trained on
    cache = FeatureCache(dataset, cache_dir, str(ss_bundle.path))
    started = time.monotonic()
    log("placing, predicting SS/SA and fingerprinting the train split")
    tr = split_examples(cache, "train", fingerprinter, families)
    log("... and the validation split")
    va = split_examples(cache, "val", fingerprinter, families)
    log(f"{len(tr.query_ids)} train rows ({int(tr.positive.sum())} positive), {len(va.query_ids)} validation rows")
    prep_seconds = time.monotonic() - started
    params = {
        **asdict(config),
        "families": len(families),
        "train_rows": len(tr.query_ids),
        "val_rows": len(va.query_ids),
    }
    vae_id = f"{fingerprinter.bundle.name}/{fingerprinter.bundle.version}"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tracked = {**params, "vae": vae_id, "ss": ss_bundle.ref}
    with training_run("family-cnn", tracked, dataset.card.get("checksum")) as run:
        model, history = train_cnn(tr.fingerprints, tr.targets, va.fingerprints, va.targets, config, run.log_epoch)
        probabilities = predict(model, va.fingerprints)
        members = [r.id for r in dataset.records("val")]
        threshold = validation_threshold(va, probabilities, families, members, max_unassigned)
        calls = blind_calls(va, probabilities, families, threshold)
        truth = dict(zip(members, dataset.labels("val"), strict=True))
        called = [calls[q].family if q in calls else "unassigned" for q in members]
        metrics = {
            "val_loss": min(h["val_loss"] for h in history),
            "epochs": float(len(history)),
            "val_blind_accuracy": overall_accuracy([truth[q] for q in members], called),
            "val_unassigned": float(np.mean([c == "unassigned" for c in called])),
            "threshold": threshold,
            "prep_seconds": prep_seconds,
            "train_seconds": time.monotonic() - started - prep_seconds,
        }
        run.log_epoch(len(history), {"val_blind_accuracy": metrics["val_blind_accuracy"]})
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = Path(tmp) / "model.onnx"
            export(model, onnx_path, va.fingerprints[:16])
            hmm_path = Path(tmp) / "frames.hmm"
            shutil.copyfile(Path(dataset_dir) / "frames.hmm", hmm_path)
            fcard = frames_card(dataset.card, families, dataset.frames.widths, new_version(frames_name))
            frames_bundle = save_bundle(out / frames_name, frames_name, "frames", {"hmm": hmm_path}, fcard)
            card = {
                "version": new_version(name),
                "families": families,
                "threshold": threshold,
                "max_unassigned_val": max_unassigned,
                "frames": f"{frames_name}/{frames_bundle.version}",
                "vae": vae_id,
                "ss": ss_bundle.ref,
                "pins": pins({"frames": frames_bundle, "vae": fingerprinter.bundle, "ss": ss_bundle}),
                "params": {**params, "parameters": parameter_count(model), "input": "1 x 3 x 30 (aa, ss, sa)"},
                "metrics": metrics,
                "data": {"checksum": dataset.card.get("checksum"), "description": str(dataset_dir)},
            }
            cnn_bundle = save_bundle(out / name, name, "cnn", {"model": onnx_path}, card)
        run.log_bundle(frames_bundle.path)
        run.log_bundle(cnn_bundle.path)
    if publish:
        registry_publish(frames_bundle.path)
        registry_publish(cnn_bundle.path)
    return TrainResult(cnn_bundle.path, frames_bundle.path, threshold, metrics)


def train_fast(
    dataset_dir: str | Path,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    cnn: str | None = None,
    cache_dir: str | Path | None = None,
    frames: str | None = None,
    name: str = "family-fast",
    log: Callable[[str], None] = lambda _msg: None,
    threads: int = 1,
    publish: bool = False,
) -> Bundle:
    """The fast path of the chain of `cnn` (default: the shipped CNN; `frames` overrides the frames bundle its card
    names, as in `evaluate`): its 3-mer prefilter and its aa CNN, trained on the dataset's train split, early-stopped
    and given its rule on validation data only (the val split and the open set's val half); one "fast" bundle pinned
    to that CNN, logged to MLflow."""
    import torch

    from protfam_core.cnn.examples import fast_examples
    from protfam_core.cnn.fast import FastPath
    from protfam_core.frames.prefilter import KmerPrefilter
    from protfam_core.msa.open_set import unknown_records
    from protfam_core.registry.onnx_runtime import OnnxModel
    from protfam_core.registry.tracking import training_run

    torch.set_num_threads(threads)
    config = config or TrainConfig()
    dataset = load_dataset(dataset_dir)
    families = list(dataset.frames.families)
    chain = FamilyClassifier(cnn, frames, threads=threads)  # its bundles, and its calls that the rule must not worsen
    cnn_bundle, vae_bundle, fingerprinter = chain.cnn_bundle, chain.vae_bundle, chain.fingerprinter
    if chain.families != families:
        raise ModelError(f"the dataset {dataset_dir} and the CNN {cnn_bundle.ref} name different families")
    cache = FeatureCache(dataset, cache_dir, cnn_bundle.card.get("ss"))
    started = time.monotonic()
    log("fitting the 3-mer prefilter on the train split")
    prefilter = KmerPrefilter().fit(dataset.records("train"), dataset.labels("train"), families)
    log("placing and fingerprinting the aa rows of the train and validation splits")
    tr, va = (fast_examples(cache, s, prefilter, fingerprinter, families, max(K_GRID)) for s in ("train", "val"))
    prep_seconds = time.monotonic() - started
    params = {**asdict(config), "families": len(families), "train_rows": len(tr.query_ids),
              "val_rows": len(va.query_ids), "cnn": cnn_bundle.ref, "prefilter_C": prefilter.C}  # fmt: skip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with training_run(name, params, dataset.card.get("checksum")) as run, tempfile.TemporaryDirectory() as tmp:
        model, history = train_cnn(tr.fingerprints, tr.targets, va.fingerprints, va.targets, config, run.log_epoch)
        onnx_path, prefilter_path = Path(tmp) / "model.onnx", Path(tmp) / "prefilter.npz"
        export(model, onnx_path, va.fingerprints[:16])
        prefilter.save(prefilter_path)
        log("choosing the rule on the val split and the open set's val half")
        fast = FastPath(prefilter, OnnxModel(onnx_path, threads=threads), chain.frames, fingerprinter,
                        FastRule.learned(top_k_=max(K_GRID), threshold_=0.0, evalue_=math.inf), threads)  # fmt: skip
        known, labels = dataset.records("val"), dataset.labels("val")
        unknown, _ = unknown_records(dataset, "val")
        chain_right = [c.family == t for c, t in zip(chain.predict(known), labels, strict=True)]
        chain_right += [c.family == "unassigned" for c in chain.predict(unknown)] if unknown else []
        rule = FastRule().fit(fast.candidates(known), labels, fast.candidates(unknown), chain_right)
        figures = rule.figures_
        metrics = {"val_loss": min(h["val_loss"] for h in history), "epochs": float(len(history)),
                   "val_accepted": figures["accepted"], "margin": figures["margin"], "prep_seconds": prep_seconds,
                   "train_seconds": time.monotonic() - started - prep_seconds}  # fmt: skip
        run.log_epoch(len(history), {"val_accepted": metrics["val_accepted"]})
        card = {
            "version": new_version(name),
            "families": families,
            **rule.to_card(),
            "rule_validation": figures,
            "cnn": cnn_bundle.ref,
            "frames": cnn_bundle.card.get("frames"),
            "vae": vae_bundle.ref,
            "pins": pins({"cnn": cnn_bundle}),
            "params": {**params, "parameters": parameter_count(model), "input": "1 x 1 x 30 (aa)"},
            "metrics": metrics,
            "data": {"checksum": dataset.card.get("checksum"), "description": str(dataset_dir)},
        }
        bundle = save_bundle(out / name, name, "fast", {"prefilter": prefilter_path, "model": onnx_path}, card)
        run.log_bundle(bundle.path)
    if publish:
        registry_publish(bundle.path)
    return bundle
