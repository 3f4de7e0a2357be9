"""Reading a user's families (every format easy-train takes) and sorting them into trained and unknown."""

import shutil
from pathlib import Path

import pytest

from protfam_core.errors import InputError
from protfam_core.io.seqio import read_alignment
from protfam_core.msa.dataset import BuildOptions, read_families
from protfam_core.msa.split import split_counts
from protfam_core.workflow.inputs import read_family_set, unknown_target

DATA = Path(__file__).resolve().parents[1] / "data" / "easy_train"
HOMSTRAD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "homstrad_ref"  # 267 families


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


def test_homstrad_files_and_true_pir_are_families(tmp_path):
    """A HOMSTRAD file as distributed with extHomFam (no suffix, '>P1;id' on FASTA rows) and a true PIR alignment
    (HOMSTRAD's own .ali: a description line, a '*' terminator) in one folder."""
    homstrad = DATA.parent / "homstrad"
    shutil.copy(homstrad / "cytc", tmp_path)
    (tmp_path / "NOTES.md").write_text("not a family: it has a suffix that is none of a family file's\n")
    rows = read_alignment(homstrad / "glob")
    (tmp_path / "glob.ali").write_text("".join(f">P1;{r.id}\nstructureX:{r.id}: globin\n{r.seq}*\n" for r in rows))
    families = read_families(tmp_path)
    assert {f: len(r) for f, r in families.items()} == {"cytc": 11, "glob": 41}
    plain = read_families([homstrad / "glob"])["glob"]
    assert [(r.id, r.seq) for r in families["glob"]] == [(r.id, r.seq) for r in plain]  # ids lose 'P1;' in both
    assert families["cytc"][0].id == "1yea"


@pytest.mark.shared_data
def test_every_homstrad_reference_family_reads_as_a_family():
    """HOMSTRAD's files ('>P1;id' headers on FASTA rows, no file suffix) are families, not broken PIR (issue 35)."""
    families = read_families(HOMSTRAD)
    assert len(families) == 267  # every file but PROVENANCE.md
    ung = families["ung"]
    assert [(r.id, len(r.seq)) for r in ung] == [("1akz", 223), ("1udg", 228), ("1uuga", 222)]
    for fam in ("AAA", "glob", "Glyco_hydro_18_D1", "zf-CCHH", "alpha-amylase_NC", "ung"):
        raw = [block.split("\n", 1) for block in (HOMSTRAD / fam).read_text().split(">P1;")[1:]]
        assert [r.id for r in families[fam]] == [head.strip() for head, _ in raw]
        assert [r.seq for r in families[fam]] == ["".join(c for c in body if c.isalpha()) for _, body in raw]
    chosen = read_family_set(HOMSTRAD)
    assert len(chosen.trained) + len(chosen.unknown) == 267
    assert len(chosen.too_small) == sum(len(r) < 5 for r in families.values()) == 160  # 98 of 3, 62 of 4 members


def test_a_pfam_seed_with_a_latin1_author_line_is_read(tmp_path):
    """Pfam's own Stockholm files carry non-UTF-8 bytes in #=GF lines (author names): read, annotation and all."""
    seed = (DATA / "egf.seed").read_bytes()
    latin1 = seed.replace(b"#=GF AC   HS_egf\n", b"#=GF AC   HS_egf\n#=GF AU   Mu\xf1oz J;0000-0001-0002-0003\n")
    assert latin1 != seed
    with pytest.raises(UnicodeDecodeError):
        latin1.decode()
    (tmp_path / "egf.seed").write_bytes(latin1)
    chosen = read_family_set([tmp_path / "egf.seed", DATA / "rrm.afa", DATA / "sh3_domain.sto", DATA / "fer2.fa"])
    assert {**chosen.trained, **chosen.unknown}["egf"] == read_families(DATA / "egf.seed")["egf"]  # 12 members
    (tmp_path / "egf.seed").write_bytes(latin1.replace(b"1ixa --VDGDQCE", b"1ixa --VDGDQC\xc9", 1))
    with pytest.raises(InputError, match=r"egf.seed: line 6 is not UTF-8 text \(byte 0xc9"):
        read_family_set([tmp_path / "egf.seed", DATA / "rrm.afa", DATA / "sh3_domain.sto"])


def test_small_families_keep_a_val_member_and_give_their_test_member_to_the_frame():
    assert split_counts(5) == (4, 1, 0)
    assert split_counts(9) == (8, 1, 0)
    assert split_counts(10) == (8, 1, 1)  # from SMALL_FAMILY on, a test member too
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
