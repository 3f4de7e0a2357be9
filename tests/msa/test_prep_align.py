"""prep-msa align: every real aligner on real family members, pipes, output formats and one-line errors."""

import io
from pathlib import Path

import pytest
from protfam_tools.prep_msa import main

from protfam_core.io.seqio import read_alignment, read_sequences
from protfam_core.msa.aligners import BACKENDS, align

DATA = Path(__file__).resolve().parents[1] / "data" / "prep" / "families"


@pytest.fixture(scope="module")
def cyt3():
    return read_sequences(DATA / "cyt3.fasta")[:8]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_keeps_ids_order_and_residues(cyt3, backend):
    rows = align(cyt3, backend)
    assert [r.id for r in rows] == [r.id for r in cyt3]
    assert len({len(r.seq) for r in rows}) == 1
    assert len(rows[0].seq) >= max(len(r.seq) for r in cyt3)
    assert [r.seq.replace("-", "") for r in rows] == [r.seq for r in cyt3]
    # a real alignment lines up residues: some column is identical in every row (cyt3's conserved CxxCH motif)
    assert any(len({r.seq[j] for r in rows}) == 1 and rows[0].seq[j] != "-" for j in range(len(rows[0].seq)))


def test_pipe_stdin_to_stdout_and_formats(cyt3):
    fasta = (DATA / "cyt3.fasta").read_text()
    out = io.StringIO()
    assert main(["align", "-"], stdin=io.StringIO(fasta), stdout=out) == 0
    rows = read_alignment(io.StringIO(out.getvalue()))
    assert len(rows) == 60 and len({len(r.seq) for r in rows}) == 1
    for fmt in ("clustal", "stockholm"):
        out = io.StringIO()
        assert main(["align", str(DATA / "il8.fasta"), "-f", fmt, "-b", "clustalw"], stdout=out) == 0
        back = read_alignment(io.StringIO(out.getvalue()), fmt)
        assert [r.id for r in back] == [r.id for r in read_sequences(DATA / "il8.fasta")]


def test_output_file_written_whole(tmp_path):
    dest = tmp_path / "k.afa"
    assert main(["align", str(DATA / "kringle.fasta"), "-o", str(dest), "-b", "mafft"]) == 0
    assert len(read_alignment(dest)) == 60


def _run(args, stdin_text=""):
    out = io.StringIO()
    code = main(args, stdin=io.StringIO(stdin_text), stdout=out)
    return code, out.getvalue()


@pytest.mark.parametrize(
    ("stdin_text", "message"),
    [
        ("", "input is empty"),
        ("this is not a sequence file\n", "not FASTA"),
        (">a\nMKV1LLA\n>b\nMKVLLA\n", "non-amino-acid character '1'"),
    ],
)
def test_bad_input_is_one_line_error_and_no_output(stdin_text, message, capsys):
    code, out = _run(["align", "-"], stdin_text)
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_backend(capsys):
    code, out = _run(["align", str(DATA / "il8.fasta"), "-b", "muscle"])
    assert code == 2 and out == ""
    assert "unknown alignment backend 'muscle'" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["clustalw", "clustalo", "mafft"])
def test_aligner_missing_from_path(backend, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    dest = tmp_path / "out.afa"
    code = main(["align", str(DATA / "il8.fasta"), "-b", backend, "-o", str(dest)])
    assert code == 3 and not dest.exists()
    assert f"{backend} not found on PATH" in capsys.readouterr().err
