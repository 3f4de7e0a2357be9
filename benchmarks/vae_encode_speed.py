"""Encoding throughput of the shipped VAE through onnxruntime: placed rows (aa + SS + SA strings) -> (n, 3, 30).

Times what `encode-vae encode` does after reading its input: one-hot + right-padding of the three channels and the
three ONNX encoders. Placement and SS/SA prediction are separate tools and are not included. Rows are the dataset's
test-split placements, repeated to --rows rows.

    python benchmarks/vae_encode_speed.py --dataset build/dataset --rows 20000
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

from _record import write_record

from protfam_core.features.cache import FeatureCache
from protfam_core.features.channels import channel_rows
from protfam_core.msa.dataset import load_dataset
from protfam_core.vae.encode import Fingerprinter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="build/dataset")
    parser.add_argument("--cache", default="build/features")
    parser.add_argument("--model", default=None, help="VAE bundle reference (default: shipped)")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    fp = Fingerprinter(args.model)
    placements, ss_sa = FeatureCache(load_dataset(args.dataset), args.cache, fp.ss_model).own_frame("test")
    base = channel_rows(placements, ss_sa)
    reps = -(-args.rows // len(placements))
    rows = {ch: (v * reps)[: args.rows] for ch, v in base.items()}
    fp.encode_rows({ch: v[:256] for ch, v in rows.items()})  # warm-up: session initialisation
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        z = fp.encode_rows(rows)
        times.append(time.perf_counter() - start)
    best = min(times)
    print(f"command: python {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(f"model {fp.model_id}, width {fp.width}, CPU cores visible {len(os.sched_getaffinity(0))}")
    print(f"encoded {len(z)} rows x 3 channels -> {z.shape}; best of {args.repeat}: {best:.3f} s")
    print(f"throughput: {len(z) / best:,.0f} sequences/s (median {len(z) / sorted(times)[len(times) // 2]:,.0f})")
    params = fp.bundle.card.get("parameters", {})
    if params:
        print("parameters: " + ", ".join(f"{k} {v:,}" for k, v in params.items()))
    figures = {"model": fp.model_id, "width": fp.width, "rows": len(z), "best_s": best, "seqs_per_s": len(z) / best}
    figures |= {"median_seqs_per_s": len(z) / sorted(times)[len(times) // 2], "parameters": params}
    write_record("vae_encode_speed", figures)


if __name__ == "__main__":
    main()
