"""Sequences of families a dataset does not contain: the open set that `unassigned` is calibrated and tested on.

The families are those of the dataset's source that its size filter dropped (recorded in the dataset card), then the
HOMSTRAD reference families (`homstrad_ref/` beside the source's `families/` folder: 268 structure-defined families,
none of them an extHomFam family by name). The second part is what keeps an open set once the default dataset covers
every source family with enough members. They are split by family, not by sequence, into a validation half (used to
choose the calling rule) and a test half (used only to measure it), so that no family of the test half shaped the rule.

A family with a sequence that MMseqs2 finds among the dataset's train and validation members (E <= 1e-3, default
sensitivity; the test members stay out of every choice) is no family the model does not know: a HOMSTRAD family can
be a known Pfam family under another name (Band_41_NME) or carry a known domain (Cyclodex_gly_tran and its CBM20),
and calling it is right. Such families leave the open set after the halves are drawn, so that the other families
keep their half. The test is a third tool's, not the model's and not the HMMER anchor's, so it favours neither.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from protfam_core.errors import InputError
from protfam_core.io.seqio import Record, read_sequences
from protfam_core.msa.dataset import Dataset
from protfam_core.msa.split import mmseqs_hits

PARTS = ("val", "test", "all")
REFERENCE = "homstrad_ref"  # the reference families' folder, beside the source's families/ folder
HOMOLOG_EVALUE = 1e-3  # MMseqs2 E-value at which an open-set sequence has a homolog among the known members


def dropped_families(dataset: Dataset) -> list[str]:
    """Source families the dataset left out for size (merged groups expanded to their members), sorted."""
    cleaning = dataset.card.get("cleaning", {})
    merged = cleaning.get("merged_families", {})
    return sorted({f for name in cleaning.get("families_below_min_size", {}) for f in merged.get(name, [name])})


def reference_families(folder: Path) -> list[tuple[str, list[Record]]]:
    """(family, ungapped upper-case sequences) of every reference alignment in `folder` (PIR-style '>P1;id' FASTA;
    ids lose the 'P1;')."""
    out = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != ".md"):
        recs = read_sequences(path, "fasta")
        ungapped = [Record(r.id.split(";", 1)[-1], r.seq.replace("-", "").replace(".", "").upper()) for r in recs]
        out.append((path.name, ungapped))
    return out


def unknown_records(
    dataset: Dataset,
    part: str = "all",
    per_family: int = 40,
    seed: int = 0,
    source: str | Path | None = None,
    reference: str | Path | None = None,
    min_family_size: int = 20,
    min_reference_size: int = 3,
    homolog_evalue: float | None = HOMOLOG_EVALUE,
    threads: int = 2,
) -> tuple[list[Record], list[str]]:
    """(records, their family) of up to `per_family` seeded sequences per unknown family, none identical to a dataset
    sequence, within the dataset's length window. Dropped source families with at least `min_family_size` usable
    sequences, then reference families with at least `min_reference_size`, alternate between the val and test parts.
    `reference` defaults to REFERENCE beside the source's parent folder; where it does not exist only the dropped
    families count. Families with a homolog among the dataset's train and val members (`homologous_families`) are
    left out; `homolog_evalue=None` keeps them (the open set of the benchmarks dated before this rule)."""
    if part not in PARTS:
        raise InputError(f"unknown open-set part {part!r} (one of {', '.join(PARTS)})")
    folder = Path(source or dataset.card.get("source", ""))
    params = dataset.card.get("parameters", {})
    lo, hi = params.get("min_length", 50), params.get("max_length", 1200)
    seen = {r.seq for r in dataset.sequences.values()}

    def pool_of(recs: list[Record]) -> list[Record]:
        return [r for r in recs if lo <= len(r.seq) <= hi and r.seq not in seen]

    usable = []
    for fam in dropped_families(dataset):
        path = next(iter(sorted(folder.glob(f"{fam}.*"))), None)
        if path is None:
            raise InputError(f"family {fam!r} of the dataset's source is not in {folder}")
        pool = pool_of(read_sequences(path))
        if len(pool) >= min_family_size:
            usable.append((fam, pool))
    ref_folder = Path(reference) if reference is not None else folder.parent.parent / REFERENCE
    if reference is not None and not ref_folder.is_dir():
        raise InputError(f"{ref_folder}: no folder of reference families")
    if ref_folder.is_dir():
        for fam, recs in reference_families(ref_folder):
            pool = pool_of(recs)
            if len(pool) >= min_reference_size:
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
    if homolog_evalue is None:
        return records, labels
    known = homologous_families(records, labels, dataset, homolog_evalue, threads)
    kept = [i for i, fam in enumerate(labels) if fam not in known]
    return [records[i] for i in kept], [labels[i] for i in kept]


def homologous_families(
    records: list[Record], labels: list[str], dataset: Dataset, evalue: float = HOMOLOG_EVALUE, threads: int = 2
) -> dict[str, list[str]]:
    """Families of `labels` with a sequence that MMseqs2 finds among the dataset's train and val members at E <=
    `evalue`, each with the known families it hits (sorted). A family belongs to the model whichever split holds
    its nearest member (on a clustered split that is often val); test members are not looked at."""
    known = [r for s in ("train", "val") for r in dataset.records(s)]
    known_labels = [f for s in ("train", "val") for f in dataset.labels(s)]
    found: dict[str, set[str]] = {}
    for q, t in mmseqs_hits(records, known, evalue, threads):
        found.setdefault(labels[q], set()).add(known_labels[t])
    return {fam: sorted(hits) for fam, hits in sorted(found.items())}
