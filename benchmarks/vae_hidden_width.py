"""Is the paper's 128-unit layer what holds the shared VAE's reconstruction back? Train the shared aa-channel network
with wider hidden layers (latent still 30) and score it like `encode-vae report`.

Protocol: train-split members placed into their own family frame, right-padded to the dataset's widest frame (as the
shipped `vae`), early-stopped on the validation members (patience 8, `--seconds` budget per width, `--seed` 0, Adam 2e-3
halved on plateaus, batch 128, `--threads` torch threads); the test members are encoded to z_mean and decoded (argmax
per column); residue positions only, right-padding never scored. Nothing here is shipped: the product keeps the
paper's 128 (docs/vae.md). Each line also gives k-means separability of the test rows' aa codes (`encode-vae
report`'s protocol on the aa fingerprint alone); the first line gives it for the shipped VAE's aa encoder.

With `--tell-frame` the deep decoder is also told each row's family frame, as per-family PCA is: it adds a bias per
frame column and symbol and, with `--frame-rank r`, a linear map per frame column from r features of its last hidden
layer. The encoder never is: it reads the row alone, as in every other design.

    python benchmarks/vae_hidden_width.py --dataset build/dataset --widths 128,1024 --seconds 900
    python benchmarks/vae_hidden_width.py --dataset build/dataset --arch deep --widths 256 --kl-weight 0.1
    python benchmarks/vae_hidden_width.py --dataset build/dataset --arch deep --tell-frame --widths 256
    python benchmarks/vae_hidden_width.py --dataset build/dataset --arch deep --widths 256 --input-dropout 0.2
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import numpy as np
import torch
from _record import write_record

from protfam_core.features.cache import FeatureCache
from protfam_core.features.channels import channel_matrix, channel_rows
from protfam_core.io.alphabet import CHANNELS
from protfam_core.msa.dataset import load_dataset
from protfam_core.registry.onnx_export import parameter_count
from protfam_core.vae.encode import Fingerprinter
from protfam_core.vae.metrics import residue_accuracy
from protfam_core.vae.model import ARCHS, ChannelVAE, TrainConfig, train_channel
from protfam_core.vae.report import kmeans_cv
from protfam_core.vae.train import decode_torch


def encode_torch(model: ChannelVAE, x: np.ndarray, batch: int = 2048) -> np.ndarray:
    """z_mean of each row from the torch network (what its exported encoder would give), for the k-means column."""
    model.eval()
    with torch.no_grad():
        xs = (torch.from_numpy(x[s : s + batch].astype(np.float32)) for s in range(0, len(x), batch))
        parts = [model.encoder(xb)[0] for xb in xs]
    return torch.cat(parts).numpy()


def _progress(epoch: int, m: dict[str, float]) -> None:
    print(f"epoch {epoch}: train {m['train_bce']:.1f} valid {m['val_bce']:.1f} kl {m['val_kl']:.1f}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--cache", default="build/features")
    ap.add_argument("--widths", default="128,1024", help="hidden-layer widths to train, comma-separated")
    ap.add_argument("--seconds", type=float, default=900.0, help="time budget per width")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--arch", choices=ARCHS, default="paper", help="the paper's VAE or the deep categorical one")
    ap.add_argument("--kl-weight", type=float, default=1.0, help="weight of the KL term in the loss (the paper's 1)")
    ap.add_argument("--tell-frame", action="store_true", help="tell the deep decoder each row's frame")
    ap.add_argument("--input-dropout", type=float, default=0.0, help="share of input columns blanked in training")
    ap.add_argument("--weight-decay", type=float, default=0.0, help="AdamW's decoupled weight decay (0: Adam)")
    ap.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling and sampling")
    ap.add_argument("--frame-rank", type=int, default=0, help="--tell-frame, deep: rank of the maps per frame column")
    args = ap.parse_args()
    if args.tell_frame and args.arch == "paper":
        ap.error("--tell-frame needs --arch deep")
    if args.frame_rank and not args.tell_frame:
        ap.error("--frame-rank needs --tell-frame")
    print("command: python " + shlex.join(sys.argv))
    shipped = Fingerprinter()
    dataset = load_dataset(args.dataset)
    cache = FeatureCache(dataset, args.cache, shipped.ss_model)
    placed = {s: cache.own_frame(s) for s in ("train", "val", "test")}
    rows = {s: channel_rows(*p)["aa"] for s, p in placed.items()}
    x = {s: channel_matrix(r, CHANNELS["aa"], shipped.width, np.uint8) for s, r in rows.items()}
    families = {s: [p.family for p in placed[s][0]] for s in placed}
    names = sorted(dataset.frames.widths)
    frame = {s: np.array([names.index(f) for f in fams]) for s, fams in families.items()}
    frames = (frame["train"], frame["val"], [dataset.frames.widths[f] for f in names]) if args.tell_frame else None
    km, sd = kmeans_cv(shipped.encode_channel("aa", rows["test"]), families["test"])
    print(f"shipped {shipped.model_id} aa encoder: k-means {km:.4f} +- {sd:.4f}")
    figures: dict = {"shipped_aa_encoder": {"model": shipped.model_id, "kmeans_aa": km, "kmeans_aa_sd": sd}, "rows": []}
    print("hidden\tparameters\ttest residues\ttest positions\tk-means aa\tbest epoch\tepochs\tstopped\tseconds")
    for hidden in (int(w) for w in args.widths.split(",")):
        start = time.perf_counter()
        config = TrainConfig(
            epochs=500,
            max_seconds=args.seconds,
            threads=args.threads,
            hidden=hidden,
            arch=args.arch,
            kl_weight=args.kl_weight,
            frame_rank=args.frame_rank,
            input_dropout=args.input_dropout,
            weight_decay=args.weight_decay,
            seed=args.seed,
        )
        result = train_channel(
            x["train"], x["val"], config, on_epoch=_progress, symbols=len(CHANNELS["aa"]), frames=frames
        )
        test_frames = frame["test"] if args.tell_frame else None
        decoded = decode_torch(result.model, x["test"], CHANNELS["aa"], frames=test_frames)
        res, pos = residue_accuracy(rows["test"], decoded)
        km, sd = kmeans_cv(encode_torch(result.model, x["test"]), families["test"])
        seconds = time.perf_counter() - start
        figures["rows"].append(
            {"hidden": hidden, "parameters": parameter_count(result.model), "test_residues": res,
             "test_positions": pos, "kmeans_aa": km, "kmeans_aa_sd": sd, "best_epoch": result.best_epoch,
             "epochs": len(result.history), "stopped": result.stopped, "seconds": seconds}
        )  # fmt: skip
        print(
            f"{hidden}\t{parameter_count(result.model)}\t{res:.4f}\t{pos:.4f}\t{km:.4f} +- {sd:.4f}\t"
            f"{result.best_epoch}\t"
            f"{len(result.history)}\t{result.stopped}\t{seconds:.0f}",
            flush=True,
        )
    setup = {"kl-weight": 1.0, "tell-frame": False, "frame-rank": 0, "input-dropout": 0.0, "weight-decay": 0.0}
    setup["seed"] = 0  # the defaults: a record's variant names what differs from them
    changed = [f"--{k} {getattr(args, k.replace('-', '_'))}" for k, v in setup.items()
               if getattr(args, k.replace("-", "_")) != v]  # fmt: skip
    write_record("vae_hidden_width", figures, variant=" ".join([f"--arch {args.arch}", *changed]))


if __name__ == "__main__":
    main()
