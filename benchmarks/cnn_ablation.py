"""What the SS/SA channels add: the CNN trained and tested with and without them, same rows, same budget, same run.

For each variant the paper's CNN is trained from scratch (seed 0, the same wall-time budget) on the training rows
`classify-cnn train` uses (members in their own frame, frame-search candidates, members in a random foreign frame;
the shipped VAE's fingerprints), early-stopped on the validation rows, and scored like `classify-cnn predict`: per test
query the best of its frame-search candidates by the CNN output of its own frame, threshold 0 (the shipped rule). The
candidates are those `classify-cnn train` uses: the search with the sensitive fallback at E <= 0.01 (the shipped
random-split rule has the fallback off, so `unassigned` is lower here than in the chain's own benchmark).
Variants: `full` (aa, ss, sa fingerprints) and `aa` (the ss and sa rows zeroed in training and test: the CNN sees the
amino-acid fingerprint only, so the chain would not need SS/SA prediction at all).

Usage: python benchmarks/cnn_ablation.py --dataset build/dataset [--cache build/features] [--minutes 6]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
from _record import without_command, write_record

from protfam_core.cnn.examples import split_examples
from protfam_core.cnn.model import TrainConfig, predict, train_cnn
from protfam_core.cnn.report import UNASSIGNED, macro_average, overall_accuracy, table1
from protfam_core.cnn.train import blind_calls
from protfam_core.features.cache import FeatureCache
from protfam_core.msa.dataset import load_dataset
from protfam_core.registry.bundles import resolve
from protfam_core.vae.encode import Fingerprinter


def without_ss_sa(fingerprints: np.ndarray) -> np.ndarray:
    """(n, 3, latent) fingerprints with their ss and sa rows set to 0."""
    out = np.array(fingerprints, dtype=np.float32, copy=True)
    out[:, 1:, :] = 0.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--cache", default="build/features")
    ap.add_argument("--vae", default=None, help="VAE bundle (default: the shipped one)")
    ap.add_argument("--ss", default=None, help="SS/SA bundle of the features (default: the VAE's)")
    ap.add_argument("--minutes", type=float, default=6.0)
    ap.add_argument("--out", default="build/bench/cnn_ablation.json")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    data = load_dataset(args.dataset)
    families = list(data.frames.families)
    vae = resolve(args.vae, "vae")
    ss = resolve(args.ss or vae.card["params"]["ss_model"], "ss")
    cache = FeatureCache(data, args.cache, str(ss.path))
    fp = Fingerprinter(vae)
    rows = {split: split_examples(cache, split, fp, families) for split in ("train", "val", "test")}
    queries, truth = [r.id for r in data.records("test")], data.labels("test")
    res: dict = {"command": f"python {shlex.join(sys.argv)}", "vae": vae.ref, "ss": ss.ref,
                 "rows": {s: len(e.query_ids) for s, e in rows.items()}}  # fmt: skip
    for name, view in (("full", np.asarray), ("aa", without_ss_sa)):
        config = TrainConfig(max_minutes=args.minutes)
        tr, va, te = rows["train"], rows["val"], rows["test"]
        model, history = train_cnn(view(tr.fingerprints), tr.targets, view(va.fingerprints), va.targets, config)
        calls = blind_calls(te, predict(model, view(te.fingerprints)), families, 0.0)
        called = [calls[q].family if q in calls else UNASSIGNED for q in queries]
        res[name] = {
            "epochs": len(history),
            "blind_accuracy": overall_accuracy(truth, called),
            "blind_macro_f1": macro_average(table1(truth, called, families)).f1,
            "unassigned": float(np.mean([c == UNASSIGNED for c in called])),
        }
        print(name, json.dumps(res[name]), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    write_record("cnn_ablation", without_command(res), variant=Path(args.dataset).name)


if __name__ == "__main__":
    main()
