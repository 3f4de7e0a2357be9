"""Alphabet and sequence I/O on real files (fixtures cut from ../shared/data, tests/data)."""

import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protfam_core.errors import InputError
from protfam_core.io.alphabet import AA_SYMBOLS, SA_SYMBOLS, SS_SYMBOLS, decode, one_hot
from protfam_core.io.seqio import read_alignment, read_sequences, sniff_format, write_fasta

DATA = Path(__file__).resolve().parents[1] / "data"
FAMILIES = DATA / "prep" / "families"
TUTORIAL = DATA / "hmmer_tutorial"


def test_alphabet_sizes_match_the_paper():
    assert (len(AA_SYMBOLS), len(SS_SYMBOLS), len(SA_SYMBOLS)) == (21, 4, 3)
    assert AA_SYMBOLS[0] == "-"


def test_one_hot_round_trip_and_unknown_rows():
    row = "AC-DX"
    m = one_hot(row, AA_SYMBOLS)
    assert m.shape == (5, 21)
    assert m.sum(axis=1).tolist() == [1, 1, 1, 1, 0]  # X claims no amino acid
    assert decode(m[:4], AA_SYMBOLS) == "AC-D"
    assert one_hot("H-EC", SS_SYMBOLS).argmax(1).tolist() == [1, 0, 2, 3]
    assert np.array_equal(one_hot("eb-", SA_SYMBOLS).argmax(1), [1, 2, 0])


def test_reads_real_gzipped_family_fasta_upper_cased():
    recs = read_sequences(FAMILIES / "Band_41_M.fasta.gz")
    assert len(recs) == 30
    assert all(r.seq.isupper() for r in recs)
    assert recs[0].id == "S4RE86_PETMA/101-216"


def test_crlf_and_stdin(tmp_path):
    text = ">a desc\r\nacdEF\r\n>b\r\nGHIK\r\n"
    recs = read_sequences("-", stdin=io.StringIO(text))
    assert [(r.id, r.seq) for r in recs] == [("a", "ACDEF"), ("b", "GHIK")]


def test_stockholm_and_clustal_alignments(tmp_path):
    sto = read_alignment(TUTORIAL / "Pkinase.sto.gz")
    assert len(sto) == 38 and len({len(r.seq) for r in sto}) == 1
    clustal = tmp_path / "x.aln"
    clustal.write_text("CLUSTAL W (1.83) multiple sequence alignment\n\n\nseq1  AC-DE\nseq2  ACFDE\n")
    assert sniff_format(clustal.read_text()) == "clustal"
    assert [r.seq for r in read_alignment(clustal)] == ["AC-DE", "ACFDE"]


def test_homstrad_p1_headers_on_fasta_and_true_pir_read_alike(tmp_path):
    """Issue 35: HOMSTRAD's '>P1;id' alignments are FASTA (no description line, no '*'); true PIR/NBRF has both.
    Either way the ids lose PIR's type code."""
    homstrad = DATA / "homstrad" / "cytc"
    assert sniff_format(homstrad.read_text()) == "fasta"
    rows = read_alignment(homstrad)
    assert len(rows) == 11 and rows[0].id == "1yea" and len({len(r.seq) for r in rows}) == 1
    pir = tmp_path / "cytc.pir"
    pir.write_text("".join(f">P1;{r.id}\nstructureX:{r.id}:   1 :A: 103 :A:cytochrome c\n{r.seq}*\n\n" for r in rows))
    assert sniff_format(pir.read_text()) == "pir"
    assert [(r.id, r.seq) for r in read_alignment(pir)] == [(r.id, r.seq) for r in rows]
    assert [(r.id, r.seq) for r in read_sequences(pir)] == [(r.id, r.seq) for r in read_sequences(homstrad)]
    assert read_sequences(pir)[0].description.startswith("structureX:1yea:")
    pir.write_text(pir.read_text().replace("*", ""))  # a description line, then no terminator: PIR gone wrong
    with pytest.raises(InputError, match=r"malformed pir \(Sequences in PIR files should include a \* terminator"):
        read_sequences(pir)
    pir.write_text(">P1;a\nglobin\n>P1;b\nmyoglobin, sperm whale\nMVLSEGEWQLVLHVWAKVEAD*\n")
    with pytest.raises(InputError, match=r"malformed pir \(a record has no sequence\)"):
        read_sequences(pir)


def test_stockholm_annotation_may_be_latin1_but_its_sequences_may_not(tmp_path):
    """Pfam's own Stockholm files carry Latin-1 author names in #=GF lines; other formats stay UTF-8 only."""
    text = "# STOCKHOLM 1.0\n#=GF AU   Mu\xf1oz J\nseq1  MKV-LLA\nseq2  MRVALLA\n//\n"
    sto = tmp_path / "x.sto"
    sto.write_bytes(text.encode("latin-1"))
    assert [r.seq for r in read_alignment(sto)] == ["MKV-LLA", "MRVALLA"]
    sto.write_bytes(text.replace("MRVALLA", "MRV\xc4LLA").encode("latin-1"))
    with pytest.raises(InputError, match=r"line 4 is not UTF-8 text \(byte 0xc4"):
        read_alignment(sto)


def test_write_fasta_is_atomic_and_readable(tmp_path):
    out = tmp_path / "o.fasta"
    write_fasta(read_sequences(TUTORIAL / "globins45.fa")[:3], out)
    assert len(read_sequences(out)) == 3
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "input is empty"),
        (b"hello world\n", "not FASTA"),
        (b">s1\nACD3FG\n", "non-amino-acid character '3'"),
        (b">s1\nACDEF\n>s1\nACDEF\n", "duplicate sequence id"),
        (b">nt\nATGGCGTACGATCGATCG\n>nt2\nACGUNNACGU\n", "looks like nucleotide sequences"),
        (gzip.compress(b"")[:10], "corrupt gzip"),
        (b"\x00\xff\xfe\x00", "not a text file"),
    ],
)
def test_bad_input_gets_one_clear_error(tmp_path, content, message):
    bad = tmp_path / "bad.fa"
    bad.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_sequences(bad)


def test_nucleotide_alignment_is_refused_but_short_or_protein_rows_pass(tmp_path):
    dna = tmp_path / "dna.afa"
    dna.write_text(">a\nATGGC-TACGATCGATCG\n>b\nATGGCGTACGA-CGATCG\n")
    with pytest.raises(InputError, match="looks like nucleotide"):
        read_alignment(dna)
    short = tmp_path / "short.fa"
    short.write_text(">p\nGAGTC\n")  # a 5-residue peptide of those letters is still a protein
    assert read_sequences(short)[0].seq == "GAGTC"


def test_length_limit_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="more than the limit 10"):
        read_sequences(TUTORIAL / "HBB_HUMAN", max_length=10)
    with pytest.raises(InputError, match="no such file"):
        read_sequences(tmp_path / "absent.fa")


fasta_texts = st.lists(
    st.tuples(st.text(" \tAb1|_-.é", max_size=12), st.lists(st.text("ACDEFGHIKLMNPQRSTVWYX-.*a \t\r", max_size=30))),
    min_size=1,
    max_size=5,
).map(lambda recs: "".join(f">{title}\n" + "".join(f"{line}\n" for line in lines) for title, lines in recs))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(fasta_texts)
def test_fasta_reader_gives_biopythons_records(text):
    """The FASTA reader skips Biopython's import (issue 16) but must read every file as Biopython does."""
    from Bio import SeqIO

    from protfam_core.io.seqio import _parse_fasta

    expected = [(r.id, str(r.seq), r.description) for r in SeqIO.parse(io.StringIO(text), "fasta")]
    assert [(r.id, r.seq, r.description) for r in _parse_fasta(text)] == expected


def test_text_before_the_first_fasta_record_is_refused(tmp_path):
    bad = tmp_path / "comment.fa"
    bad.write_text("; a comment\n>s1\nACDEF\n")
    with pytest.raises(InputError, match="malformed fasta"):
        read_sequences(bad, "fasta")
