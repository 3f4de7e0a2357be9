"""The paper's phase-1 figures (section 3.1) for the shipped VAE on a dataset's test split, plus the report folder.

Protocol: test-split members (never seen in training) placed into their own family frame, SS/SA predicted and
projected, encoded to z_mean and decoded through ONNX; see the written report.md for each metric's definition.

    python benchmarks/vae_phase1.py --dataset build/dataset --out build/reports/vae
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from _record import write_record

from protfam_core.vae.report import phase1_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="build/dataset")
    parser.add_argument("--out", default="build/reports/vae")
    parser.add_argument("--cache", default="build/features")
    parser.add_argument("--model", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    m = phase1_report(args.dataset, args.out, model=args.model, cache_dir=args.cache, seed=args.seed)
    print(f"command: python {' '.join(shlex.quote(a) for a in sys.argv)}  ({time.perf_counter() - start:.0f} s)")
    print(f"model {m['model']}, width {m['width']}, split {m['split']}: {m['rows']} rows, {m['families']} families")
    print(f"aa reconstructed over residue positions: {m['aa_residue_accuracy']:.4f} (paper 0.89, goal 0.92)")
    print(f"aa reconstructed over all frame positions incl. gaps: {m['aa_position_accuracy']:.4f}")
    print(
        f"ss / sa reconstructed over residue positions: {m['ss_residue_accuracy']:.4f} / {m['sa_residue_accuracy']:.4f}"
    )
    print(f"column consensus equal: {m['consensus_agreement']:.4f} of {m['consensus_columns']} columns (paper 0.95)")
    print(f"k-means 10-fold CV, aa+ss+sa: {m['kmeans_fingerprint_mean']:.4f} +- {m['kmeans_fingerprint_std']:.4f}")
    print(f"k-means 10-fold CV, aa fingerprint only: {m['kmeans_aa_mean']:.4f} +- {m['kmeans_aa_std']:.4f}")
    print(f"k-means 10-fold CV, PCA of the input: {m['kmeans_input_pca_mean']:.4f} +- {m['kmeans_input_pca_std']:.4f}")
    print(f"k-means 10-fold CV, gap pattern: {m['kmeans_gap_pattern_mean']:.4f} +- {m['kmeans_gap_pattern_std']:.4f}")
    print(f"1-NN 10-fold CV: fingerprints {m['nn_fingerprint']:.4f}, gap pattern alone {m['nn_gap_pattern']:.4f}")
    print(f"figure family {m['figure_family']}: mean BLOSUM62 per position {m['figure_mean_blosum']:.2f}")
    write_record("vae_phase1", m, variant=args.model or "shipped")


if __name__ == "__main__":
    main()
