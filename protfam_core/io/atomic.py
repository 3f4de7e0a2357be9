"""Outputs written whole or not at all, and the one file checksum.

Every file a tool writes goes through `atomic_path` (one file), `atomic_paths` (files that belong together, such as
a .npy and its .ids) or `atomic_dir` (a folder of files): the data lands in uniquely named temp files or a temp
folder beside the target, renamed onto it only when writing finished. A failure or an interrupt leaves the target as
it was and no temp file behind, so a pipeline never reads half an output. A rename replaces only a regular file or
a new path: a device, FIFO or socket (`/dev/null`, `/dev/stdout`) is written in place, and a symlink's target is
written, never the link. Every OS error of an output becomes one `OutputError` line.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

from protfam_core.errors import OutputError

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def output_error(dest: str | Path, exc: OSError) -> OutputError:
    """The one line for an OS error of an output (missing folder, permission, full disk)."""
    reason = {
        FileNotFoundError: "its folder does not exist",
        NotADirectoryError: "its folder does not exist",
        IsADirectoryError: "is a directory, expected a file name",
    }.get(type(exc), exc.strerror or str(exc))
    return OutputError(f"{dest}: cannot write ({reason})")


def _rename_target(dest: Path) -> Path | None:
    """Where a rename may land for `dest`: itself when new or a regular file, a symlink's target (the link stays);
    None for a device, FIFO or socket, which is written in place."""
    try:
        mode = os.stat(dest).st_mode  # follows symlinks
    except FileNotFoundError:
        return Path(os.path.realpath(dest)) if dest.is_symlink() else dest  # a dangling link: create its target
    except OSError as exc:
        raise output_error(dest, exc) from None
    if stat.S_ISDIR(mode):
        raise OutputError(f"{dest}: cannot write (is a directory, expected a file name)")
    if not stat.S_ISREG(mode):
        return None
    return Path(os.path.realpath(dest)) if dest.is_symlink() else dest


@contextmanager
def atomic_path(dest: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A fresh temp path beside `dest` to write to; renamed onto `dest` when the block ends, removed if it raises.
    A special file (device, FIFO) is yielded itself: it cannot be replaced, only written."""
    dest = Path(dest)
    target = _rename_target(dest)
    if target is None:
        try:
            yield dest
        except OSError as exc:
            raise output_error(dest, exc) from None
        return
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise output_error(dest, exc) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; an output gets the permissions open() would give it
        os.replace(tmp, target)
    except OSError as exc:
        raise output_error(dest, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_paths(dests: Sequence[str | Path]) -> Iterator[list[Path]]:
    """`atomic_path` for files that belong together: none is renamed unless all were written."""
    with ExitStack() as stack:
        yield [stack.enter_context(atomic_path(d)) for d in dests]


@contextmanager
def atomic_dir(dest: str | Path) -> Iterator[Path]:
    """A fresh temp folder beside `dest` to fill; it becomes `dest` when the block ends, and is removed if it raises.
    Into an existing folder, each entry of the temp folder replaces the one of that name (renamed aside first), so a
    folder the user named is never removed and an interrupt never leaves half of the entries."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"{dest}: cannot write (exists and is not a folder)")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)  # a folder output's parents are made, as `mkdir -p` would
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    except OSError as exc:
        raise output_error(dest, exc) from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)
        if not dest.is_dir():
            os.replace(tmp, dest)
            return
        for entry in sorted(tmp.iterdir()):
            old = dest / entry.name
            aside = None
            if old.exists() or old.is_symlink():
                aside = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".old", dir=dest))
                os.replace(old, aside / entry.name)
            os.replace(entry, old)
            if aside is not None:
                shutil.rmtree(aside)
    except OSError as exc:
        raise output_error(dest, exc) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def atomic_write(dest: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Call write(binary file object) on a temp file beside `dest`, then rename it onto `dest`."""
    with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
        write(fh)


def write_stream(text: str, stream: TextIO | None) -> None:
    """Write text to an open stream; a closed or failing one (`>&-`, /dev/full) is one OutputError, and its fd is
    pointed at /dev/null so the interpreter's own flush at exit does not fail a second time."""
    name = getattr(stream, "name", "stdout")
    if stream is None or getattr(stream, "closed", False):
        raise OutputError(f"{name if stream is not None else 'stdout'}: cannot write (the stream is closed)")
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass  # an in-memory stream has no fd to silence
        raise output_error(name if isinstance(name, str) else "stdout", exc) from None


def write_text(text: str, dest: str | Path | TextIO | None, stdout: TextIO | None = None) -> None:
    """Write text atomically to a path, or to '-' (stdout) or an open stream."""
    if isinstance(dest, str | Path) and str(dest) == "-":
        dest = stdout if stdout is not None else sys.stdout
    if isinstance(dest, str | Path):
        atomic_write(dest, lambda fh: fh.write(text.encode()))
    else:
        write_stream(text, dest)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks so large artifacts do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
