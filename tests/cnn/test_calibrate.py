"""Calibrating the calling rule on validation data: the rule, the open set split by family, the CLI."""

import io
import json
import math
import random
from pathlib import Path

import pytest
from protfam_tools.classify_cnn import main

from protfam_core.cnn.calibrate import BOUNDED
from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.decoys import KINDS, decoys
from protfam_core.cnn.rule import EVALUE_GRID, CallRule, Domain
from protfam_core.errors import InputError
from protfam_core.io.alphabet import AMINO_ACIDS
from protfam_core.io.seqio import Record
from protfam_core.msa.dataset import load_dataset
from protfam_core.msa.open_set import homologous_families, unknown_records
from protfam_core.registry.bundles import resolve

TESTS = Path(__file__).resolve().parents[1]
MINI = TESTS / "data" / "mini"
PREP = TESTS / "data" / "prep" / "families"
GLOBINS = TESTS / "data" / "hmmer_tutorial" / "globins45.fa"


def test_fit_moves_each_number_to_its_best_value_and_takes_the_median_of_ties():
    def objective(rule: CallRule) -> tuple[float, float]:
        # the E-value cuts are best at 1e-4 (sequence) and anywhere from 1e-3 up (domain); the threshold at 0.3
        return (-abs(math.log10(rule.evalue_) + 4), -abs(rule.threshold_ - 0.3) - (rule.domain_evalue_ < 1e-3))

    rule = CallRule().fit(objective)
    assert (rule.evalue_, rule.threshold_) == (1e-4, 0.3)
    ties = [e for e in EVALUE_GRID if e >= 1e-3]
    assert rule.domain_evalue_ == ties[(len(ties) - 1) // 2]  # the median of the equally good cuts
    assert rule.figures_ == objective(rule)
    assert CallRule.from_card(rule.to_card(), {}).to_card() == rule.to_card()


def test_the_protein_call_is_its_best_called_domain_and_unassigned_has_none():
    rule = CallRule.learned(threshold_=0.5, evalue_=1e-3, domain_evalue_=1e-3, fallback_evalue_=0.0)
    hits = [
        Domain("q", "a", 1, 50, 0.9, 1e-9),
        Domain("q", "b", 10, 60, 0.95, 1e-5),
        Domain("q", "c", 80, 140, 0.7, 1e-6),
    ]
    called = rule.domains("q", hits)
    assert [d.family for d in called] == ["b", "c"]  # a overlaps the better-scoring b
    call = rule.decide("q", hits)
    assert call.family == "b" and call.evalue == 1e-5 and [c.family for c in call.candidates] == ["b", "a", "c"]
    weak = [Domain("q", "a", 1, 50, 0.2, 1e-9)]
    assert rule.decide("q", weak).family == "unassigned" and rule.domains("q", weak)[0].family == "unassigned"


def test_open_set_is_split_by_family_and_never_repeats_a_dataset_sequence():
    ds = load_dataset(MINI)
    # a card as `prep-msa build` writes it when the size filter drops families (these three are not in mini)
    ds.card = {
        **ds.card,
        "source": str(PREP),
        "cleaning": {
            "families_below_min_size": {"Band_41": 2, "cyt3": 1},
            "merged_families": {"Band_41": ["Band_41_M", "Band_41_N"]},
        },
    }
    parts = {p: unknown_records(ds, p, per_family=10) for p in ("val", "test", "all")}
    fams = {p: set(labels) for p, (_, labels) in parts.items()}
    assert fams["val"] == {"Band_41_M", "cyt3"} and fams["test"] == {"Band_41_N"}
    assert sorted(r.id for r in parts["all"][0]) == sorted(r.id for p in ("val", "test") for r in parts[p][0])
    seen = {r.seq for r in ds.sequences.values()}
    assert all(r.seq not in seen and 50 <= len(r.seq) <= 1200 for r in parts["all"][0])
    with pytest.raises(InputError, match="open-set part"):
        unknown_records(ds, "train")


def test_calibrate_writes_a_new_bundle_that_predict_uses(tmp_path: Path):
    out = io.StringIO()
    args = ["calibrate", "--dataset", str(MINI), "--unknown", str(GLOBINS), "--out", str(tmp_path)]
    assert main(args, stdout=out) == 0
    folder = Path(out.getvalue().split("\t")[0])
    card = json.loads((folder / "model.json").read_text())
    shipped = resolve(None, "cnn")
    assert card["calibration"]["from"] == shipped.ref and card["version"] != shipped.version
    assert card["files"]["model"]["sha256"] == shipped.card["files"]["model"]["sha256"]  # same network
    chosen = card["calibration"]["chosen"]
    assert chosen["unknown_unassigned"] == 1.0 and chosen["known_correct"] >= 0.95  # globins are no family here
    for kind in BOUNDED:  # no more false calls than hmmsearch at E <= 1e-3
        assert chosen[f"decoy_calls_{kind}"] <= chosen[f"hmmer_decoy_calls_{kind}"]
    assert set(card["calibration"]["sets"]["decoys"]) == set(KINDS)
    clf = FamilyClassifier(str(folder))
    rule = clf.settings.rule
    assert rule.to_card() == {k: card[k] for k in ("threshold", "evalue", "domain_evalue", "fallback_evalue")}
    assert clf.settings.search == rule.search and 0.0 <= chosen["domain_f1"] <= 1.0


def test_open_set_adds_reference_families_split_by_family(tmp_path: Path):
    ds = load_dataset(MINI)
    ds.card = {**ds.card, "source": str(PREP), "cleaning": {}}
    ref = tmp_path / "reference"
    ref.mkdir()
    body = "MKVLLAGGSTWQPPGHKLEDRIAY" * 3  # 72 residues: inside the mini dataset's 50..1200 window
    seqs = {"famA": [body[:30] + "--" + body[30:] + x for x in "ACD"], "famB": ["W" + body, "Y" + body]}
    seqs["famC"] = [body + x for x in "EFG"]
    for fam, rows in seqs.items():  # PIR-style headers, gapped rows, as in HOMSTRAD
        (ref / fam).write_text("".join(f">P1;{fam}{i}\n{row}\n" for i, row in enumerate(rows)))
    records, labels = unknown_records(ds, "all", reference=ref, min_reference_size=3)
    assert set(labels) == {"famA", "famC"}  # famB has 2 sequences
    assert all("-" not in r.seq for r in records)
    val, test = (set(unknown_records(ds, p, reference=ref)[1]) for p in ("val", "test"))
    assert val == {"famA"} and test == {"famC"}
    with pytest.raises(InputError, match="reference families"):
        unknown_records(ds, "all", reference=tmp_path / "nowhere")


def test_open_set_leaves_out_families_with_a_homolog_among_the_known_members(tmp_path: Path):
    ds = load_dataset(MINI)
    ds.card = {**ds.card, "source": str(PREP), "cleaning": {}}
    member = next(r.seq for r, f in zip(ds.records("train"), ds.labels("train"), strict=True) if f == "DEATH")
    rng = random.Random(0)
    ref = tmp_path / "reference"
    ref.mkdir()
    seqs = {fam: ["".join(rng.choice(AMINO_ACIDS) for _ in range(80)) for _ in range(3)] for fam in ("famA", "famZ")}
    seqs["famK"] = [member[:i] + "W" + member[i + 1 :] for i in (5, 20, 40)]  # a known DEATH domain, renamed
    for fam, rows in seqs.items():
        (ref / fam).write_text("".join(f">P1;{fam}{i}\n{row}\n" for i, row in enumerate(rows)))
    records, labels = unknown_records(ds, "all", reference=ref, homolog_evalue=None)
    assert homologous_families(records, labels, ds) == {"famK": ["DEATH"]}
    halves = {p: set(unknown_records(ds, p, reference=ref)[1]) for p in ("val", "test", "all")}
    assert halves == {"val": {"famA", "famZ"}, "test": set(), "all": {"famA", "famZ"}}  # the others keep their half
    assert set(unknown_records(ds, "test", reference=ref, homolog_evalue=None)[1]) == {"famK"}


def test_calibrate_refuses_an_empty_unknown_set(tmp_path: Path, capsys):
    empty = tmp_path / "empty.fasta"
    empty.write_text("")
    assert main(["calibrate", "--dataset", str(MINI), "--unknown", str(empty), "--out", str(tmp_path)]) != 0
    assert "empty" in capsys.readouterr().err
    assert not list(tmp_path.glob("family-cnn*"))


def test_decoys_are_seeded_and_look_like_their_kind():
    members = [Record(f"m{i}", "MKVLAAGIWQERSTPLHDNC" * 3 + "A" * i) for i in range(4)]
    made = decoys(members, seed=3)
    assert list(made) == list(KINDS) and all(len(v) == len(members) for v in made.values())
    assert [r.seq for r in made["reversed"]] == [m.seq[::-1] for m in members]
    assert all(sorted(s.seq) == sorted(m.seq) for s, m in zip(made["shuffled"], members, strict=True))
    assert {k: [r.seq for r in v] for k, v in decoys(members, seed=3).items()} == {
        k: [r.seq for r in v] for k, v in made.items()
    }  # the same seed, the same decoys
    heptads = made["coiled_coil"][0].seq
    assert len(heptads) % 7 == 0 and all(heptads[i] in "LIVM" for i in range(0, len(heptads), 7))
    hydrophobic = sum(c in "LIVFAGMWCTS" for r in made["transmembrane"] for c in r.seq)
    assert hydrophobic > 0.4 * sum(len(r.seq) for r in made["transmembrane"])
