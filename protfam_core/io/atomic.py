"""Outputs written whole or not at all, and the one file checksum.

Every file a tool writes goes through `atomic_path`: the data lands in a uniquely named temp file beside the target,
which is renamed onto it only when writing finished. A failure or an interrupt leaves the target as it was and no
temp file behind, so a pipeline never reads half an output.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_path(dest: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A fresh temp path beside `dest` to write to; renamed onto `dest` when the block ends, removed if it raises."""
    dest = Path(dest)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; an output gets the permissions open() would give it
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(dest: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Call write(binary file object) on a temp file beside `dest`, then rename it onto `dest`."""
    with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
        write(fh)


def write_text(text: str, dest: str | Path | TextIO, stdout: TextIO | None = None) -> None:
    """Write text atomically to a path, or to '-' (stdout) or an open stream."""
    if isinstance(dest, str | Path) and str(dest) == "-":
        dest = stdout if stdout is not None else sys.stdout
    if isinstance(dest, str | Path):
        atomic_write(dest, lambda fh: fh.write(text.encode()))
    else:
        dest.write(text)
        dest.flush()


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks so large artifacts do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
