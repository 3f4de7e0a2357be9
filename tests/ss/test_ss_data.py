"""predict-ss parsers and non-model backends on real files: SCRATCH-1D output, DSSP databank files, FLIP, CB513,
and mkdssp on a real PDB entry."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from protfam_tools.predict_ss import main

from protfam_core.errors import InputError, ToolMissingError
from protfam_core.io.seqio import read_sequences
from protfam_core.ss.backends import predict_dssp, predict_scratch
from protfam_core.ss.data import (
    acc20_to_sa,
    parse_dssp,
    read_cath_dssp,
    read_cb513,
    read_flip,
    read_scratch_acc,
    read_scratch_acc20,
    read_scratch_ss,
    reduce_ss8,
    sa_state,
)
from protfam_core.ss.project import project, row_positions

DATA = Path(__file__).resolve().parents[1] / "data" / "ss"
SCRATCH = DATA / "scratch"


def test_scratch_files_match_their_sequences():
    seqs = {r.id: r.seq for r in read_sequences(SCRATCH / "test.fasta")}
    ss, ss8 = read_scratch_ss(SCRATCH / "test.ss"), read_scratch_ss(SCRATCH / "test.ss8")
    acc, acc20 = read_scratch_acc(SCRATCH / "test.acc"), read_scratch_acc20(SCRATCH / "test.acc20")
    assert list(ss) == ["pdb,4i8h,A,#1", "pdb,3w5h,A,#1", "pdb,4i8g,A,#1", "pdb,4eic,A,#1"]
    for key, seq in seqs.items():
        assert len(ss[key]) == len(ss8[key]) == len(acc[key]) == len(acc20[key]) == len(seq)
        assert set(ss[key]) <= set("HEC") and set(ss8[key]) <= set("HEC") and set(acc[key]) <= set("eb")
        # ACCpro and ACCpro20 are separate predictors, but both threshold-free reads must largely agree at 25%.
        agree = sum(a == b for a, b in zip(acc[key], acc20_to_sa(acc20[key]), strict=True)) / len(seq)
        assert agree > 0.95
    assert min(min(v) for v in acc20.values()) == -5  # ACCpro20's negative values are read, not rejected
    assert acc["pdb,4i8h,A,#1"].startswith("bbeeeeb")  # '--eeee-' in the file: '-' is buried


def test_ss8_reduction_follows_sspro():
    assert reduce_ss8("HGIEBTSC") == "HHHEECCC"


def test_scratch_backend_reads_by_record_id():
    records = read_sequences(SCRATCH / "test.fasta")
    results = predict_scratch(records, SCRATCH)
    assert [r.id for r in results] == [r.id for r in records]
    assert results[3].ss == read_scratch_ss(SCRATCH / "test.ss")["pdb,4eic,A,#1"]
    assert results[0].ss_prob is None


def test_scratch_backend_rejects_unknown_ids_and_bad_lengths(tmp_path):
    records = read_sequences(io.StringIO(">other\nMKV\n"))
    with pytest.raises(InputError, match="no SCRATCH-1D prediction"):
        predict_scratch(records, SCRATCH)
    shutil.copy(SCRATCH / "test.ss", tmp_path / "x.ss")
    short = read_sequences(io.StringIO(">pdb,4eic,A,#1\nMKV\n"))
    with pytest.raises(InputError, match="has 93 residues, the sequence 3"):
        predict_scratch(short, tmp_path)


def test_dssp_databank_files_give_3_state_ss_and_2_state_sa():
    chains = {c.id: c for c in read_cath_dssp(DATA / "cath_dssp/dssp.tar.xz", DATA / "cath_dssp/CATH_info.txt")}
    assert sorted(chains) == ["1P9GA", "2ERLA"]
    erl = chains["2ERLA"]
    assert len(erl.seq) == 40
    # Residue 3 is a half-cystine ('a' in the file) in a helix (H), ACC 4 of max 167: buried.
    assert erl.seq[:4] == "DACE" and erl.ss[:4] == "CHHH" and erl.sa[2] == "b"
    assert erl.sa[0] == "e"  # Asp, ACC 119 / 193 = 62%
    assert chains["1P9GA"].seq[0] == "X" and chains["1P9GA"].sa[0] == "?"  # non-standard residue: SA unknown
    assert set(erl.ss) <= set("HEC")


def test_relative_accessibility_threshold_is_25_percent():
    assert sa_state("G", 26.0) == "e" and sa_state("G", 25.9) == "b"  # Gly max 104 A^2 (Tien 2013)
    assert sa_state("X", 50.0) == "?"


def test_parse_dssp_rejects_other_text():
    with pytest.raises(InputError, match="not a DSSP file"):
        parse_dssp("HEADER nothing here\n")


def test_flip_triples_keep_splits_and_masks():
    chains = read_flip(DATA / "flip")
    splits = [s for _, s in chains]
    assert sorted(splits) == ["test", "test", "train", "train", "valid", "valid"]
    for chain, _ in chains:
        assert len(chain.seq) == len(chain.ss) and set(chain.sa) == {"?"}
    first = next(c for c, s in chains if c.id == "2a6h-E")
    assert first.ss[0] == "?"  # FLIP's mask starts with 0 for this chain


def test_cb513_counts_only_the_resolved_cb513_segment():
    chains = read_cb513(DATA / "cb513_head.csv")
    assert len(chains) == 3
    assert chains[0].seq.startswith("RTDCYGNVNRIDTTGASCKTAKPEG")
    assert set(chains[0].ss) <= set("HEC?")
    assert all(c.sa == "?" * len(c.seq) for c in chains)


def test_gapped_lays_residue_labels_on_alignment_columns():
    assert project("HEC", row_positions("-AC--D.")) == "-HE--C-"


def test_mkdssp_on_a_real_structure():
    (chain,) = predict_dssp(DATA / "1A8O.cif.gz")
    assert chain.id == "1A8O_A"
    # 1A8O: HIV-1 capsid C-terminal domain, residues 151-220 70 residues, selenomethionines read as X; a helical domain.
    assert chain.seq[1:12] == "DIRQGPKEPFR" and len(chain.seq) == 70
    assert chain.ss.count("H") > 30 and set(chain.sa) <= set("eb?")


def test_dssp_backend_through_the_tool(capsys):
    out = io.StringIO()
    rc = main(["predict", "--backend", "dssp", "--structure", str(DATA / "1A8O.cif.gz"), "-f", "tsv"], stdout=out)
    assert rc == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("# predict-ss model: dssp:1A8O.cif.gz")
    assert len(lines) == 2 + 70 and lines[2].split("\t")[:2] == ["1A8O_A", "1"]


def test_missing_mkdssp_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolMissingError):
        predict_dssp(DATA / "1A8O.cif.gz")
    rc = main(["predict", "--backend", "dssp", "--structure", str(DATA / "1A8O.cif.gz")], stdout=io.StringIO())
    assert rc == 3
    assert "mkdssp is not on PATH" in capsys.readouterr().err


def test_unknown_backend_is_refused(capsys):
    rc = main(["predict", str(SCRATCH / "test.fasta"), "--backend", "psipred"], stdout=io.StringIO())
    assert rc == 2 and "unknown backend 'psipred'" in capsys.readouterr().err
