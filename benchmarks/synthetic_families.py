"""Synthetic protein families for the scale benchmark (issue 35, part 4): N families from a handful of real frame
HMMs, for measuring what training and prediction cost at 2,000 or 10,000 families, not how accurate they are.

Family i takes the real HMM i mod K (K frames, e.g. the 96 of build/dataset/frames.hmm), sharpens every match state's
emission row (p**SHARPEN, renormalized) and mixes it with a sparse Dirichlet(0.1, ..., 0.1) sample, its weight drawn
from [0.2, 0.3] per family, so that the families of one base differ from each other and from it; insert emissions and
transitions stay the base's. The sharpening is what makes them families: hmmbuild's frames carry about 0.78 bits per
match state over the background, and members emitted from them (or from them mixed with noise alone) are no
detectable homologs of each other (phmmer, E <= 1e-3: none of the pairs), so a chain and HMMER alike learn nothing
from them; sharpened and mixed as here (about 1.9 bits), about three in four pairs of members of one family are.
Its members are sequences emitted from the perturbed core model (pyhmmer `HMM.emit_sequence`: the domain alone). A
member shorter than MIN_LENGTH residues (a short frame's) gets flanks drawn from the amino-acid background on both
sides up to that length, as real members carry flanks, so that the dataset build (50 to 1,200 residues) keeps it.
Everything is drawn from generators seeded by (seed, i): the same seed gives the same files.

Usage: python benchmarks/synthetic_families.py --frames build/dataset/frames.hmm -n 2000 --members 20 --out DIR
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyhmmer
from hmmer_anchor import load_hmms
from pyhmmer.plan7 import HMM

from protfam_core.io.seqio import Record, format_fasta

ALPHABET = pyhmmer.easel.Alphabet.amino()
AMINO = ALPHABET.symbols[: ALPHABET.K]  # the 20 canonical residues, in the alphabet's order
SHARPEN = 3  # power of the base's match emission rows
MIX = (0.2, 0.3)  # weight of the Dirichlet sample in each match emission row
SPARSITY = 0.1  # the Dirichlet's concentration: below 1, each sample favours a few residues
MIN_LENGTH = 60  # shorter members get background flanks up to this length


def perturbed(base: HMM, rng: np.random.Generator) -> HMM:
    """A copy of `base` whose match emission rows (nodes 1..M) are sharpened and each mixed with a Dirichlet sample."""
    hmm = base.copy()
    emissions = np.asarray(hmm.match_emissions)  # a view: writing it writes the HMM
    weight = rng.uniform(*MIX)
    noise = rng.dirichlet(np.full(ALPHABET.K, SPARSITY), size=hmm.M)
    sharp = emissions[1:] ** SHARPEN
    emissions[1:] = (1 - weight) * sharp / sharp.sum(axis=1, keepdims=True) + weight * noise
    hmm.renormalize()
    return hmm


def emit_members(hmm: HMM, name: str, members: int, rng: np.random.Generator) -> list[Record]:
    """`members` sequences emitted from the core model, flanked with background residues up to MIN_LENGTH."""
    randomness = pyhmmer.easel.Randomness(int(rng.integers(1, 2**31)))
    background = np.asarray(pyhmmer.plan7.Background(ALPHABET).residue_frequencies, dtype=float)
    background /= background.sum()
    out = []
    for j in range(members):
        core = hmm.emit_sequence(randomness).textize().sequence
        pad = max(0, MIN_LENGTH - len(core))
        left = int(rng.integers(0, pad + 1))
        flank = "".join(rng.choice(list(AMINO), size=pad, p=background))
        out.append(Record(f"{name}_m{j}", flank[:left] + core + flank[left:]))
    return out


def synthetic_families(frames: list[HMM], n: int, members: int, seed: int = 0) -> Iterator[tuple[str, list[Record]]]:
    """(name, members) of n synthetic families; family i derives from frames[i mod len(frames)]."""
    width = len(str(n - 1))
    for i in range(n):
        base = frames[i % len(frames)]
        rng = np.random.default_rng([seed, i])
        name = f"syn{i:0{width}d}-{base.name}"
        yield name, emit_members(perturbed(base, rng), name, members, rng)


def write_synthetic(frames: str | Path, out: str | Path, n: int, members: int, seed: int = 0) -> list[Path]:
    """Write n synthetic families as one FASTA per family into `out` (created); their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, recs in synthetic_families(load_hmms(frames), n, members, seed):
        path = out / f"{name}.fasta"
        path.write_text(format_fasta(recs))
        paths.append(path)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", default="build/dataset/frames.hmm", help="the real HMMs the families derive from")
    ap.add_argument("-n", "--families", type=int, default=2000)
    ap.add_argument("--members", type=int, default=20, help="members emitted per family")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="folder of the family files (one FASTA per family)")
    args = ap.parse_args()
    paths = write_synthetic(args.frames, args.out, args.families, args.members, args.seed)
    print(f"{len(paths)} families of {args.members} members in {args.out}")


if __name__ == "__main__":
    main()
