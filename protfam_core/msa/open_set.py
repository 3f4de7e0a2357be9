"""Sequences of families a dataset does not contain: the open set that `unassigned` is calibrated and tested on.

The families are those of the dataset's source that its size filter dropped (recorded in the dataset card). They are
split by family, not by sequence, into a validation half (used to choose the calling rule) and a test half (used only
to measure it), so that no family of the test half shaped the rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from protfam_core.errors import InputError
from protfam_core.io.seqio import Record, read_sequences
from protfam_core.msa.dataset import Dataset

PARTS = ("val", "test", "all")


def dropped_families(dataset: Dataset) -> list[str]:
    """Source families the dataset left out for size (merged groups expanded to their members), sorted."""
    cleaning = dataset.card.get("cleaning", {})
    merged = cleaning.get("merged_families", {})
    return sorted({f for name in cleaning.get("families_below_min_size", {}) for f in merged.get(name, [name])})


def unknown_records(
    dataset: Dataset,
    part: str = "all",
    per_family: int = 40,
    seed: int = 0,
    source: str | Path | None = None,
    min_length: int = 50,
    max_length: int = 1200,
    min_family_size: int = 20,
) -> tuple[list[Record], list[str]]:
    """(records, their family) of up to `per_family` seeded sequences per dropped family, none identical to a dataset
    sequence. Families with at least `min_family_size` usable sequences alternate between the val and test parts."""
    if part not in PARTS:
        raise InputError(f"unknown open-set part {part!r} (one of {', '.join(PARTS)})")
    folder = Path(source or dataset.card.get("source", ""))
    seen = {r.seq for r in dataset.sequences.values()}
    usable = []
    for fam in dropped_families(dataset):
        path = next(iter(sorted(folder.glob(f"{fam}.*"))), None)
        if path is None:
            raise InputError(f"family {fam!r} of the dataset's source is not in {folder}")
        pool = [r for r in read_sequences(path) if min_length <= len(r.seq) <= max_length and r.seq not in seen]
        if len(pool) >= min_family_size:
            usable.append((fam, pool))
    rng = np.random.default_rng(seed)
    records, labels = [], []
    for k, (fam, pool) in enumerate(usable):
        chosen = rng.permutation(len(pool))[:per_family]  # drawn for every family: 'all' is exactly val + test
        if part != "all" and PARTS[k % 2] != part:
            continue
        for i in chosen:
            records.append(Record(f"{fam}|{pool[i].id}", pool[i].seq))
            labels.append(fam)
    return records, labels
