"""encode-vae's fingerprint files: TSV (id + 90 floats), .npy (n, 3, 30) + ids, or the authors' 30-line text files.

Built on protfam_core.fingerprints so fingerprint-search and classify-cnn read what encode-vae writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from .errors import InputError
from .features import CHANNEL_ORDER
from .fingerprints import Fingerprints, atomic_write_bytes, format_authors, read_fingerprints, read_ids
from .seqio import write_text


def tsv_text(ids: Sequence[str], z: np.ndarray, model_id: str) -> str:
    """'# model' comment, header `id aa1.. ss1.. sa1..`, one line per fingerprint (repr floats: exact round trip)."""
    n_ch, dim = z.shape[1], z.shape[2]
    head = ["id"] + [f"{ch}{i + 1}" for ch in CHANNEL_ORDER[:n_ch] for i in range(dim)]
    lines = [f"# model {model_id}; columns: channel aa, ss, sa x z_mean 1..{dim}", "\t".join(head)]
    for fid, row in zip(ids, z.reshape(len(z), -1), strict=True):
        lines.append(fid + "\t" + "\t".join(repr(float(x)) for x in row))
    return "\n".join(lines) + "\n"


def safe_name(fid: str) -> str:
    """A file name for an id: '/' (Pfam ranges) and other path-hostile characters become '_'."""
    name = "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in fid)
    return "_" if name in ("", ".", "..") else name


def write_fingerprints(
    ids: Sequence[str], z: np.ndarray, fmt: str, out: str | Path, model_id: str, stdout: IO | None = None
) -> None:
    """Write (n, 3, dim) fingerprints as tsv ('-' = stdout), npy (+ <out>.ids) or txt (OUT/<channel>/<id>.txt)."""
    if fmt == "tsv":
        write_text(tsv_text(ids, z, model_id), out, stdout)
    elif fmt == "npy":
        path = Path(out)
        atomic_write_bytes(path, lambda fh: np.save(fh, z.astype(np.float32)))
        write_text("".join(f"{i}\n" for i in ids), ids_path(path))
    elif fmt == "txt":
        folder = Path(out)
        names = [safe_name(i) for i in ids]
        if len(set(names)) != len(names):
            raise InputError("two ids map to the same file name; rename the sequences")
        for c, ch in enumerate(CHANNEL_ORDER[: z.shape[1]]):
            (folder / ch).mkdir(parents=True, exist_ok=True)
            for name, vec in zip(names, z[:, c], strict=True):
                write_text(format_authors(vec), folder / ch / f"{name}.txt")
    else:
        raise InputError(f"unknown fingerprint format {fmt!r} (tsv, npy, txt)")


def ids_path(npy: Path) -> Path:
    """The ids file beside a .npy: fp.npy -> fp.ids."""
    return npy.with_suffix(".ids")


def read_fingerprint_matrix(source: str | Path, dim: int, stdin: IO | None = None) -> tuple[list[str], np.ndarray]:
    """(ids, (n, 3, dim)) from an encode-vae TSV or .npy (ids from <stem>.ids when present)."""
    ids = None
    if str(source).endswith(".npy") and ids_path(Path(source)).is_file():
        ids = read_ids(ids_path(Path(source)))
    fps: Fingerprints = read_fingerprints(source, stdin=stdin, ids=ids)
    if fps.dim != len(CHANNEL_ORDER) * dim:
        raise InputError(
            f"{source}: fingerprints have {fps.dim} values, expected {len(CHANNEL_ORDER) * dim} (aa, ss, sa x {dim})"
        )
    return fps.ids, fps.vectors.reshape(len(fps), len(CHANNEL_ORDER), dim).astype(np.float32)
