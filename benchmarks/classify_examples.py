"""Write examples/queries.fasta and examples/multidomain.fasta from held-out sequences only.

queries.fasta. Known: one seeded random TEST-split member from each of 8 seeded random families of the benchmark
dataset (never seen by the aligner, the HMMs, the VAE or the CNN). Unknown: 3 seeded sequences of the open set's test
half (`msa.open_set`: families the model does not know, which never shaped a calling rule). Each header carries
`family=<label>` or `family=unknown:<name>` so tests and users can check the calls.

multidomain.fasta: whole proteins made of those sequences (and 3 test members of REPEAT) joined by GS linkers, each
header carrying `domains=<label>:<start>-<end>,...` (1-based inclusive): two and three known domains, a repeat, an
unknown segment then a known domain, and no known domain at all.

Usage: python benchmarks/classify_examples.py [--dataset build/dataset] [--out examples]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from protfam_core.io.seqio import Record, write_fasta
from protfam_core.msa.dataset import load_dataset
from protfam_core.msa.open_set import unknown_records

REPEAT = "ANK"  # the ankyrin repeat: 33 residues, found in tandem in real proteins
LINKER = "GS" * 5
SOURCE = "constructed from examples/queries.fasta and test-split members, GS linkers"


def joined(name: str, parts: list[tuple[str, Record]]) -> Record:
    """One protein of `parts` ((label, record)) joined by LINKER, its segments in the header."""
    seq, spans = "", []
    for label, rec in parts:
        seq += LINKER if seq else ""
        spans.append(f"{label}:{len(seq) + 1}-{len(seq) + len(rec.seq)}")
        seq += rec.seq
    return Record(name, seq, f"{name} domains={','.join(spans)} ({SOURCE})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--out", default="examples", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    ds = load_dataset(args.dataset)
    test = list(zip(ds.records("test"), ds.labels("test"), strict=True))
    known: list[tuple[str, Record]] = []
    for fam in sorted(rng.choice(ds.families, size=8, replace=False)):
        members = [r for r, f in test if f == fam]
        known.append((fam, members[int(rng.integers(len(members)))]))
    records, labels = unknown_records(ds, "test")
    unknown = [(f"unknown:{labels[i]}", records[i]) for i in sorted(rng.choice(len(records), 3, replace=False))]
    queries = [Record(r.id, r.seq, f"{r.id} family={f} (benchmark dataset test split)") for f, r in known]
    queries += [Record(r.id, r.seq, f"{r.id} family={f} (not a class of the shipped model)") for f, r in unknown]
    write_fasta(queries, args.out / "queries.fasta")
    repeats = [r for r, f in test if f == REPEAT]
    repeat = [(REPEAT, repeats[i]) for i in sorted(rng.choice(len(repeats), 3, replace=False))]
    proteins = [
        joined("two_domains", known[0:2]),
        joined("three_domains", known[2:5]),
        joined(f"{REPEAT}_repeat", repeat),
        joined("unknown_then_known", [unknown[0], known[5]]),
        joined("no_known_domain", unknown[1:3]),
    ]
    write_fasta(proteins, args.out / "multidomain.fasta")
    print(f"wrote {len(queries)} sequences to {args.out / 'queries.fasta'}, {len(proteins)} to multidomain.fasta")


if __name__ == "__main__":
    main()
