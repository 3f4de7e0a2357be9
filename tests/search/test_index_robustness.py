"""Issue 19 items 6-7: damaged index files are one line, and FAISS parameters are checked before FAISS runs."""

import json
from pathlib import Path

import numpy as np
import pytest

from protfam_core.errors import InputError
from protfam_core.io.fingerprints import Fingerprints
from protfam_core.search.index import FingerprintIndex

FPS = Fingerprints([f"f{i}" for i in range(40)], np.random.default_rng(0).normal(size=(40, 6)))


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("idx") / "x.fpi"
    FingerprintIndex.build(FPS, faiss_kind="hnsw").save(path)
    return path


def _resave(src: Path, dest: Path, **change) -> Path:
    arrays = dict(np.load(src))
    meta = json.loads(str(arrays["meta"]))
    for key, value in change.items():
        meta.pop(key) if value is None else meta.__setitem__(key, value)
    arrays["meta"] = np.array(json.dumps(meta))
    with open(dest, "wb") as fh:
        np.savez(fh, **arrays)
    return dest


def test_truncated_flipped_npy_and_malformed_indexes_are_one_line(saved: Path, tmp_path: Path):
    data = saved.read_bytes()
    (tmp_path / "cut.fpi").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    (tmp_path / "flip.fpi").write_bytes(bytes(flipped))
    np.save(tmp_path / "arr.npy", np.zeros((3, 6)))
    cases = {
        "cut.fpi": "damaged or not a protfam fingerprint index",
        "flip.fpi": "damaged or not a protfam fingerprint index",
        "arr.npy": "a NumPy array, not an index file",
        "nokey.fpi": "metadata lacks count",
        "empty.fpi": "an empty index",
    }
    _resave(saved, tmp_path / "nokey.fpi", count=None)
    _resave(saved, tmp_path / "empty.fpi", count=0)
    for name, message in cases.items():
        with pytest.raises(InputError, match=message):
            FingerprintIndex.load(tmp_path / name)
    with pytest.raises(InputError, match="no fingerprints to index"):
        FingerprintIndex.build(Fingerprints([], np.zeros((0, 6))))


@pytest.mark.parametrize(
    ("option", "value"), [("hnsw_m", 0), ("hnsw_m", -1), ("ef_construction", 0), ("nlist", 0), ("nprobe", -4)]
)
def test_faiss_build_parameters_are_checked_before_faiss(option: str, value: int):
    kind = "ivf" if option in ("nlist", "nprobe") else "hnsw"
    with pytest.raises(InputError, match=f"--{option.replace('_', '-')} must be between"):
        FingerprintIndex.build(FPS, faiss_kind=kind, **{option: value})


@pytest.mark.parametrize(("option", "value"), [("ef_search", -1), ("ef_search", 0), ("nprobe", -4)])
def test_faiss_search_parameters_are_checked(saved: Path, option: str, value: int):
    index = FingerprintIndex.load(saved)
    with pytest.raises(InputError, match="must be between"):
        index.search(FPS.vectors[:2], k=5, **{option: value})
