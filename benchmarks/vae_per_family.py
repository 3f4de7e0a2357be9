"""Is the shared VAE the reason phase-1 reconstruction stays far below the paper's 89%? Train the paper's network the
authors' way (one per family, input = that family's frame width) and compare on the same test rows.

Protocol: for each named family, the aa-channel VAE of `vae_model` (dense 128, latent 30, eps ~ N(0, 0.1), BCE + KL
x `--kl-weight`) is trained on the family's train-split members placed in its frame, early-stopped on its validation
members, and scored on its test members (argmax per column, residue positions only, as `encode-vae report`). The
shared model's figure is the shipped `vae` (all 64 families in one network, rows padded to W) on the same rows.

Usage: python benchmarks/vae_per_family.py [--dataset build/dataset] [--families DEATH,cyt3,...] [--seconds 90]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import numpy as np
from _record import write_record

from protfam_core.features.cache import FeatureCache
from protfam_core.features.channels import channel_matrix, channel_rows
from protfam_core.io.alphabet import CHANNELS
from protfam_core.msa.dataset import load_dataset
from protfam_core.vae.encode import Fingerprinter
from protfam_core.vae.metrics import residue_accuracy
from protfam_core.vae.model import TrainConfig, train_channel
from protfam_core.vae.train import decode_torch

FAMILIES = "DEATH,cyt3,kringle,ngf,tln,ghf10"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--cache", default="build/features")
    ap.add_argument("--families", default=FAMILIES)
    ap.add_argument("--seconds", type=float, default=90.0, help="time budget per family network")
    ap.add_argument("--kl-weight", type=float, default=1.0)
    args = ap.parse_args()
    print("command: python " + shlex.join(sys.argv))
    ds = load_dataset(args.dataset)
    shared = Fingerprinter()
    cache = FeatureCache(ds, args.cache, shared.ss_model)
    rows = {}
    for split in ("train", "val", "test"):
        placements, ss_sa = cache.own_frame(split)
        rows[split] = ([p.family for p in placements], channel_rows(placements, ss_sa))
    print("family\twidth\ttrain rows\tper-family test\tper-family train\tshared test\tepochs\tseconds")
    gains, figures = [], []
    for fam in args.families.split(","):
        width = ds.frames.widths[fam]

        def own(split: str, channel: str = "aa", fam: str = fam) -> list[str]:
            labels, chans = rows[split]
            return [r for f, r in zip(labels, chans[channel], strict=True) if f == fam]

        x = {s: channel_matrix(own(s), CHANNELS["aa"], width, np.uint8) for s in ("train", "val", "test")}
        start = time.perf_counter()
        config = TrainConfig(epochs=2000, patience=15, max_seconds=args.seconds, kl_weight=args.kl_weight)
        result = train_channel(x["train"], x["val"], config)
        test_acc = residue_accuracy(own("test"), decode_torch(result.model, x["test"], CHANNELS["aa"]))[0]
        train_acc = residue_accuracy(own("train"), decode_torch(result.model, x["train"], CHANNELS["aa"]))[0]
        test_rows = {c: own("test", c) for c in ("aa", "ss", "sa")}
        shared_rec = shared.decode_rows(shared.encode_rows(test_rows))["aa"]
        shared_acc = residue_accuracy(test_rows["aa"], shared_rec)[0]
        gains.append(test_acc - shared_acc)
        print(
            f"{fam}\t{width}\t{len(x['train'])}\t{test_acc:.3f}\t{train_acc:.3f}\t{shared_acc:.3f}\t"
            f"{len(result.history)}\t{time.perf_counter() - start:.0f}"
        )
        figures.append({"family": fam, "frame_width": width, "train_rows": len(x["train"]), "per_family_test": test_acc,
                        "per_family_train": train_acc, "shared_test": shared_acc, "epochs": len(result.history),
                        "seconds": time.perf_counter() - start})  # fmt: skip
    print(f"mean gain of per-family networks over the shared one: {np.mean(gains):+.3f}")
    record = {"shared_model": shared.model_id, "kl_weight": args.kl_weight, "families": figures}
    write_record("vae_per_family", record | {"mean_gain": float(np.mean(gains))})


if __name__ == "__main__":
    main()
