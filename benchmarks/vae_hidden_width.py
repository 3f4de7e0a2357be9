"""Is the paper's 128-unit layer what holds the shared VAE's reconstruction back? Train the shared aa-channel network
with wider hidden layers (latent still 30) and score it like `encode-vae report`.

Protocol: train-split members placed into their own family frame, right-padded to the dataset's widest frame (as the
shipped `vae`), early-stopped on the validation members (patience 8, `--seconds` budget per width, seed 0, Adam 2e-3
halved on plateaus, batch 128, `--threads` torch threads); the test members are encoded to z_mean and decoded (argmax
per column); residue positions only, right-padding never scored. Nothing here is shipped: the product keeps the
paper's 128 (docs/vae.md).

    python benchmarks/vae_hidden_width.py --dataset build/dataset --widths 128,1024 --seconds 900
    python benchmarks/vae_hidden_width.py --dataset build/dataset --arch deep --widths 256 --kl-weight 0.1
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import numpy as np

from protfam_core.features.cache import FeatureCache
from protfam_core.features.channels import channel_matrix, channel_rows
from protfam_core.io.alphabet import CHANNELS
from protfam_core.msa.dataset import load_dataset
from protfam_core.registry.onnx_export import parameter_count
from protfam_core.vae.encode import Fingerprinter
from protfam_core.vae.metrics import residue_accuracy
from protfam_core.vae.model import ARCHS, TrainConfig, train_channel
from protfam_core.vae.train import decode_torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--cache", default="build/features")
    ap.add_argument("--widths", default="128,1024", help="hidden-layer widths to train, comma-separated")
    ap.add_argument("--seconds", type=float, default=900.0, help="time budget per width")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--arch", choices=ARCHS, default="paper", help="the paper's VAE or the deep categorical one")
    ap.add_argument("--kl-weight", type=float, default=1.0, help="weight of the KL term in the loss (the paper's 1)")
    args = ap.parse_args()
    print("command: python " + shlex.join(sys.argv))
    shipped = Fingerprinter()
    cache = FeatureCache(load_dataset(args.dataset), args.cache, shipped.ss_model)
    rows = {s: channel_rows(*cache.own_frame(s))["aa"] for s in ("train", "val", "test")}
    x = {s: channel_matrix(r, CHANNELS["aa"], shipped.width, np.uint8) for s, r in rows.items()}
    print("hidden\tparameters\ttest residues\ttest positions\tbest epoch\tepochs\tstopped\tseconds")
    for hidden in (int(w) for w in args.widths.split(",")):
        start = time.perf_counter()
        config = TrainConfig(
            epochs=500,
            max_seconds=args.seconds,
            threads=args.threads,
            hidden=hidden,
            arch=args.arch,
            kl_weight=args.kl_weight,
        )
        result = train_channel(x["train"], x["val"], config, symbols=len(CHANNELS["aa"]))
        res, pos = residue_accuracy(rows["test"], decode_torch(result.model, x["test"], CHANNELS["aa"]))
        print(
            f"{hidden}\t{parameter_count(result.model)}\t{res:.4f}\t{pos:.4f}\t{result.best_epoch}\t"
            f"{len(result.history)}\t{result.stopped}\t{time.perf_counter() - start:.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
