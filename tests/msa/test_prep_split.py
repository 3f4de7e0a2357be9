"""Sampling and splits on real families: proportions, stratification, seeds, identity clusters, merged families."""

import io
from collections import Counter
from pathlib import Path

from protfam_tools.prep_msa import main

from protfam_core.io.seqio import Record
from protfam_core.msa.dataset import BuildOptions, clean_families, drop_conflicts, read_families, sample_and_split
from protfam_core.msa.split import SMALL_FAMILY, SPLITS, split_counts

DATA = Path(__file__).resolve().parents[1] / "data" / "prep" / "families"


def _opts(**kw):
    base = {"per_family": 50, "min_family_size": 20, "oversample": 1.0, "max_length": 1200}
    return BuildOptions(**{**base, **kw})


def test_split_counts_round_val_and_test():
    assert split_counts(500) == (400, 50, 50)
    assert split_counts(80, (0.75, 0.125, 0.125)) == (60, 10, 10)
    assert split_counts(15) == (11, 2, 2)  # rounded: 1.5 -> 2


def test_split_counts_validate_every_family_and_test_from_small_family_on():
    assert [split_counts(n)[1:] for n in (4, 5, 9)] == [(0, 0), (1, 0), (1, 0)]
    assert split_counts(SMALL_FAMILY - 1, (0.6, 0.2, 0.2)) == (SMALL_FAMILY - 3, 2, 0)  # test members go to the frame
    assert split_counts(SMALL_FAMILY) == (8, 1, 1)
    assert split_counts(SMALL_FAMILY, (0.9, 0.1, 0.0)) == (9, 1, 0)


def test_random_split_is_stratified_disjoint_and_seeded():
    families, _ = clean_families(read_families(DATA), _opts())
    splits, clusters = sample_and_split(families, _opts())
    assert not clusters
    for fam, parts in splits.items():
        sizes = [len(getattr(parts, s)) for s in SPLITS]
        assert sizes == ([40, 5, 5] if len(families[fam]) >= 50 else sizes)
        ids = [r.id for s in SPLITS for r in getattr(parts, s)]
        assert len(ids) == len(set(ids))
        assert set(ids) <= {r.id for r in families[fam]}
    again, _ = sample_and_split(families, _opts())
    other, _ = sample_and_split(families, _opts(seed=7))
    assert [r.id for r in again["il8"].test] == [r.id for r in splits["il8"].test]
    assert [r.id for r in other["il8"].test] != [r.id for r in splits["il8"].test]


def test_duplicate_source_families_are_merged_into_one_class():
    raw = read_families(DATA)
    families, info = clean_families(raw, _opts())
    assert info.merged == {"Band_41": ["Band_41_M", "Band_41_N"]}
    assert "Band_41_M" not in families and len(families["Band_41"]) == len(raw["Band_41_M"])
    labels = Counter(r.id for recs in families.values() for r in recs)
    assert max(labels.values()) == 1  # no sequence id carries two labels


def test_residues_shared_by_two_labels_are_dropped_from_both():
    il8 = read_families(DATA, ["il8"])["il8"]
    cyt3 = read_families(DATA, ["cyt3"])["cyt3"]
    shared = Record("copy_of_il8", il8[0].seq)
    out, conflicts, duplicates = drop_conflicts({"il8": il8 + [il8[1]], "cyt3": cyt3 + [shared]})
    assert conflicts == 2 and duplicates == 1
    assert il8[0].id not in {r.id for r in out["il8"]} and "copy_of_il8" not in {r.id for r in out["cyt3"]}
    assert len(out["il8"]) == len(il8) - 1


def test_cluster_split_keeps_every_cluster_in_one_split():
    opts = _opts(split="cluster", min_seq_id=0.4)
    families, _ = clean_families(read_families(DATA, ["cyt3", "il8", "kringle"]), opts)
    twin = Record("twin_of_first_il8", families["il8"][0].seq + "K")  # near-identical real member
    families["il8"] = families["il8"] + [twin]
    splits, clusters = sample_and_split(families, opts)
    assert clusters[twin.id] == clusters[families["il8"][0].id]
    where: dict[str, set[str]] = {}
    for parts in splits.values():
        for s in SPLITS:
            for r in getattr(parts, s):
                where.setdefault(clusters[r.id], set()).add(s)
    assert all(len(s) == 1 for s in where.values())
    assert len(where) < sum(len(v) for v in families.values())  # real near-identical members do cluster
    for parts in splits.values():
        assert len(parts.train) >= len(parts.val) and len(parts.train) >= len(parts.test)


def test_cli_split_writes_manifest():
    out = io.StringIO()
    args = ["split", str(DATA), "--per-family", "20", "--min-family-size", "20", "--family", "il8", "--family", "cyt3"]
    assert main(args, stdout=out) == 0
    lines = [ln.split("\t") for ln in out.getvalue().splitlines()]
    assert lines[0] == ["seq_id", "family", "split"]
    counts = Counter((fam, s) for _, fam, s in lines[1:])
    assert counts == {(f, s): n for f in ("cyt3", "il8") for s, n in zip(SPLITS, (16, 2, 2), strict=True)}
