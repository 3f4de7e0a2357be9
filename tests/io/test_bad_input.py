"""Issue 19 items 4-5: unreadable input is one line, and input that would give silent garbage is refused."""

import gzip
import io
import subprocess
import sys
from pathlib import Path

import pytest
from protfam_tools import classify_cnn, prep_msa

from protfam_core.errors import InputError
from protfam_core.io.fingerprints import parse_fingerprints
from protfam_core.io.seqio import parse_alignment, read_sequences, read_text

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "examples" / "queries.fasta"
SEQ = "MKVLAAAGGKKLLPPQQRRSTTVVWWYY"


def _run(tool, args: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = tool.main(args, stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return rc, out.getvalue(), err.getvalue()


# 4. Unreadable input.


def test_a_corrupt_gzip_stream_is_one_line(tmp_path: Path):
    packed = gzip.compress(QUERIES.read_bytes())
    (tmp_path / "q.fa.gz").write_bytes(packed[:40] + b"\xff" * 30 + packed[70:])
    with pytest.raises(InputError, match="corrupt gzip file"):
        read_text(tmp_path / "q.fa.gz")


def test_a_non_ascii_letter_in_a_sequence_is_named(tmp_path: Path):
    (tmp_path / "q.fa").write_text(">a\nMKVLA\u00e9AAGG\n")
    with pytest.raises(InputError, match=r"line 2 has a non-ASCII character 'é'"):
        read_sequences(tmp_path / "q.fa")


def test_a_utf8_bom_is_accepted(tmp_path: Path):
    (tmp_path / "q.fa").write_bytes(b"\xef\xbb\xbf" + QUERIES.read_bytes())
    assert read_sequences(tmp_path / "q.fa") == read_sequences(QUERIES)


def test_a_latin1_header_says_what_is_wrong(tmp_path: Path):
    (tmp_path / "q.fa").write_bytes(f">a caf\xe9\n{SEQ}\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"line 1 is not UTF-8 text \(byte 0xe9; Latin-1\?"):
        read_sequences(tmp_path / "q.fa")


@pytest.mark.parametrize("redirect", ["<&-", ">&-", ">/dev/full"])
def test_closed_stdin_closed_stdout_and_a_full_disk_are_one_line(redirect: str):
    source = "-" if redirect == "<&-" else str(QUERIES)
    command = f"{sys.executable} -m protfam_tools.classify_cnn predict {source} --threads 1 {redirect}"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, input=None, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert "cannot" in done.stderr


# 5. Silent garbage.


def test_a_header_without_an_id_is_refused():
    rc, out, err = _run(classify_cnn, ["predict", "-"], stdin=f">\n{SEQ}\n")
    assert rc == 2 and out == "" and "sequence 1 has no id" in err
    with pytest.raises(InputError, match="empty id"):
        parse_fingerprints("fp.tsv", "id\tz1\tz2\n\t1.0\t2.0\n")


def test_a_stop_inside_a_sequence_is_refused_and_a_final_one_stripped():
    with pytest.raises(InputError, match=r"has a stop '\*' inside it at position 12"):
        read_sequences(io.StringIO(f">a\n{SEQ[:11]}*{SEQ[11:]}\n"))
    assert read_sequences(io.StringIO(f">a\n{SEQ}*\n"))[0].seq == SEQ


def test_a_lower_case_alignment_is_read_as_rows_not_as_inserts():
    rows = parse_alignment("aln", ">a\nmkvla-aag\n>b\nmkvlaa-ag\n")
    assert [r.seq for r in rows] == ["MKVLA-AAG", "MKVLAA-AG"]
    assert [r.seq for r in parse_alignment("a2m", ">a\nMKvLA\n>b\nMK.LA\n")] == ["MKLA", "MKLA"]  # A2M as before
    rc, out, _ = _run(prep_msa, ["filter", "-"], stdin=">a\nmkvla-aag\n>b\nmkvlaa-ag\n>c\nmkv-aaaag\n")
    assert rc == 0 and out.splitlines()[1] == "MKVLA-AAG"


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        (classify_cnn, ["predict", "-", "--threshold", "nan"]),
        (classify_cnn, ["predict", "-", "--fallback-evalue", "inf"]),
        (prep_msa, ["place", "-", "--evalue", "-1"]),
        (prep_msa, ["place", "-", "--evalue", "nan"]),
        (prep_msa, ["filter", "-", "--column-gap", "1.5"]),
        (prep_msa, ["filter", "-", "--sequence-gap", "-0.1"]),
    ],
)
def test_out_of_range_numbers_are_refused(tool, args: list[str]):
    rc, out, err = _run(tool, args, stdin=f">a\n{SEQ}\n")
    assert rc == 2 and out == "" and err.count("\n") == 1 and "Invalid value" in err


def test_huge_fingerprint_values_are_refused_not_scored_nan():
    dim = 90
    row = "\t".join(["1e308"] * dim)
    text = "id\t" + "\t".join(f"z{i}" for i in range(dim)) + f"\nq\t{row}\n"
    rc, out, err = _run(classify_cnn, ["predict", "-"], stdin=text)
    assert rc == 2 and out == "" and "beyond float32" in err
