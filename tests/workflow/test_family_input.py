"""Reading a user's families (every format easy-train takes) and sorting them into trained and unknown."""

from pathlib import Path

import pytest

from protfam_core.errors import InputError
from protfam_core.msa.dataset import BuildOptions, read_families
from protfam_core.msa.split import split_counts
from protfam_core.workflow.inputs import read_family_set, unknown_target

DATA = Path(__file__).resolve().parents[1] / "data" / "easy_train"


def test_every_format_reads_to_the_same_kind_of_family():
    families = read_families(DATA)
    sizes = {"SH3": 20, "egf": 12, "fer2": 13, "kunitz": 10, "rrm": 20, "zf-CCHH": 15}
    assert {f: len(r) for f, r in families.items()} == sizes  # SH3: the #=GF ID; egf: the .seed file's stem
    for records in families.values():
        assert all(r.seq.isalpha() and r.seq.isupper() for r in records)  # ungapped, A2M inserts kept as residues
    assert read_families([DATA / "kunitz.fasta.gz", DATA / "rrm.afa"]).keys() == {"kunitz", "rrm"}


def test_a_multi_record_stockholm_file_is_one_family_per_record(tmp_path):
    second = (DATA / "egf.seed").read_text().replace("#=GF AC   HS_egf", "#=GF ID   EGF")
    seeds = tmp_path / "seeds.sto"
    seeds.write_text((DATA / "sh3_domain.sto").read_text() + second)
    assert {f: len(r) for f, r in read_families(seeds).items()} == {"SH3": 20, "EGF": 12}
    seeds.write_text((DATA / "sh3_domain.sto").read_text() + (DATA / "egf.seed").read_text())
    with pytest.raises(InputError, match="record 2 has no #=GF ID"):
        read_families(seeds)


def test_small_families_keep_a_val_and_a_test_member():
    assert split_counts(5) == (3, 1, 1)
    assert split_counts(9) == (7, 1, 1)
    assert split_counts(100) == (80, 10, 10)  # the default build is unchanged
    assert split_counts(5, (0.9, 0.1, 0.0)) == (4, 1, 0)
    BuildOptions(min_family_size=5).check()
    with pytest.raises(InputError, match="min_family_size >= 5"):
        BuildOptions(min_family_size=4).check()


def test_unknown_families_come_from_the_user_then_small_families_then_a_hold_out(tmp_path):
    auto = read_family_set(DATA)
    assert len(auto.held_out) == unknown_target(6) == 2 and len(auto.trained) == 4
    assert read_family_set(DATA).held_out == auto.held_out  # seeded
    given = read_family_set([DATA / "rrm.afa", DATA / "sh3_domain.sto"], [DATA / "fer2.fa", DATA / "egf.seed"])
    assert given.held_out == [] and given.given_unknown == ["egf", "fer2"] and set(given.trained) == {"rrm", "SH3"}
    small = tmp_path / "small.fasta"
    small.write_text("".join(f">s{i}\nMKVLAAGIVGLLLAQSPAHAW{'K' * i}\n" for i in range(3)))
    mixed = read_family_set([DATA / "rrm.afa", DATA / "sh3_domain.sto", DATA / "fer2.fa", small])
    assert mixed.too_small == ["small"] and len(mixed.held_out) == 1 and "too small to train" in mixed.note()
    with pytest.raises(InputError, match="at least 2 must be left to train"):
        read_family_set([DATA / "rrm.afa", DATA / "sh3_domain.sto"])
