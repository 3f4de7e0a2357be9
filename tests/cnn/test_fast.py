"""The fast path (`classify-cnn predict --fast`): prefilter, rule, and the shipped bundle against the full chain."""

import io
import math
from pathlib import Path

import numpy as np
import pytest
from protfam_tools.classify_cnn import main

from protfam_core.cnn.rule import Candidate, FastRule, best_of
from protfam_core.frames.prefilter import LETTERS, N_FEATURES, KmerPrefilter, kmer_matrix
from protfam_core.io.seqio import Record, read_sequences
from protfam_core.msa.dataset import load_dataset

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "examples" / "queries.fasta"
MINI = ROOT / "tests" / "data" / "mini"


def _index(kmer: str) -> int:
    a, b, c = (LETTERS.index(x) for x in kmer)
    return (a * 20 + b) * 20 + c


def test_kmer_counts_count_within_each_sequence_only():
    counts = kmer_matrix(["ACDAC", "ac-d", "AXCDE"]).toarray()
    assert counts.shape == (3, N_FEATURES)
    assert counts[0, _index("ACD")] == 1 and counts[0, _index("CDA")] == 1 and counts[0, _index("DAC")] == 1
    assert counts[0].sum() == 3  # no 3-mer spans the boundary into the next sequence
    assert counts[1, _index("ACD")] == 1 and counts[1].sum() == 1  # gaps ignored, lower case counted
    assert counts[2, _index("CDE")] == 1 and counts[2].sum() == 1  # X breaks a 3-mer


def test_prefilter_ranks_held_out_members_own_family_first(tmp_path):
    data = load_dataset(MINI)
    model = KmerPrefilter().fit(data.records("train"), data.labels("train"), data.families)
    test, labels = data.records("test"), data.labels("test")
    top = model.top([r.seq for r in test], 2)
    first = [data.families[i] for i in top[:, 0]]
    assert np.mean([f == t for f, t in zip(first, labels, strict=True)]) >= 0.95
    model.save(tmp_path / "p.npz")
    again = KmerPrefilter.load(tmp_path / "p.npz")
    assert (again.top([r.seq for r in test], 2) == top).all() and again.families_ == data.families


def test_corrupt_prefilter_is_a_model_error(tmp_path):
    from protfam_core.errors import ModelError

    (tmp_path / "p.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a prefilter file"):
        KmerPrefilter.load(tmp_path / "p.npz")


def test_rule_accepts_most_without_a_call_worse_than_the_chains_and_prefers_small_k():
    right = [Candidate("a", 0.95, 1e-20), Candidate("b", 0.1, 1.0), Candidate("c", 0.0, 1.0)]
    known = [right] * 8 + [[Candidate("b", 0.9, 1e-3), Candidate("a", 0.2, 1.0), Candidate("c", 0.0, 1.0)]]
    unknown = [[Candidate("c", 0.97, 0.5), Candidate("a", 0.1, 1.0), Candidate("b", 0.0, 1.0)],
               [Candidate("a", 0.99, 1e-30), Candidate("b", 0.0, 1.0), Candidate("c", 0.0, 1.0)]]  # fmt: skip
    chain_right = [True] * 9 + [True, False]  # the chain, too, calls the second unknown query 'a'
    rule = FastRule().fit(known, ["a"] * 9, unknown, chain_right)
    figures = rule.figures_
    best = [best_of(c, rule.top_k_) for c in known + unknown]
    accepted = [i for i, b in enumerate(best) if rule.accepts(b)]
    assert accepted == [*range(8), 10]  # the prefilter's miss and the first unknown fall back to the chain
    assert rule.top_k_ == 1 and figures["per_k"]["1"]["accepted"] == pytest.approx(8 / 9)
    assert figures["per_k"]["3"]["cost"] > figures["per_k"]["1"]["cost"]
    assert FastRule.learned(top_k_=1, threshold_=0.5, evalue_=math.inf).accepts(Candidate("a", 0.5, 3.0))
    assert figures["margin"] == 1.0  # no fold's rule makes a wrong call on its held-out rows


def test_rule_is_narrowed_by_the_margin_cross_validation_needs():
    """Unknown queries just beyond the widest rule's E-value cut: a fit without one of them moves its cut up to the
    next, so the held-out one is called; the chosen rule keeps a margin that no fold crosses."""
    other = [Candidate("b", 0.0, 1.0), Candidate("c", 0.0, 1.0)]
    known = [[Candidate("a", 0.9, e), *other] for e in np.geomspace(1e-30, 0.5, 200)]
    unknown = [[Candidate("c", 0.9, e), *other] for e in np.geomspace(1e-3, 0.5, 20)]
    rule = FastRule().fit(known, ["a"] * len(known), unknown, [True] * (len(known) + len(unknown)))
    figures = rule.figures_
    widest = FastRule.from_card(figures["widest"], {})
    assert widest.evalue_ < 1e-3 and figures["held_out_wrong_calls"]["1.0"] > 0
    assert figures["margin"] > 1.0 and figures["held_out_wrong_calls"][str(figures["margin"])] == 0
    assert rule.to_card() == widest.narrowed(figures["margin"]).to_card() and rule.evalue_ < widest.evalue_
    assert figures["accepted"] == pytest.approx(np.mean([c[0].evalue <= rule.evalue_ for c in known]))


def _calls(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(args, stdout=out), out.getvalue()


def test_fast_calls_agree_with_the_full_chain_on_the_examples():
    rc, fast = _calls(["predict", "--fast", str(QUERIES)])
    assert rc == 0
    rc, full = _calls(["predict", str(QUERIES)])
    assert rc == 0
    header = fast.splitlines()[0]
    assert "\tfast=family-fast/" in header and "fast_top_k=" in header and "fast_threshold=" in header
    fast_calls = [line.split("\t")[:2] for line in fast.splitlines()[2:]]
    full_calls = [line.split("\t")[:2] for line in full.splitlines()[2:]]
    assert fast_calls == full_calls and len(fast_calls) == len(read_sequences(QUERIES))


def _one_line_error(args: list[str], capsys) -> str:
    capsys.readouterr()
    rc = main(["predict", "--fast", *args], stdout=io.StringIO())
    err = capsys.readouterr().err.strip()
    assert rc != 0 and len(err.splitlines()) == 1, err
    return err


def test_fast_refuses_domains_and_pipe_stages(tmp_path, capsys):
    assert "--fast gives per-protein calls" in _one_line_error(["--domains", str(QUERIES)], capsys)
    from protfam_tools.prep_msa import main as prep

    placements = tmp_path / "p.a2m"
    assert prep(["place", str(QUERIES), "-o", str(placements)]) == 0
    assert "--fast takes raw sequences" in _one_line_error([str(placements)], capsys)


def test_fast_refuses_a_cnn_it_was_not_made_for(tmp_path, capsys):
    import json
    import shutil

    from protfam_core.registry.bundles import resolve

    cnn = tmp_path / "cnn"
    shutil.copytree(resolve(None, "cnn").path, cnn)
    card = json.loads((cnn / "model.json").read_text())
    card["threshold"] = 0.5  # another calibration of the same network: another model.json
    (cnn / "model.json").write_text(json.dumps(card))
    assert "was made for cnn" in _one_line_error(["--model", str(cnn), str(QUERIES)], capsys)


def test_fast_path_on_a_record_it_cannot_place_falls_back():
    from protfam_core.cnn.classify import FamilyClassifier

    clf = FamilyClassifier(threads=1, fast=True)
    low = Record("poly_a", "A" * 120)
    calls = clf.predict([low])
    assert clf.fast_path.calls([low]) == [None] and calls[0].family == "unassigned"
