"""`fingerprint-search search` as the core runs it: the target (an index file, an index model, fingerprints to scan,
or the shipped family index), the query check, and the hits table with its `#` provenance line."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np

from protfam_core.errors import InputError
from protfam_core.io.fingerprints import Fingerprints, check_model, read_fingerprints
from protfam_core.search.index import FingerprintIndex, SearchResult


def open_target(index: str | None, db: str | None, stdin: IO | None = None) -> tuple[FingerprintIndex, str]:
    """--db fingerprints, an --index file or registry model, or (neither) the shipped family index; with its name."""
    if index is not None and db is not None:
        raise InputError("give one of --index and --db, not both")
    if db is not None:
        return FingerprintIndex.build(read_fingerprints(db, stdin=stdin), source=str(db)), str(db)
    if index is not None and Path(index).exists():
        return FingerprintIndex.load(index), str(index)
    from protfam_core.registry.bundles import resolve

    bundle = resolve(index, "index")
    return FingerprintIndex.load(bundle.file("index")), bundle.ref


def check_queries(queries: Fingerprints, idx: FingerprintIndex) -> None:
    """Queries must hold a fingerprint and come from the model that made the index."""
    if not len(queries):
        raise InputError("no query has a fingerprint (no candidate frame for any of them)")
    made = idx.meta.get("model")
    remedy = f"fingerprints of different models are not comparable (encode the queries with {made}, or index with "
    check_model(queries.model, made, "the index by", remedy + f"{queries.model})")


def read_weights(path: str | Path | None, dim: int) -> np.ndarray | None:
    """Per-dimension weights of (weighted) Minkowski: one vector of `dim` floats, one a line."""
    if path is None:
        return None
    fps = read_fingerprints(path, dim)
    if len(fps) != 1:
        raise InputError(f"{path}: weights must be one vector of {dim} floats")
    return fps.vectors[0]


def format_hits(
    queries: Fingerprints, idx: FingerprintIndex, res: SearchResult, label: str, metric: str, settings: str = ""
) -> str:
    """The hits TSV: a '#' line (index, metric and its `settings`, search mode, model), a header and one
    row per defined hit (`frame` after query_id for fingerprints of placed queries), ranks from 1."""
    lines = [
        f"# fingerprint-search index={label} metric={metric}{settings} mode={res.mode}"
        f" model={idx.meta.get('model') or 'unknown'}",
        "query_id\t" + ("frame\t" if queries.frames is not None else "") + "rank\ttarget_id\tdistance",
    ]
    names = queries.ids
    if queries.frames is not None:
        names = [f"{qid}\t{frame}" for qid, frame in zip(queries.ids, queries.frames, strict=True)]
    for qid, row_i, row_d in zip(names, res.indices, res.distances, strict=True):
        lines += [f"{qid}\t{rank}\t{idx.ids[i]}\t{float(d)!r}"
                  for rank, (i, d) in enumerate(zip(row_i, row_d, strict=True), 1) if i >= 0]  # fmt: skip
    return "\n".join(lines) + "\n"
