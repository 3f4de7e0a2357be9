"""classify-cnn accuracy and speed against the pyhmmer anchor, every protocol named (writes Markdown + JSON).

Protocols on one dataset (default build/dataset, random split), same run, same 2 cores:
  (a) paper: test members placed into their own frame (uses the label), Table 1;
  (b) blind: test sequences through FamilyClassifier exactly like a user's query, Table 1 + sequences/s;
  (d) open set: sequences of extHomFam families the dataset does not contain (dropped by its size filter), fraction
      `unassigned`; split by family: the val half chose the calling rule (`classify-cnn calibrate`), the test half
      only measures it; the known-family fraction unassigned comes from (b);
  (e) anchor: pyhmmer hmmscan and hmmsearch of the same test sequences against the same frame HMMs (best hit;
      E-value cut chosen with the CNN's calibration rule on the same validation sets: val split + open-set val half);
  short families: (b) and (e) on the test members of the families whose frame is under 50 columns (the domains the
      paper's 50..1200 filter dropped);
  control: can the gap/padding pattern of the placed rows alone tell member rows from foreign-frame rows?

Usage: python benchmarks/classify_accuracy.py [--dataset build/dataset] [--out build/bench/classify]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from _record import without_command, write_record
from hmmer_anchor import calibrated_cut, classify, load_hmms

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.evaluate import blind_protocol, paper_protocol, write_outcome
from protfam_core.cnn.examples import split_examples
from protfam_core.cnn.report import UNASSIGNED, macro_average, overall_accuracy, table1
from protfam_core.features.cache import FeatureCache
from protfam_core.msa.dataset import load_dataset
from protfam_core.msa.open_set import unknown_records


def gap_pattern(rows: list[str], width: int) -> np.ndarray:
    """1 where a placed row has a residue, 0 at a gap or right padding: all the control model is allowed to see."""
    out = np.zeros((len(rows), width), np.float32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = [c != "-" for c in r]
    return out


def gap_control(classifier: FamilyClassifier, cache: FeatureCache) -> dict[str, float]:
    """Member-vs-foreign-frame accuracy on test rows: the real CNN vs a logistic regression on the gap pattern only."""
    from sklearn.linear_model import LogisticRegression

    fp, fams, width = classifier.fingerprinter, classifier.families, classifier.fingerprinter.width
    train = split_examples(cache, "train", fp, fams)
    test = split_examples(cache, "test", fp, fams)
    index = {f: i for i, f in enumerate(fams)}

    def features(ex):
        frame = np.zeros((len(ex.frames), len(fams)), np.float32)
        frame[np.arange(len(ex.frames)), [index[f] for f in ex.frames]] = 1
        return np.hstack([gap_pattern([p.row for p in ex.placements], width), frame])

    lr = LogisticRegression(max_iter=2000, C=1.0).fit(features(train), train.positive)
    lr_acc = float(np.mean(lr.predict(features(test)) == test.positive))
    probs = classifier.cnn(test.fingerprints)
    own = probs[np.arange(len(test.frames)), [index[f] for f in test.frames]]
    cnn_acc = float(np.mean((own >= 0.5) == test.positive))  # both at their own 0.5, not the calling rule
    majority = float(max(test.positive.mean(), 1 - test.positive.mean()))
    return {
        "test_rows": float(len(test.frames)),
        "positive_share": float(test.positive.mean()),
        "majority_baseline": majority,
        "gap_pattern_logreg_accuracy": lr_acc,
        "cnn_membership_accuracy": cnn_acc,
    }


SHORT = 50  # frame columns below which a family counts as short


def anchor(hmms, dataset, records, truth, cut: float, mode: str) -> tuple[dict[str, float], list[str]]:
    """Anchor accuracy, macro F1 and speed on `records` at E-value cut `cut`; also its calls."""
    calls, per_s = classify(hmms, records, cut, mode)
    called = [c.family for c in calls]
    avg = macro_average(table1(truth, called, dataset.frames.families))
    return {
        "evalue_cut": cut,
        "accuracy": overall_accuracy(truth, called),
        "macro_f1": avg.f1,
        "unassigned": float(np.mean([c == UNASSIGNED for c in called])),
        "seqs_per_s": per_s,
    }, called


def accuracy_on(truth: list[str], called: list[str], families: set[str]) -> float:
    """Share right among the sequences whose true family is in `families`."""
    pairs = [(t, c) for t, c in zip(truth, called, strict=True) if t in families]
    return float(np.mean([t == c for t, c in pairs]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--out", default="build/bench/classify")
    ap.add_argument("--model", default=None, help="CNN bundle (default: shipped)")
    ap.add_argument("--frames", default=None)
    ap.add_argument("--cache", default="build/features")
    ap.add_argument("--skip-control", action="store_true")
    ap.add_argument("--fallback-evalue", type=float, default=None, help="default: the model's; 0 = no fallback")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(args.dataset)
    clf = FamilyClassifier(args.model, args.frames, fallback_evalue=args.fallback_evalue)
    fams = clf.families
    res: dict = {"command": "python " + shlex.join(sys.argv), "dataset": args.dataset, "model": clf.cnn_bundle.ref}
    res["rule"] = clf.settings.rule.to_card()

    paper = paper_protocol(clf, dataset, "test", args.cache)
    write_outcome(paper, fams, out, "Table 1, paper protocol, test split")
    res["a_paper"] = {"macro_f1": macro_average(table1(paper.truth, paper.calls, fams)).f1}
    res["a_paper"]["accuracy"] = overall_accuracy(paper.truth, paper.calls)

    blind = blind_protocol(clf, dataset, "test")
    write_outcome(blind, fams, out, "Table 1, blind protocol, test split")
    avg = macro_average(table1(blind.truth, blind.calls, fams))
    res["b_blind"] = {
        "sequences": len(blind.truth),
        "macro_f1": avg.f1,
        "macro_precision": avg.precision,
        "macro_recall": avg.recall,
        "accuracy": overall_accuracy(blind.truth, blind.calls),
        "known_unassigned": float(np.mean([c == UNASSIGNED for c in blind.calls])),
        "seqs_per_s": blind.per_second,
    }

    hmms = load_hmms(Path(args.dataset) / "frames.hmm")
    test, truth = dataset.records("test"), dataset.labels("test")
    unknown_val, _ = unknown_records(dataset, "val")
    val, val_labels = dataset.records("val"), dataset.labels("val")
    res["e_anchor"] = {}
    anchor_called = {}
    for mode in ("hmmscan", "hmmsearch"):
        cut = calibrated_cut(hmms, val, val_labels, unknown_val, mode)
        a, anchor_called[mode] = anchor(hmms, dataset, test, truth, cut, mode)
        a["cnn_throughput_ratio"] = res["b_blind"]["seqs_per_s"] / a["seqs_per_s"]
        res["e_anchor"][mode] = a

    widths = dataset.frames.widths
    short = {f for f in fams if widths[f] < SHORT}
    res["short_families"] = {
        "families": {f: widths[f] for f in sorted(short)},
        "test_sequences": sum(t in short for t in truth),
        "blind_accuracy": accuracy_on(blind.truth, blind.calls, short),
        **{f"anchor_{m}_accuracy": accuracy_on(truth, c, short) for m, c in anchor_called.items()},
    } if short else {}  # fmt: skip

    res["d_open_set"] = {}
    for part in ("test", "val", "all"):  # val chose the rule; test is the figure; all = both, for continuity
        unknown, unknown_fams = unknown_records(dataset, part)
        start = time.perf_counter()
        calls = clf.predict(unknown)
        seconds = time.perf_counter() - start
        anchor_calls, _ = classify(hmms, unknown, res["e_anchor"]["hmmscan"]["evalue_cut"], "hmmscan")
        res["d_open_set"][part] = {
            "unknown_sequences": len(unknown),
            "unknown_families": sorted(set(unknown_fams)),
            "cnn_unassigned": float(np.mean([c.family == UNASSIGNED for c in calls])),
            "anchor_hmmscan_unassigned": float(np.mean([c.family == UNASSIGNED for c in anchor_calls])),
            "cnn_called_as": dict(
                Counter(f"{u}->{c.family}" for u, c in zip(unknown_fams, calls, strict=True) if c.family != UNASSIGNED)
            ),  # fmt: skip
            "cnn_seqs_per_s": len(unknown) / seconds,
        }
    if not args.skip_control:
        res["control_gap_pattern"] = gap_control(clf, FeatureCache(dataset, args.cache, str(clf.ss_bundle.path)))
    text = json.dumps(res, indent=2)
    (out / "results.json").write_text(text + "\n")
    print(text)
    write_record("classify_accuracy", without_command(res), variant=Path(args.dataset).name)


if __name__ == "__main__":
    main()
