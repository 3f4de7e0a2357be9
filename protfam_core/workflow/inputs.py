"""The families of `easy-train`, read and checked before anything is written, and split into trained and unknown.

Calibrating `unassigned` needs sequences of families the model does not know. They come from the user's `--unknown`
files, from the user's families too small to train (2 to 4 members), and, where those are fewer than `unknown_target`,
from trainable families held out of the model (a seeded choice). The open set reads them, as it reads HOMSTRAD's
families for the default chain, from the `homstrad_ref/` folder beside the staged families' folder, and draws its
validation half (calibration) and test half (the summary's open-set figure) from them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from protfam_core.errors import InputError
from protfam_core.io.seqio import Record, format_fasta
from protfam_core.msa.dataset import read_families
from protfam_core.msa.split import MIN_SPLIT_FAMILY

Source = str | Path | Sequence[str | Path]


@dataclass
class FamilySet:
    """The user's families sorted by role: `trained` go into the model, `unknown` only serve as unknown families."""

    trained: dict[str, list[Record]]
    unknown: dict[str, list[Record]]
    held_out: list[str] = field(default_factory=list)
    too_small: list[str] = field(default_factory=list)
    given_unknown: list[str] = field(default_factory=list)

    def staged(self) -> dict[str, dict[str, str]]:
        """FASTA text per family, as the stages read it: {'families': trained, 'unknown': unknown}."""
        return {
            "families": {f: format_fasta(r) for f, r in sorted(self.trained.items())},
            "unknown": {f: format_fasta(r) for f, r in sorted(self.unknown.items())},
        }

    def checksum(self) -> str:
        """sha256 over the staged texts: the dataset stage's input."""
        h = hashlib.sha256()
        for part, texts in self.staged().items():
            for fam, text in texts.items():
                h.update(f"{part}\t{fam}\t".encode() + text.encode())
        return h.hexdigest()

    def note(self) -> str:
        """How the unknown families were found, for the summary and the model card."""
        parts = []
        if self.given_unknown:
            parts.append(f"given as unknown: {', '.join(self.given_unknown)}")
        if self.too_small:
            parts.append(f"too small to train (< {MIN_SPLIT_FAMILY} members): {', '.join(self.too_small)}")
        if self.held_out:
            parts.append(f"held out of the model by a seeded choice: {', '.join(self.held_out)}")
        return "unknown families for calibration (val half) and the open-set figure (test half): " + "; ".join(parts)


def unknown_target(n_families: int) -> int:
    """How many unknown families calibration wants: two (one per half of the open set), 5% of a large set, at most
    ten."""
    return max(2, min(10, round(0.05 * n_families)))


def read_family_set(
    sources: Source,
    unknown_sources: Source = (),
    hold_out: int | None = None,
    min_family_size: int = MIN_SPLIT_FAMILY,
    seed: int = 0,
) -> FamilySet:
    """Read and check the user's families and sort them into trained and unknown; InputError for input that cannot
    train a chain: a family of one sequence, a name given twice, a file that is no family, nucleotides."""
    families = read_families(sources)
    given = read_families(unknown_sources) if unknown_sources else {}
    for fam, records in {**families, **given}.items():
        if len(records) < 2:
            raise InputError(f"family {fam!r} has one sequence: a family needs at least {min_family_size} to train")
    both = sorted(set(families) & set(given))
    if both:
        raise InputError(f"family {both[0]!r} is given both to train and as unknown")
    trainable = {f: r for f, r in families.items() if len(r) >= min_family_size}
    small = {f: r for f, r in families.items() if len(r) < min_family_size}
    wanted = unknown_target(len(families)) - len(given) - len(small) if hold_out is None else hold_out
    held = sorted(random.Random(f"{seed}:hold-out").sample(sorted(trainable), max(0, wanted))) if wanted > 0 else []
    if len(trainable) - len(held) < 2:
        raise InputError(
            f"{len(trainable)} families have {min_family_size} or more members and {len(held)} of them would be held "
            "out as unknown for calibration: at least 2 must be left to train (give more families, or unknown "
            "families with --unknown)"
        )
    if not (given or small or held):
        raise InputError("calibration needs families the model does not know: give --unknown, or --hold-out >= 1")
    trained = {f: r for f, r in trainable.items() if f not in held}
    unknown = {**given, **small, **{f: families[f] for f in held}}
    return FamilySet(trained, unknown, held, sorted(small), sorted(given))
