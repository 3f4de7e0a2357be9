"""The feature cache: every dataset member placed into its own family frame, and its predicted SS/SA, kept on disk.

Predicting SS/SA and placing the whole dataset takes minutes, so `FeatureCache` does it once per dataset and SS model
and keeps the result in one .npz file per split that training, the reports and the CNN all reuse.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from protfam_core.io.atomic import atomic_write

if TYPE_CHECKING:
    from protfam_core.io.placements import Placement
    from protfam_core.msa.dataset import Dataset


class FeatureCache:
    """Placements into each member's own family frame and predicted SS/SA, computed once and kept on disk.

    Files: <cache_dir>/<dataset checksum>/<split>.placements.npz and <split>.ss-<SS model key>.npz, so a rebuilt
    dataset or another SS model never reads stale features, and placements survive an SS model change. SS/SA are
    predicted on the raw sequences.
    """

    def __init__(self, dataset: Dataset, cache_dir: str | Path | None = None, ss_model: str | None = None):
        self.dataset = dataset
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.ss_model = ss_model
        self._predictor = None

    @property
    def predictor(self):
        """The SS/SA predictor, loaded on first use (reading a warm cache needs no predictor session)."""
        if self._predictor is None:
            from protfam_core.registry.bundles import resolve
            from protfam_core.ss.predict import SSPredictor

            self._predictor = SSPredictor(resolve(self.ss_model, "ss"))
        return self._predictor

    def _folder(self) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / str(self.dataset.card.get("checksum", "unversioned"))[:16]

    def _ss_key(self) -> str:
        from protfam_core.registry.bundles import resolve

        ss = resolve(self.ss_model, "ss")
        ss_id = json.dumps({"name": ss.name, "version": ss.version, "files": ss.card.get("files", {})}, sort_keys=True)
        return hashlib.sha256(ss_id.encode()).hexdigest()[:12]

    def placements(self, split: str) -> list[Placement]:
        """Every member of `split` placed into its own family's frame (forced placement), in manifest order."""
        folder = self._folder()
        path = folder / f"{split}.placements.npz" if folder is not None else None
        if path is not None and path.exists():
            return load_placements(path)
        records = self.dataset.records(split)
        by_family: dict[str, list] = defaultdict(list)
        for rec, fam in zip(records, self.dataset.labels(split), strict=True):
            by_family[fam].append(rec)
        placed: dict[str, Placement] = {}
        for fam, recs in by_family.items():
            for pl in self.dataset.frames.place(recs, fam):
                placed[pl.query_id] = pl
        placements = [placed[r.id] for r in records]
        if path is not None:
            save_placements(path, placements)
        return placements

    def ss_file(self, split: str) -> Path | None:
        """Where the SS/SA of `split` under this SS model are kept (None without a cache folder)."""
        folder = self._folder()
        return folder / f"{split}.ss-{self._ss_key()}.npz" if folder is not None else None

    def ss_sa(self, split: str) -> list[tuple[str, str]]:
        """Predicted (SS, SA) strings of the raw sequences of `split`, in manifest order."""
        path = self.ss_file(split)
        if path is not None and path.exists():
            return load_ss_sa(path)
        records = self.dataset.records(split)
        ss_sa = [(ss, sa) for ss, sa in self.predictor.predict([r.seq for r in records])]
        if path is not None:
            save_ss_sa(path, ss_sa)
        return ss_sa

    def own_frame(self, split: str) -> tuple[list[Placement], list[tuple[str, str]]]:
        """Members of `split` placed into their own family frame, with their raw-sequence SS/SA strings."""
        return self.placements(split), self.ss_sa(split)


def placed_features(
    dataset: Dataset, split: str, cache_dir: str | Path | None = None, ss_model: str | None = None
) -> tuple[list[Placement], list[tuple[str, str]]]:
    """Members of `split` placed into their own family frame + SS/SA per raw sequence by `ss_model` (default: the
    shipped one), cached when cache_dir is set."""
    return FeatureCache(dataset, cache_dir, ss_model).own_frame(split)


def save_ss_sa(path: Path, ss_sa: Sequence[tuple[str, str]]) -> None:
    """(SS, SA) strings to one .npz, as the cache keeps them (a scattered annotation writes its chunk's this way)."""
    _save_npz(path, ss=np.array([s for s, _ in ss_sa], dtype=str), sa=np.array([a for _, a in ss_sa], dtype=str))


def load_ss_sa(path: Path) -> list[tuple[str, str]]:
    """Read what save_ss_sa wrote."""
    with np.load(path, allow_pickle=False) as z:
        return [(str(s), str(a)) for s, a in zip(z["ss"], z["sa"], strict=True)]


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Arrays to one compressed .npz (no pickles), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))


def save_placements(path: Path, placements: Sequence[Placement], **extra: np.ndarray) -> None:
    """Write placements to one .npz: rows and ids as strings, positions concatenated with per-row lengths."""
    _save_npz(
        path,
        **extra,
        query_id=np.array([p.query_id for p in placements], dtype=str),
        family=np.array([p.family for p in placements], dtype=str),
        row=np.array([p.row for p in placements], dtype=str),
        positions=np.concatenate([np.asarray(p.positions, dtype=np.int32) for p in placements])
        if placements
        else np.zeros(0, dtype=np.int32),
        lengths=np.array([len(p.positions) for p in placements], dtype=np.int64),
        score=np.array([p.score for p in placements], dtype=np.float64),
        evalue=np.array([p.evalue for p in placements], dtype=np.float64),
    )


def load_placements(path: Path) -> list[Placement]:
    """Read what save_placements wrote."""
    from protfam_core.io.placements import Placement

    with np.load(path, allow_pickle=False) as z:
        bounds = np.concatenate([[0], np.cumsum(z["lengths"])])
        positions = z["positions"]
        columns = zip(z["query_id"], z["family"], z["row"], z["score"], z["evalue"], strict=True)
        return [
            Placement(str(q), str(f), str(r), positions[bounds[i] : bounds[i + 1]].copy(), float(s), float(e))
            for i, (q, f, r, s, e) in enumerate(columns)
        ]
