"""prep-msa build/subset end to end on small real families: files, card counts, train-only frames, checksums."""

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from protfam_tools.prep_msa import main

from protfam_core.io.seqio import read_alignment, read_sequences
from protfam_core.msa.dataset import dataset_checksum, load_dataset

DATA = Path(__file__).resolve().parents[1] / "data" / "prep" / "families"
MINI = Path(__file__).resolve().parents[1] / "data" / "mini"


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(c in it for c in short)


def _check_dataset(folder: Path) -> dict:
    """What a user can count in the files agrees with the card; frames hold training members only."""
    card = json.loads((folder / "card.json").read_text())
    ds = load_dataset(folder)
    counts = Counter((fam, split) for _, fam, split in ds.manifest)
    assert len(ds.manifest) == card["counts"]["sequences"] == len(read_sequences(folder / "sequences.fasta"))
    assert set(ds.sequences) == {sid for sid, _, _ in ds.manifest}
    assert len({sid for sid, _, _ in ds.manifest}) == len(ds.manifest)  # one label per sequence
    for fam, per in card["counts"]["per_family"].items():
        for split in ("train", "val", "test"):
            assert counts[fam, split] == per[split]
        aln = read_alignment(folder / "alignments" / f"{fam}.afa")
        assert len(aln) == per["train"] and len(aln[0].seq) == per["width"] == ds.frames.widths[fam]
        train = {sid for sid, f, s in ds.manifest if f == fam and s == "train"}
        assert {r.id for r in aln} == train
        for r in aln:  # rows are the raw members minus residues in dropped (>75% gap) columns
            assert _is_subsequence(r.seq.replace("-", ""), ds.sequences[r.id].seq)
    assert sorted(ds.families) == sorted(card["counts"]["per_family"])
    assert card["checksum"] == dataset_checksum(folder)
    for name, digest in card["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    return card


def test_build_merges_splits_aligns_train_only(tmp_path, capsys):
    out = tmp_path / "ds"
    args = ["build", str(DATA), str(out), "--per-family", "30", "--min-family-size", "30", "--seed", "3"]
    assert main(args) == 0
    card = _check_dataset(out)
    assert sorted(card["counts"]["per_family"]) == ["Band_41", "cyt3", "il8", "kringle"]
    assert card["cleaning"]["merged_families"] == {"Band_41": ["Band_41_M", "Band_41_N"]}
    assert card["counts"]["val"] == card["counts"]["test"] == 4 * 3
    assert card["parameters"]["backend"] == "famsa" and "FAMSA" in card["tools"]["aligner"]
    assert '"families": 4' in capsys.readouterr().err


def test_per_family_is_a_cap_and_smaller_families_keep_all_their_members(tmp_path):
    out = tmp_path / "ds"
    args = ["build", str(DATA), str(out), "--per-family", "40", "--min-family-size", "25", "--family", "il8"]
    assert main([*args, "--family", "Band_41_M", "--family", "cyt3", "--oversample", "1"]) == 0
    per = _check_dataset(out)["counts"]["per_family"]
    assert (per["il8"]["val"], per["il8"]["test"]) == (4, 4) and per["il8"]["train"] <= 32  # 60 members, cap 40
    assert (per["Band_41_M"]["val"], per["Band_41_M"]["test"]) == (3, 3)  # 30 members: all of them, 80/10/10
    assert per["Band_41_M"]["train"] + per["Band_41_M"]["gap_rule_dropped"] == 24
    assert main(["build", str(DATA), str(tmp_path / "no"), "--min-family-size", "4"]) == 2  # no val/test member


def test_build_with_clustalw_the_papers_aligner(tmp_path):
    out = tmp_path / "ds"
    args = ["build", str(DATA), str(out), "--backend", "clustalw", "--family", "il8", "--family", "cyt3"]
    args += ["--per-family", "20", "--min-family-size", "20"]
    assert main(args) == 0
    card = _check_dataset(out)
    assert card["tools"]["aligner"] == "clustalw 2.1"


def test_mini_dataset_is_consistent_and_a_subset_of_its_parent_splits():
    card = _check_dataset(MINI)
    assert card["counts"]["families"] == 4 and card["counts"]["test"] == 40
    assert card["parent"]["checksum"]


def test_build_rejects_bad_options(tmp_path, capsys):
    assert main(["build", str(DATA), str(tmp_path / "x"), "--split", "halves"]) == 2
    assert "unknown split mode" in capsys.readouterr().err
    assert main(["build", str(tmp_path / "nothing"), str(tmp_path / "x")]) == 2
    assert "not a folder of family FASTA files" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("bad", ["0.8,0.2", "a,b,c"])
def test_bad_fractions(tmp_path, bad, capsys):
    assert main(["build", str(DATA), str(tmp_path / "x"), "--fractions", bad]) == 2
    assert "fractions" in capsys.readouterr().err


def test_subset_keeps_parent_splits(tmp_path):
    out = tmp_path / "tiny"
    args = ["subset", str(MINI), str(out), "--family", "il8", "--family", "toxin", "--counts", "20,5,5"]
    assert main(args) == 0
    card = _check_dataset(out)
    assert card["counts"]["per_family"]["il8"]["train"] == 20 and card["counts"]["test"] == 10
    parent = {sid: split for sid, _, split in load_dataset(MINI).manifest}
    assert all(parent[sid] == split for sid, _, split in load_dataset(out).manifest)


def test_same_seed_rebuilds_byte_identical(tmp_path):
    args = ["--family", "il8", "--family", "kringle", "--per-family", "20", "--min-family-size", "20", "--seed", "5"]
    assert main(["build", str(DATA), str(tmp_path / "a"), *args]) == 0
    assert main(["build", str(DATA), str(tmp_path / "b"), *args]) == 0
    first, second = (json.loads((tmp_path / n / "card.json").read_text()) for n in "ab")
    assert first["checksum"] == second["checksum"] and first["files"] == second["files"]
