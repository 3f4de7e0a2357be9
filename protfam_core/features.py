"""Per-residue features of placed rows: SS/SA projected onto frame columns, one-hot channel matrices, a feature cache.

Every row a VAE or the CNN sees is a Placement (a raw sequence placed into a family frame). SS/SA are predicted on the
raw sequence and projected onto the row through the placement's positions, so the three channels line up column by
column. Predicting SS/SA and placing the whole dataset takes minutes, so `FeatureCache` does it once per dataset and
SS model and keeps the result in one .npz file per split that training, the reports and the CNN all reuse.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .alphabet import AA_SYMBOLS, GAP, SA_SYMBOLS, SS_SYMBOLS, one_hot
from .errors import InputError
from .seqio import read_text

if TYPE_CHECKING:
    from .dataset import Dataset
    from .frames import Placement

CHANNELS: dict[str, str] = {"aa": AA_SYMBOLS, "ss": SS_SYMBOLS, "sa": SA_SYMBOLS}
# The channel axis of a fingerprint (n, 3, 30), of the model bundles and of the TSV columns: aa, ss, sa.
CHANNEL_ORDER: tuple[str, ...] = tuple(CHANNELS)


def project(placement: Placement, per_residue: str) -> str:
    """A per-residue string of the raw sequence (SS or SA) on the placement's columns, '-' where the row has a gap."""
    positions = np.asarray(placement.positions)
    if positions.size and int(positions.max()) >= len(per_residue):
        raise InputError(
            f"{placement.query_id}: per-residue string has {len(per_residue)} letters, "
            f"the placement needs at least {int(positions.max()) + 1}"
        )
    return "".join(per_residue[p] if p >= 0 else GAP for p in positions.tolist())


def channel_matrix(rows: Sequence[str], symbols: str, width: int, dtype: type = np.float32) -> np.ndarray:
    """(n, width * len(symbols)) flattened one-hots of aligned rows, right-padded with gap columns to `width`."""
    too_wide = next((r for r in rows if len(r) > width), None)
    if too_wide is not None:
        raise InputError(f"an aligned row is {len(too_wide)} columns wide, the model takes at most {width}")
    if not rows:
        return np.zeros((0, width * len(symbols)), dtype=dtype)
    text = "".join(r + GAP * (width - len(r)) for r in rows)
    return one_hot(text, symbols).astype(dtype, copy=False).reshape(len(rows), width * len(symbols))


def channel_rows(placements: Sequence[Placement], ss_sa: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """The three aligned strings per placement: the residue row and the projected SS and SA rows."""
    if len(placements) != len(ss_sa):
        raise InputError(f"{len(placements)} placements but SS/SA for {len(ss_sa)} sequences")
    return {
        "aa": [p.row for p in placements],
        "ss": [project(p, ss) for p, (ss, _) in zip(placements, ss_sa, strict=True)],
        "sa": [project(p, sa) for p, (_, sa) in zip(placements, ss_sa, strict=True)],
    }


def channel_matrices(
    placements: Sequence[Placement], ss_sa: Sequence[tuple[str, str]], width: int, dtype: type = np.float32
) -> dict[str, np.ndarray]:
    """{"aa": (n, width*21), "ss": (n, width*4), "sa": (n, width*3)}: the VAE inputs of placed rows."""
    rows = channel_rows(placements, ss_sa)
    return {ch: channel_matrix(rows[ch], CHANNELS[ch], width, dtype) for ch in CHANNELS}


def read_per_residue(source: str | Path, kind: str) -> dict[str, str]:
    """SS (H/E/C) or SA (e/b) strings per id from a FASTA-like file, '-' kept: it is a gap in a string aligned to a
    row, or "buried" in SCRATCH-1D's per-residue ACCpro output (vae_encode.rows_from_alignment tells them apart)."""
    name, text = read_text(source)
    allowed = set("HEC-") if kind == "ss" else set("eb-")
    out: dict[str, str] = {}
    current: str | None = None
    chunks: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(">"):
            current = line[1:].split()[0] if line[1:].split() else ""
            if current in chunks:
                raise InputError(f"{name}: duplicate id {current!r}")
            chunks[current] = []
        elif line:
            if current is None:
                raise InputError(f"{name}: not a FASTA-like {kind.upper()} file (no '>' header before the data)")
            chunks[current].append(line)
    if not chunks:
        raise InputError(f"{name}: no {kind.upper()} strings found")
    for key, parts in chunks.items():
        seq = "".join(parts)
        bad = set(seq) - allowed
        if bad:
            raise InputError(
                f"{name}: {key!r} has letters {''.join(sorted(bad))!r}, expected {''.join(sorted(allowed))}"
            )
        out[key] = seq
    return out


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
            from .registry import resolve
            from .ss_predict import SSPredictor

            self._predictor = SSPredictor(resolve(self.ss_model, "ss"))
        return self._predictor

    def _folder(self) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / str(self.dataset.card.get("checksum", "unversioned"))[:16]

    def _ss_key(self) -> str:
        from .registry import resolve

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

    def ss_sa(self, split: str) -> list[tuple[str, str]]:
        """Predicted (SS, SA) strings of the raw sequences of `split`, in manifest order."""
        folder = self._folder()
        path = folder / f"{split}.ss-{self._ss_key()}.npz" if folder is not None else None
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as z:
                return [(str(s), str(a)) for s, a in zip(z["ss"], z["sa"], strict=True)]
        records = self.dataset.records(split)
        ss_sa = [(ss, sa) for ss, sa in self.predictor.predict([r.seq for r in records])]
        if path is not None:
            _save_npz(
                path, ss=np.array([s for s, _ in ss_sa], dtype=str), sa=np.array([a for _, a in ss_sa], dtype=str)
            )
        return ss_sa

    def own_frame(self, split: str) -> tuple[list[Placement], list[tuple[str, str]]]:
        """Members of `split` placed into their own family frame, with their raw-sequence SS/SA strings."""
        return self.placements(split), self.ss_sa(split)


def placed_features(
    dataset: Dataset, split: str, cache_dir: str | Path | None = None
) -> tuple[list[Placement], list[tuple[str, str]]]:
    """Members of `split` placed into their own family frame + SS/SA per raw sequence (cached when cache_dir is set)."""
    return FeatureCache(dataset, cache_dir).own_frame(split)


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Arrays to one compressed .npz (no pickles), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


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
    from .frames import Placement

    with np.load(path, allow_pickle=False) as z:
        bounds = np.concatenate([[0], np.cumsum(z["lengths"])])
        positions = z["positions"]
        columns = zip(z["query_id"], z["family"], z["row"], z["score"], z["evalue"], strict=True)
        return [
            Placement(str(q), str(f), str(r), positions[bounds[i] : bounds[i + 1]].copy(), float(s), float(e))
            for i, (q, f, r, s, e) in enumerate(columns)
        ]


def save_features(path: str | Path, placements: Sequence[Placement], ss_sa: Sequence[tuple[str, str]]) -> None:
    """Placements and their SS/SA strings in one .npz (what other caches, e.g. the CNN's, keep)."""
    ss, sa = zip(*ss_sa, strict=True) if ss_sa else ((), ())
    save_placements(Path(path), placements, ss=np.array(ss, dtype=str), sa=np.array(sa, dtype=str))


def load_features(path: str | Path) -> tuple[list[Placement], list[tuple[str, str]]]:
    """Read what save_features wrote."""
    with np.load(path, allow_pickle=False) as z:
        ss_sa = [(str(s), str(a)) for s, a in zip(z["ss"], z["sa"], strict=True)]
    return load_placements(Path(path)), ss_sa
