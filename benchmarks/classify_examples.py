"""Write examples/queries.fasta: real held-out test sequences plus sequences of families the model does not know.

Known: one seeded random TEST-split member from each of 8 seeded random families of the benchmark dataset (never seen
by the aligner, the HMMs, the VAE or the CNN). Unknown: 3 sequences of families that the dataset's size filter
dropped (card.json cleaning.families_below_min_size). Each header carries `family=<label>` or
`family=unknown:<name>` so tests and users can check the calls.

Usage: python benchmarks/classify_examples.py [--dataset build/dataset] [--out examples/queries.fasta]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from protfam_core.io.seqio import Record, read_sequences, write_fasta
from protfam_core.msa.dataset import load_dataset

FAMILIES_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "families" / "exthomfam"
UNKNOWN = ("scorptoxin", "UCR_TM", "TMV_coat")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--out", default="examples/queries.fasta")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    ds = load_dataset(args.dataset)
    test = list(zip(ds.records("test"), ds.labels("test"), strict=True))
    out = []
    for fam in sorted(rng.choice(ds.families, size=8, replace=False)):
        members = [r for r, f in test if f == fam]
        rec = members[int(rng.integers(len(members)))]
        out.append(Record(rec.id, rec.seq, f"{rec.id} family={fam} (benchmark dataset test split)"))
    known_seqs = {r.seq for r in ds.sequences.values()}
    for fam in UNKNOWN:
        pool = [r for r in read_sequences(FAMILIES_DIR / f"{fam}.fasta.gz") if 50 <= len(r.seq) <= 1200]
        pool = [r for r in pool if r.seq not in known_seqs]
        rec = pool[int(rng.integers(len(pool)))]
        out.append(Record(rec.id, rec.seq, f"{rec.id} family=unknown:{fam} (not a class of the shipped model)"))
    write_fasta(out, args.out)
    print(f"wrote {len(out)} sequences to {args.out}")


if __name__ == "__main__":
    main()
