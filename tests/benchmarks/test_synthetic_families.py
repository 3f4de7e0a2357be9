"""The scale benchmark's synthetic families, from the committed mini dataset's four real frame HMMs."""

from pathlib import Path

from hmmer_anchor import load_hmms
from synthetic_families import MIN_LENGTH, synthetic_families, write_synthetic

from protfam_core.io.seqio import read_sequences

MINI = Path(__file__).resolve().parents[1] / "data" / "mini"
AMINO = set("ACDEFGHIKLMNPQRSTVWY")


def test_families_are_seeded_counted_amino_acids_and_differ(tmp_path):
    frames = load_hmms(MINI / "frames.hmm")
    families = dict(synthetic_families(frames, 5, 4, seed=7))
    assert list(families) == ["syn0-DEATH", "syn1-il8", "syn2-kringle", "syn3-toxin", "syn4-DEATH"]
    assert all(len(recs) == 4 for recs in families.values())
    seqs = [r.seq for recs in families.values() for r in recs]
    assert all(set(s) <= AMINO and len(s) >= MIN_LENGTH for s in seqs)
    assert len({r.id for recs in families.values() for r in recs}) == 20
    assert len(set(seqs)) == 20  # no member repeats, within or across families
    # the same seed gives the same families; another seed others
    assert dict(synthetic_families(frames, 5, 4, seed=7)) == families
    assert dict(synthetic_families(frames, 5, 4, seed=8))["syn0-DEATH"] != families["syn0-DEATH"]
    # two families of one base (DEATH) are perturbed differently: their members' residue mix differs
    first, fifth = ("".join(r.seq for r in families[f]) for f in ("syn0-DEATH", "syn4-DEATH"))
    share = [[s.count(a) / len(s) for a in sorted(AMINO)] for s in (first, fifth)]
    assert sum(abs(x - y) for x, y in zip(*share, strict=True)) > 0.1
    paths = write_synthetic(MINI / "frames.hmm", tmp_path / "fams", 5, 4, seed=7)
    assert sorted(p.name for p in (tmp_path / "fams").iterdir()) == sorted(f"{f}.fasta" for f in families)
    assert [r.seq for r in read_sequences(paths[2])] == [r.seq for r in families["syn2-kringle"]]
