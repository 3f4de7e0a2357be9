"""Reference points for the VAE's per-residue reconstruction on the test split, without any VAE.

Ways to "reconstruct" a test row from the training rows of its own family, all scored like `encode-vae report`
(share of the row's residue positions whose letter is reproduced, the same over all frame positions incl. gaps, and
the share of columns whose most common amino acid is the same in the original and reconstructed test rows):
- family consensus: the most common amino acid of each frame column among the family's training rows;
- nearest training neighbour: the training row of the same family sharing the most residues with the test row
  (an oracle: it looks at the test row to pick the neighbour);
- linear codes: PCA of the one-hot rows, fitted on the training rows, k components; a test row is projected, mapped
  back and read as the most probable symbol per column. Per family (one PCA per frame, the authors' one-network-per-
  family setting) with k = 30, 60, 120, 240, and shared (one PCA over all rows right-padded to the widest frame, as the
  shipped network sees them) with k = 30. PCA is the best linear code of k floats (least squares), so it shows how many
  floats a row needs, not what a non-linear 30-float VAE can reach;
- more data: the per-family 30-float PCA fitted on the training rows plus the family's unused source members (in the
  dataset card's source folder, within its length range, not identical to any dataset sequence, force-placed in the
  frame); families merged from several source files keep their training rows only.
A 30-float code that beats the oracle must carry more about the row than "which training member is it closest to".

    python benchmarks/vae_reconstruction_bounds.py --dataset build/dataset
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from _record import write_record
from sklearn.decomposition import PCA

from protfam_core.features.cache import FeatureCache
from protfam_core.features.channels import channel_matrix
from protfam_core.io.alphabet import AA_SYMBOLS
from protfam_core.io.seqio import Record
from protfam_core.msa.dataset import Dataset, load_dataset, read_families
from protfam_core.vae.metrics import consensus, consensus_by_family, residue_accuracy


def residues(rows: list[str], width: int) -> np.ndarray:
    """(n, width*20) one-hot of residues only (gaps are not shared residues)."""
    return channel_matrix(rows, AA_SYMBOLS, width).reshape(len(rows), width, 21)[:, :, 1:].reshape(len(rows), -1)


def pca_reconstruction(train: list[str], test: list[str], width: int, k: int) -> list[str]:
    """Test rows through a k-component PCA of the training rows' one-hots, argmax per column."""
    pca = PCA(n_components=min(k, len(train)), svd_solver="full" if k >= 100 else "randomized", random_state=0)
    pca.fit(channel_matrix(train, AA_SYMBOLS, width))
    back = pca.inverse_transform(pca.transform(channel_matrix(test, AA_SYMBOLS, width)))
    decoded = np.array(list(AA_SYMBOLS))[back.reshape(len(test), width, 21).argmax(axis=2)]
    return ["".join(r)[: len(t)] for r, t in zip(decoded, test, strict=True)]


def unused_members(ds: Dataset) -> dict[str, list[Record]]:
    """Source members of each family with its own source file that the dataset did not sample."""
    opts = ds.card["parameters"]
    used = {r.seq for r in ds.sequences.values()}
    return {
        family: [r for r in members if r.seq not in used and opts["min_length"] <= len(r.seq) <= opts["max_length"]]
        for family, members in read_families(ds.card["source"]).items()
        if family in ds.families
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="build/dataset")
    parser.add_argument("--cache", default="build/features")
    args = parser.parse_args()
    ds = load_dataset(args.dataset)
    cache = FeatureCache(ds, args.cache)
    extra = unused_members(ds)
    train, test = cache.placements("train"), cache.placements("test")
    by_family: dict[str, list[str]] = defaultdict(list)
    for p in train:
        by_family[p.family].append(p.row)
    ks = (30, 60, 120, 240)
    rows, cons, nearest = [], [], []
    groups: dict[str, list[int]] = {}
    linear: dict[int, list[str]] = defaultdict(list)
    more_data: list[str] = []
    for family, members in sorted(by_family.items()):
        queries = [p.row for p in test if p.family == family]
        if not queries:
            continue
        width = len(members[0])
        shared = residues(queries, width) @ residues(members, width).T
        groups[family] = list(range(len(rows), len(rows) + len(queries)))
        rows += queries
        cons += ["".join(consensus(members))] * len(queries)
        nearest += [members[int(i)] for i in shared.argmax(axis=1)]
        for k in ks:
            linear[k] += pca_reconstruction(members, queries, width, k)
        added = [p.row for p in ds.frames.place(extra.get(family, []), family)]
        more_data += pca_reconstruction(members + added, queries, width, 30)
    width = max(len(p.row) for p in train)
    shared_linear = pca_reconstruction([p.row for p in train], rows, width, 30)
    print(f"command: python {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(f"test rows {len(rows)}, families {len(by_family)}, training rows {len(train)}")
    guesses = [("family consensus", cons), ("nearest training neighbour (oracle)", nearest)]
    guesses += [(f"per-family PCA, {k} floats", linear[k]) for k in ks]
    guesses += [(f"shared PCA over rows padded to {width}, 30 floats", shared_linear)]
    n_extra = sum(len(v) for v in extra.values())
    guesses += [(f"per-family PCA, 30 floats, + {n_extra} unused members of {len(extra)} families", more_data)]
    print("reference\tresidue positions\tframe positions incl. gaps\tcolumn consensus equal")
    table = []
    for name, guess in guesses:
        res, allpos = residue_accuracy(rows, guess)
        same, total = (sum(v) for v in zip(*consensus_by_family(rows, guess, groups).values(), strict=True))
        print(f"{name}\t{res:.4f}\t{allpos:.4f}\t{same / max(total, 1):.4f}")
        table.append({"reference": name, "residue_positions": res, "frame_positions": allpos,
                      "column_consensus": same / max(total, 1)})  # fmt: skip
    figures = {"test_rows": len(rows), "families": len(by_family), "training_rows": len(train), "references": table}
    write_record("vae_reconstruction_bounds", figures, variant=Path(args.dataset).name)


if __name__ == "__main__":
    main()
