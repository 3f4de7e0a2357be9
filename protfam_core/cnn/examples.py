"""CNN examples of one dataset split: every row is a Placement turned into a 3 x 30 fingerprint.

Positives: each member placed in its own frame, both forced (hmmalign, the paper's protocol) and as found by the
frame search (what a user's query gets). Negatives (all-zero target): the same members in the foreign frames the
search proposes as candidates, plus each member forced into one seeded random foreign frame. The search alone
proposes few foreign frames on this data (about 1.03 candidates per query at E <= 10), so the forced foreign rows
make sure every frame's width and padding pattern appears with both labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from protfam_core.cnn.fast import forced_candidates
from protfam_core.features.cache import FeatureCache, load_placements, save_placements
from protfam_core.frames.frameset import SearchSettings, candidate_placements
from protfam_core.io.placements import Placement

FORCED, SEARCH, FOREIGN, PREFILTER = "forced", "search", "foreign", "prefilter"


@dataclass
class Examples:
    """Fingerprints and targets of one split, with what each row is (query, frame family, true family, source)."""

    fingerprints: np.ndarray
    targets: np.ndarray
    query_ids: list[str]
    frames: list[str]
    truth: list[str]
    sources: list[str]
    placements: list[Placement]

    @property
    def positive(self) -> np.ndarray:
        """True where the row sits in its own family's frame."""
        return np.array([f == t for f, t in zip(self.frames, self.truth, strict=True)], dtype=bool)


def searched(cache: FeatureCache, split: str, search: SearchSettings = SearchSettings()) -> list[Placement]:  # noqa: B008
    """Every candidate domain of the split's members, exactly as predict finds them (search + fallback), uncut.

    Cached per dataset checksum only: the search needs no SS model, so it can run before one exists.
    """
    key = f"domains-e{search.evalue:g}-d{search.domain_evalue:g}-fbsens{search.fallback_evalue:g}"
    path = _cache_file(cache, f"{split}-{key}.npz")
    if path is not None and path.exists():
        return load_placements(path)
    records = cache.dataset.records(split)
    found = candidate_placements(cache.dataset.frames, records, search)
    placements = [p for r in records for p in found[r.id]]
    if path is not None:
        save_placements(path, placements)
    return placements


def _cache_file(cache: FeatureCache, name: str) -> Path | None:
    """A file in the dataset-keyed part of the cache (placements that need no SS model)."""
    if cache.cache_dir is None:
        return None
    return cache.cache_dir / f"search-{str(cache.dataset.card.get('checksum', 'unknown'))[:16]}" / name


def foreign(cache: FeatureCache, split: str, seed: int = 0) -> list[Placement]:
    """Each member of `split` forced into one seeded random frame other than its own family's (cached)."""
    path = _cache_file(cache, f"{split}-foreign-s{seed}.npz")
    if path is not None and path.exists():
        return load_placements(path)
    dataset = cache.dataset
    families = dataset.frames.families
    rng = np.random.default_rng(seed)
    by_frame: dict[str, list] = {}
    for rec, fam in zip(dataset.records(split), dataset.labels(split), strict=True):
        others = [f for f in families if f != fam]
        by_frame.setdefault(others[int(rng.integers(len(others)))], []).append(rec)
    placed = {p.query_id: p for fam, recs in by_frame.items() for p in dataset.frames.place(recs, fam)}
    placements = [placed[r.id] for r in dataset.records(split)]
    if path is not None:
        save_placements(path, placements)
    return placements


def split_examples(
    cache: FeatureCache,
    split: str,
    fingerprinter: object,
    families: Sequence[str],
    search: SearchSettings = SearchSettings(),  # noqa: B008 (frozen)
    seed: int = 0,
) -> Examples:
    """Own-frame, searched-candidate and forced-foreign rows of `split`, fingerprinted, with multi-hot targets."""
    label = dict(zip((r.id for r in cache.dataset.records(split)), cache.dataset.labels(split), strict=True))
    own, own_ss = cache.own_frame(split)
    per_id = {p.query_id: pair for p, pair in zip(own, own_ss, strict=True)}
    found = searched(cache, split, search)
    wrong = foreign(cache, split, seed)
    placements = own + found + wrong
    ss_sa = own_ss + [per_id[p.query_id] for p in found + wrong]
    sources = [FORCED] * len(own) + [SEARCH] * len(found) + [FOREIGN] * len(wrong)
    fingerprints = np.asarray(fingerprinter.transform(placements, ss_sa), dtype=np.float32)
    return _labelled(fingerprints, placements, sources, label, families)


def _labelled(
    fingerprints: np.ndarray, placements: list[Placement], sources: list[str], label: dict[str, str],
    families: Sequence[str],
) -> Examples:  # fmt: skip
    """Examples with multi-hot targets: a row is positive for its frame's family when that is its own."""
    index = {f: i for i, f in enumerate(families)}
    truth = [label[p.query_id] for p in placements]
    frames = [p.family for p in placements]
    targets = np.zeros((len(placements), len(families)), np.float32)
    for i, (fr, tr) in enumerate(zip(frames, truth, strict=True)):
        if fr == tr:
            targets[i, index[fr]] = 1.0
    return Examples(fingerprints, targets, [p.query_id for p in placements], frames, truth, sources, placements)


def fast_examples(
    cache: FeatureCache, split: str, prefilter, fingerprinter, families: Sequence[str], k: int = 3, seed: int = 0
) -> Examples:
    """The aa CNN's rows of `split` (fast path): each member forced into its own frame (positive), into the other
    families of its prefilter top k and into one seeded random foreign frame (negatives); (n, 1, latent) aa
    fingerprints. The prefilter's wrong candidates are the negatives the fast path meets at prediction time."""
    records, labels = cache.dataset.records(split), cache.dataset.labels(split)
    index = {f: i for i, f in enumerate(families)}
    top = prefilter.top([r.seq for r in records], k + 1).tolist()
    others = np.array([[f for f in row if f != index[label]][:k] for row, label in zip(top, labels, strict=True)])
    placed = forced_candidates(cache.dataset.frames, records, others)
    confusable = [cands[col] for col in range(k) for cands in placed]  # the first confusable family of all, then...
    own, wrong = cache.placements(split), foreign(cache, split, seed)
    placements = own + confusable + wrong
    sources = [FORCED] * len(own) + [PREFILTER] * len(confusable) + [FOREIGN] * len(wrong)
    z = fingerprinter.encode_channel("aa", [p.row for p in placements])[:, None, :]
    return _labelled(z, placements, sources, dict(zip((r.id for r in records), labels, strict=True)), families)
