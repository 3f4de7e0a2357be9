"""Fingerprint index: named fingerprints in one file, exact k-NN for every metric, FAISS for scale.

The file is an uncompressed NumPy .npz (no pickles): `vectors` (n, d) float64 so exact distances equal scipy's on
the stored values, `ids`, a JSON `meta` (dimension, default metric, count, the model that made the fingerprints,
source, FAISS settings) and optionally `faiss` (a serialized FAISS index). FAISS serves only euclidean /
sqeuclidean (L2), cosine (inner product of unit vectors) and inner_product; its candidates are re-scored with exact
float64 distances. Any other metric, weights, or `exact=True` uses the exact scan.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from protfam_core import __version__
from protfam_core.errors import InputError
from protfam_core.io.atomic import atomic_write
from protfam_core.io.fingerprints import Fingerprints
from protfam_core.search.distances import check_metric, pairwise

FORMAT = "protfam-fingerprint-index"
FAISS_KINDS = ("flat", "hnsw", "ivf")
FAISS_METRICS = {"euclidean": "l2", "sqeuclidean": "l2", "cosine": "ip", "inner_product": "ip"}
_EXACT_BLOCK = 1 << 24  # distances per exact-scan block (128 MB of float64)
_RESCORE_MARGIN = 16  # extra matrix-product candidates re-scored exactly, so rounding cannot change the top k
_ROWWISE = frozenset({"euclidean", "sqeuclidean", "cosine", "inner_product"})


@dataclass
class SearchResult:
    """k nearest targets per query: `indices` (m, k) into the index's ids (-1 = none), `distances` (m, k)."""

    indices: np.ndarray
    distances: np.ndarray
    mode: str  # "exact" or "faiss-<kind>"


@dataclass
class FingerprintIndex:
    """Fingerprints with their ids and metadata, searchable by any metric."""

    ids: list[str]
    vectors: np.ndarray
    meta: dict
    faiss_index: object | None = None
    _positions: dict[str, int] = field(default_factory=dict, repr=False)
    _units: np.ndarray | None = field(default=None, repr=False)
    _sq_norms: np.ndarray | None = field(default=None, repr=False)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def metric(self) -> str:
        return self.meta["metric"]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(
        cls,
        fps: Fingerprints,
        metric: str = "euclidean",
        *,
        model: str | None = None,
        source: str | None = None,
        faiss_kind: str | None = None,
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 64,
        nlist: int | None = None,
        nprobe: int = 16,
        seed: int = 0,
        threads: int = 1,
    ) -> FingerprintIndex:
        """Index `fps`; with `faiss_kind` also a FAISS index for `metric` (euclidean, sqeuclidean, cosine, ip), built
        on `threads` threads."""
        check_metric(metric)
        if faiss_kind is not None:
            if faiss_kind not in FAISS_KINDS:
                raise InputError(f"unknown FAISS index kind {faiss_kind!r} (one of {', '.join(FAISS_KINDS)})")
            check_faiss_settings(
                hnsw_m=hnsw_m, ef_construction=ef_construction, ef_search=ef_search, nlist=nlist, nprobe=nprobe
            )
        if not len(fps):
            raise InputError("no fingerprints to index")
        if len(set(fps.ids)) != len(fps.ids):
            raise InputError("fingerprint ids must be unique within an index")
        meta = {
            "format": FORMAT,
            "format_version": 1,
            "dimension": fps.dim,
            "metric": metric,
            "count": len(fps),
            "model": model,
            "source": source,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "protfam_version": __version__,
            "faiss": None,
        }
        index = cls(list(fps.ids), np.ascontiguousarray(fps.vectors, dtype=np.float64), meta)
        if faiss_kind is not None:
            import faiss

            faiss.omp_set_num_threads(threads)
            settings = {"kind": faiss_kind, "M": hnsw_m, "ef_construction": ef_construction, "ef_search": ef_search}
            settings |= {"nlist": nlist, "nprobe": nprobe, "seed": seed}
            index.faiss_index, meta["faiss"] = _build_faiss(index.vectors, metric, settings)
        return index

    def position(self, name: str) -> int:
        """Row of the fingerprint called `name` (InputError if the index has none)."""
        if not self._positions:
            self._positions = {n: i for i, n in enumerate(self.ids)}
        if name not in self._positions:
            raise InputError(f"no fingerprint named {name!r} in the index ({len(self)} fingerprints)")
        return self._positions[name]

    def get(self, name: str) -> Fingerprints:
        """The fingerprint called `name`, as a one-row set."""
        i = self.position(name)
        return Fingerprints([name], self.vectors[i : i + 1], self.meta.get("model"))

    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        metric: str | None = None,
        *,
        p: float = 2.0,
        weights: np.ndarray | None = None,
        exact: bool = False,
        ef_search: int | None = None,
        nprobe: int | None = None,
        on_block: Callable[[int], None] | None = None,
        threads: int = 1,
    ) -> SearchResult:
        """k nearest fingerprints of each query row; FAISS (on `threads` threads) when it serves this metric, else an
        exact scan."""
        metric = metric or self.metric
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float64))
        if queries.shape[1] != self.dim:
            raise InputError(
                f"the index holds {self.dim}-dimensional fingerprints, the queries have {queries.shape[1]}"
            )
        check_metric(metric, p, weights, self.dim)
        if k < 1:
            raise InputError(f"-k must be >= 1 (got {k})")
        check_faiss_settings(ef_search=ef_search, nprobe=nprobe)
        k = min(k, len(self))
        settings = self.meta.get("faiss")
        if not exact and weights is None and self.faiss_index is not None and _faiss_serves(settings["metric"], metric):
            return self._search_faiss(queries, k, metric, ef_search, nprobe, on_block, threads)
        return self._search_exact(queries, k, metric, p, weights, on_block)

    def _search_exact(self, queries, k, metric, p, weights, on_block) -> SearchResult:
        m, n = len(queries), len(self)
        # L2/cosine/inner product: candidates from one float64 matrix product, then re-scored with the exact formula.
        fast = weights is None and metric in _ROWWISE
        keep = min(n, k + _RESCORE_MARGIN) if fast else k
        indices = np.empty((m, k), dtype=np.int64)
        distances = np.empty((m, k), dtype=np.float64)
        step = max(1, _EXACT_BLOCK // max(n, 1))
        for start in range(0, m, step):
            q = queries[start : start + step]
            if fast:
                block = self._blas_scores(q, metric)
            else:
                block = pairwise(q, self.vectors, metric, p, weights)
                block[np.isnan(block)] = np.inf  # undefined distances rank last
            if keep < n:
                top = np.argpartition(block, keep - 1, axis=1)[:, :keep]
            else:
                top = np.broadcast_to(np.arange(n), block.shape)
            d = _rowwise(q, self.vectors[top], metric) if fast else np.take_along_axis(block, top, axis=1)
            order = np.lexsort((top, d), axis=1)[:, :k]  # by distance, ties by index order (as a stable scan)
            indices[start : start + step] = np.take_along_axis(top, order, axis=1)
            distances[start : start + step] = np.take_along_axis(d, order, axis=1)
            if on_block:
                on_block(len(q))
        return _drop_undefined(SearchResult(indices, distances, "exact"))

    def _blas_scores(self, q: np.ndarray, metric: str) -> np.ndarray:
        """Scores that rank like `metric`, from one matrix product with the stored vectors."""
        if metric == "inner_product":
            scores = q @ self.vectors.T
        elif metric == "cosine":
            if self._units is None:
                self._units = _unit(self.vectors)
            scores = _unit(q) @ self._units.T
        else:
            if self._sq_norms is None:
                self._sq_norms = np.einsum("nd,nd->n", self.vectors, self.vectors)
            scores = q @ self.vectors.T
            scores *= -2.0
            scores += self._sq_norms
            return scores
        np.negative(scores, out=scores)
        return scores

    def _search_faiss(self, queries, k, metric, ef_search, nprobe, on_block, threads) -> SearchResult:
        import faiss

        faiss.omp_set_num_threads(threads)
        settings = self.meta["faiss"]
        _tune(self.faiss_index, settings, ef_search, nprobe)
        q = queries.astype(np.float32)
        if settings["metric"] == "cosine":
            q = _unit(q)
        _, idx = self.faiss_index.search(q, k)
        # Re-score the candidates in float64 with the exact metric and re-sort: reported distances equal scipy's.
        safe = np.where(idx < 0, 0, idx)
        dist = _rowwise(queries, self.vectors[safe], metric)
        dist = np.where((idx < 0) | np.isnan(dist), np.inf, dist)
        order = np.argsort(dist, axis=1, kind="stable")
        if on_block:
            on_block(len(queries))
        idx, dist = np.take_along_axis(idx, order, axis=1), np.take_along_axis(dist, order, axis=1)
        return _drop_undefined(SearchResult(idx, dist, f"faiss-{settings['kind']}"))

    def save(self, path: str | Path) -> None:
        """Write the index file whole or not at all."""
        arrays = {
            "vectors": self.vectors,
            "ids": np.array(self.ids, dtype=str),
            "meta": np.array(json.dumps(self.meta)),
        }
        if self.faiss_index is not None:
            import faiss

            arrays["faiss"] = faiss.serialize_index(self.faiss_index)
        buffer = io.BytesIO()  # a zip needs to seek: a pipe or a device (/dev/null, /dev/stdout) takes its bytes
        np.savez(buffer, **arrays)
        atomic_write(path, lambda fh: fh.write(buffer.getbuffer()))

    @classmethod
    def load(cls, path: str | Path) -> FingerprintIndex:
        """Read an index file; InputError if it is not one."""
        name = str(path)
        try:
            loaded = np.load(path, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise InputError(f"{name}: a NumPy array, not an index file (fingerprint-search index build)")
            with loaded as data:
                meta = json.loads(str(data["meta"]))
                if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                    raise InputError(f"{name}: not a protfam fingerprint index")
                vectors = data["vectors"]
                ids = data["ids"].tolist()
                blob = data["faiss"] if "faiss" in data.files else None
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise InputError(
                f"{name}: is a directory, expected an index file (fingerprint-search index build)"
            ) from None
        except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            # a truncated file, a bit flip (the zip's CRC-32), a missing array
            raise InputError(f"{name}: damaged or not a protfam fingerprint index ({type(exc).__name__})") from None
        _check_meta(name, meta)
        if vectors.ndim != 2 or vectors.shape != (meta["count"], meta["dimension"]) or len(ids) != meta["count"]:
            raise InputError(f"{name}: damaged index (sizes disagree with its metadata)")
        if not np.issubdtype(vectors.dtype, np.floating) or not np.isfinite(vectors).all():
            raise InputError(f"{name}: damaged index (its vectors are not finite floats)")
        index = cls(ids, vectors, meta)
        if blob is not None:
            import faiss

            try:
                index.faiss_index = faiss.deserialize_index(blob)
            except RuntimeError:
                raise InputError(f"{name}: damaged index (its FAISS part does not load)") from None
            if index.faiss_index.ntotal != len(ids) or index.faiss_index.d != meta["dimension"]:
                raise InputError(f"{name}: damaged index (its FAISS part disagrees with its vectors)")
        return index


def _check_meta(name: str, meta: dict) -> None:
    """The metadata keys a search reads, with their types; an empty index is refused here, not mid-search."""
    wanted = {"count": int, "dimension": int, "metric": str}
    bad = [key for key, kind in wanted.items() if not isinstance(meta.get(key), kind)]
    if bad:
        raise InputError(f"{name}: damaged index (metadata lacks {', '.join(bad)})")
    if meta["count"] < 1 or meta["dimension"] < 1:
        raise InputError(f"{name}: an empty index (no fingerprints)")
    settings = meta.get("faiss")
    if settings is not None and not (isinstance(settings, dict) and settings.get("kind") in FAISS_KINDS):
        raise InputError(f"{name}: damaged index (its FAISS settings are malformed)")


def check_faiss_settings(**settings: int | None) -> None:
    """FAISS aborts the process on M = 0 and allocates without bound on M = -1: every size is checked first."""
    limits = {"hnsw_m": (2, 512), "ef_construction": (1, 1 << 16), "ef_search": (1, 1 << 16)}
    limits |= {"nlist": (1, 1 << 20), "nprobe": (1, 1 << 20)}
    for key, value in settings.items():
        lo, hi = limits[key]
        if value is not None and not lo <= value <= hi:
            raise InputError(f"--{key.replace('_', '-')} must be between {lo} and {hi} (got {value})")


def _drop_undefined(res: SearchResult) -> SearchResult:
    """Targets at an undefined distance (NaN, e.g. correlation with a constant fingerprint) are not hits: index -1."""
    bad = ~np.isfinite(res.distances)
    res.indices[bad] = -1
    res.distances[bad] = np.nan
    return res


def _faiss_serves(built_for: str, metric: str) -> bool:
    """L2 indexes rank euclidean and sqeuclidean alike; inner-product ones only their own metric."""
    return metric == built_for or {metric, built_for} <= {"euclidean", "sqeuclidean"}


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)


def _rowwise(q: np.ndarray, cand: np.ndarray, metric: str) -> np.ndarray:
    """Exact distances of q[i] (m, d) to its candidates cand[i] (m, c, d), for the FAISS-served metrics."""
    if metric in ("euclidean", "sqeuclidean"):
        d2 = np.sum((cand - q[:, None, :]) ** 2, axis=2)
        return d2 if metric == "sqeuclidean" else np.sqrt(d2)
    dots = np.einsum("mcd,md->mc", cand, q)
    if metric == "inner_product":
        return -dots
    norms = np.linalg.norm(cand, axis=2) * np.linalg.norm(q, axis=1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - dots / norms


def _tune(index, settings: dict, ef_search: int | None, nprobe: int | None) -> None:
    import faiss

    if settings["kind"] == "hnsw":
        faiss.downcast_index(index).hnsw.efSearch = int(ef_search or settings["ef_search"])
    elif settings["kind"] == "ivf":
        faiss.extract_index_ivf(index).nprobe = int(nprobe or settings["nprobe"])


def _build_faiss(vectors: np.ndarray, metric: str, settings: dict):
    """A FAISS index over `vectors` for `metric`; returns (index, settings as stored in meta)."""
    import faiss

    if metric not in FAISS_METRICS:
        raise InputError(f"FAISS serves {', '.join(FAISS_METRICS)}; for {metric!r} build an exact index (no --faiss)")
    kind = settings["kind"]
    if kind not in FAISS_KINDS:
        raise InputError(f"unknown FAISS index kind {kind!r}; choose one of: {', '.join(FAISS_KINDS)}")
    n, d = vectors.shape
    x = vectors.astype(np.float32)
    if metric == "cosine":
        x = _unit(x)
    fmetric = faiss.METRIC_L2 if FAISS_METRICS[metric] == "l2" else faiss.METRIC_INNER_PRODUCT
    stored = {"kind": kind, "metric": metric}
    if kind == "flat":
        index = faiss.IndexFlat(d, fmetric)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, settings["M"], fmetric)
        index.hnsw.efConstruction = settings["ef_construction"]
        index.hnsw.efSearch = settings["ef_search"]
        stored |= {k: settings[k] for k in ("M", "ef_construction", "ef_search")}
    else:
        nlist = settings["nlist"] or int(4 * np.sqrt(n))
        nlist = max(1, min(nlist, n // 39))  # FAISS wants >= 39 training points per list
        quantizer = faiss.IndexFlat(d, fmetric)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, fmetric)
        rng = np.random.default_rng(settings["seed"])
        sample = x[rng.choice(n, size=min(n, 64 * nlist), replace=False)]
        index.cp.seed = settings["seed"]
        index.train(sample)
        index.nprobe = min(settings["nprobe"], nlist)
        stored |= {"nlist": nlist, "nprobe": index.nprobe, "seed": settings["seed"]}
    index.add(x)
    return index, stored


def build_family_index(
    dataset, fingerprinter=None, split: str = "train", cache_dir: str | Path | None = None, metric: str = "euclidean"
) -> FingerprintIndex:
    """Family fingerprints from the VAE models: per family, the mean fingerprint (z_mean, aa|ss|sa = 90 floats, as
    encode-vae's TSV) of its `split` members placed in their own frame, with SS/SA from the SS model the VAE was
    trained with. Only training members shape it, so test sequences can be searched against it honestly.
    `fingerprinter` defaults to the shipped "vae" bundle."""
    from protfam_core.features.cache import placed_features
    from protfam_core.vae.encode import Fingerprinter

    fp = fingerprinter if fingerprinter is not None else Fingerprinter()
    placements, ss_sa = placed_features(dataset, split, cache_dir, fp.ss_model)
    if not placements:
        raise InputError(f"the dataset has no {split!r} members")
    z = np.asarray(fp.transform(placements, ss_sa), dtype=np.float64).reshape(len(placements), -1)
    labels = np.array(dataset.labels(split))
    families = sorted(set(labels.tolist()))
    centroids = np.stack([z[labels == f].mean(axis=0) for f in families])
    source = f"{getattr(dataset, 'path', dataset)}: mean fingerprint of the {split} members of each family"
    return FingerprintIndex.build(
        Fingerprints(families, centroids, fp.model_id), metric, model=fp.model_id, source=source
    )


def publish_family_index(path: str | Path, vae, dataset, name: str = "family-index"):
    """Ship a family index file as the default "index" bundle: `fingerprint-search search` with no --index uses it.
    The card pins the VAE whose fingerprints it holds, so queries from another VAE are recognised."""
    import tempfile

    from protfam_core.registry.bundles import new_version, pins, publish, save_bundle

    index = FingerprintIndex.load(path)
    card = {
        "version": new_version(name),
        "vae": vae.ref,
        "pins": pins({"vae": vae}),
        "families": list(index.ids),
        "params": {"metric": index.metric, "source": index.meta.get("source")},
        "data": {"checksum": dataset.card.get("checksum"), "split": "train"},
        "protfam_version": __version__,
    }
    with tempfile.TemporaryDirectory() as tmp:
        bundle = save_bundle(Path(tmp) / name, name, "index", {"index": Path(path)}, card)
        return publish(bundle.path)
