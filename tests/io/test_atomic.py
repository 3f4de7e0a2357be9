"""Issue 19 items 1-3: outputs never replace what the path was, unwritable outputs are one line with nothing left
behind, and multi-file outputs appear whole or not at all."""

import errno
import io
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
from protfam_tools import classify_cnn

from protfam_core.errors import OutputError
from protfam_core.io import fingerprints
from protfam_core.io.atomic import atomic_path, atomic_write, write_text
from protfam_core.io.fingerprints import write_fingerprints

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "examples" / "queries.fasta"


def _predict(out: str) -> tuple[int, str]:
    err = io.StringIO()
    rc = classify_cnn.main(["predict", str(QUERIES), "-o", out, "--threads", "1"], stdout=io.StringIO(), stderr=err)
    return rc, err.getvalue()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if p.name.endswith((".tmp", ".old")))


# 1. Output paths: a rename replaces only a regular file or a new path.


def test_a_symlink_to_a_device_stays_a_symlink_and_the_device_stays_a_device(tmp_path: Path):
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    assert _predict(str(link)) == (0, "")
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_a_character_device_given_as_out_is_written_not_replaced(tmp_path: Path):
    dev = tmp_path / "n"
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    assert _predict(str(dev)) == (0, "")
    assert stat.S_ISCHR(os.lstat(dev).st_mode)


def test_a_fifo_is_written_in_place(tmp_path: Path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_text("calls\n", fifo)
    reader.join(10)
    assert got == [b"calls\n"] and stat.S_ISFIFO(os.lstat(fifo).st_mode) and not _leftovers(tmp_path)


def test_a_symlink_keeps_pointing_at_its_target_which_gets_the_output(tmp_path: Path):
    target = tmp_path / "real.tsv"
    target.write_text("old\n")
    link = tmp_path / "link.tsv"
    link.symlink_to(target.name)
    write_text("new\n", link)
    assert link.is_symlink() and os.readlink(link) == "real.tsv" and target.read_text() == "new\n"
    dangling = tmp_path / "dangling"
    dangling.symlink_to("made.tsv")
    write_text("x\n", dangling)
    assert dangling.is_symlink() and (tmp_path / "made.tsv").read_text() == "x\n"


# 2. Unwritable outputs: one line, no temp file.


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/x.tsv", "cannot write (its folder does not exist)"),
        (".", "cannot write (is a directory, expected a file name)"),
        ("/dev/full", "cannot write (No space left on device)"),
    ],
)
def test_an_unwritable_out_is_one_line_and_leaves_nothing(tmp_path: Path, where: str, message: str):
    out = where if where.startswith("/") else str(tmp_path / where)
    rc, err = _predict(out)
    assert rc == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not _leftovers(tmp_path)


def test_a_full_disk_while_writing_removes_the_temp_file(tmp_path: Path):
    def full(fh) -> None:
        fh.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    (tmp_path / "out.tsv").write_text("before\n")
    with pytest.raises(OutputError, match="No space left on device"):
        atomic_write(tmp_path / "out.tsv", full)
    assert (tmp_path / "out.tsv").read_text() == "before\n" and os.listdir(tmp_path) == ["out.tsv"]


def test_a_read_only_folder_is_one_line(tmp_path: Path, monkeypatch):
    def denied(*args, **kwargs):  # root ignores a read-only mode, so the refusal is what the OS would say
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr("tempfile.mkstemp", denied)
    with pytest.raises(OutputError, match=r"x\.tsv: cannot write \(Permission denied\)"):
        write_text("x\n", tmp_path / "x.tsv")


def test_temp_names_are_unique(tmp_path: Path):
    with atomic_path(tmp_path / "a.tsv") as one, atomic_path(tmp_path / "a.tsv") as two:
        assert one != two and one.name.startswith(".a.tsv.")


def test_a_closed_or_failing_stdout_is_one_line():
    closed = io.StringIO()
    closed.close()
    with pytest.raises(OutputError, match="the stream is closed"):
        write_text("x\n", "-", closed)
    with open("/dev/full", "w") as full, pytest.raises(OutputError, match="No space left on device"):
        write_text("x" * 10000, full)


# 3. Multi-file outputs: whole or not at all.

Z = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)
IDS = ["a", "b", "c", "d"]


def test_txt_fingerprints_interrupted_leave_no_file(tmp_path: Path, monkeypatch):
    calls = []
    real = fingerprints.format_authors

    def interrupted(vector):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return real(vector)

    monkeypatch.setattr(fingerprints, "format_authors", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_fingerprints(IDS, Z, "txt", tmp_path / "fp", "vae/1")
    assert os.listdir(tmp_path) == []


def test_txt_fingerprints_into_an_existing_folder_replace_its_channels(tmp_path: Path):
    out = tmp_path / "fp"
    (out / "aa").mkdir(parents=True)
    (out / "aa" / "stale.txt").write_text("old")
    (out / "notes.md").write_text("mine")
    write_fingerprints(IDS, Z, "txt", out, "vae/1")
    assert sorted(p.name for p in (out / "aa").iterdir()) == [f"{i}.txt" for i in IDS]
    assert (out / "notes.md").read_text() == "mine" and not _leftovers(tmp_path)


def test_npy_is_not_written_when_its_ids_cannot_be(tmp_path: Path):
    (tmp_path / "fp.ids").mkdir()
    with pytest.raises(OutputError, match="fp.ids: cannot write"):
        write_fingerprints(IDS, Z, "npy", tmp_path / "fp.npy", "vae/1")
    assert os.listdir(tmp_path) == ["fp.ids"] and not list((tmp_path / "fp.ids").iterdir())
    write_fingerprints(IDS, Z, "npy", tmp_path / "ok.npy", "vae/1")
    assert np.array_equal(np.load(tmp_path / "ok.npy"), Z) and (tmp_path / "ok.ids").read_text() == "a\nb\nc\nd\n"
