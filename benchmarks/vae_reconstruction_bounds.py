"""Reference points for the VAE's per-residue reconstruction on the test split, without any VAE.

Two ways to "reconstruct" a test row from the training rows of its own family, both scored like `encode-vae report`
(share of the row's residue positions whose letter is reproduced; frame positions incl. gaps in brackets):
- family consensus: the most common amino acid of each frame column among the family's training rows;
- nearest training neighbour: the training row of the same family sharing the most residues with the test row
  (an oracle: it looks at the test row to pick the neighbour).
A 30-float code that beats the oracle must carry more about the row than "which training member is it closest to".

    python benchmarks/vae_reconstruction_bounds.py --dataset build/dataset
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import defaultdict

import numpy as np

from protfam_core.alphabet import AA_SYMBOLS
from protfam_core.dataset import load_dataset
from protfam_core.features import FeatureCache, channel_matrix
from protfam_core.vae_report import consensus
from protfam_core.vae_train import residue_accuracy


def residues(rows: list[str], width: int) -> np.ndarray:
    """(n, width*20) one-hot of residues only (gaps are not shared residues)."""
    return channel_matrix(rows, AA_SYMBOLS, width).reshape(len(rows), width, 21)[:, :, 1:].reshape(len(rows), -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="build/dataset")
    parser.add_argument("--cache", default="build/features")
    args = parser.parse_args()
    cache = FeatureCache(load_dataset(args.dataset), args.cache)
    train, test = cache.placements("train"), cache.placements("test")
    by_family: dict[str, list[str]] = defaultdict(list)
    for p in train:
        by_family[p.family].append(p.row)
    rows, cons, nearest = [], [], []
    for family, members in sorted(by_family.items()):
        queries = [p.row for p in test if p.family == family]
        if not queries:
            continue
        width = len(members[0])
        shared = residues(queries, width) @ residues(members, width).T
        rows += queries
        cons += ["".join(consensus(members))] * len(queries)
        nearest += [members[int(i)] for i in shared.argmax(axis=1)]
    print(f"command: python {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(f"test rows {len(rows)}, families {len(by_family)}, training rows {len(train)}")
    for name, guess in (("family consensus", cons), ("nearest training neighbour (oracle)", nearest)):
        res, allpos = residue_accuracy(rows, guess)
        print(f"{name}: {res:.4f} of residue positions ({allpos:.4f} of frame positions incl. gaps)")


if __name__ == "__main__":
    main()
