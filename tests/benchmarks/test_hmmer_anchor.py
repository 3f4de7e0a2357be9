"""The pyhmmer anchor on the committed mini dataset: same frames, held-out test sequences, both search modes."""

from pathlib import Path

import numpy as np
import pytest
from hmmer_anchor import best_hits, calibrated_cut, classify, load_hmms

from protfam_core.cnn.report import UNASSIGNED, overall_accuracy
from protfam_core.errors import InputError, ModelError
from protfam_core.io.seqio import read_sequences
from protfam_core.msa.dataset import load_dataset

MINI = Path(__file__).resolve().parents[1] / "data" / "mini"
TUTORIAL = Path(__file__).resolve().parents[1] / "data" / "hmmer_tutorial"


@pytest.fixture(scope="module")
def mini():
    return load_dataset(MINI)


def test_anchor_classifies_held_out_members(mini):
    hmms = load_hmms(MINI / "frames.hmm")
    assert [h.name for h in hmms] == mini.frames.families
    test, truth = mini.records("test"), mini.labels("test")
    scan, scan_speed = classify(hmms, test, 1e-3, "hmmscan")
    search, _ = classify(hmms, test, 1e-3, "hmmsearch")
    assert [c.query_id for c in scan] == [r.id for r in test]
    assert [c.family for c in scan] == [c.family for c in search]  # same E-values with Z = number of HMMs
    assert np.allclose([c.score for c in scan], [c.score for c in search], atol=1e-3)
    assert overall_accuracy(truth, [c.family for c in scan]) >= 0.95
    assert scan_speed > 0


def test_calibrated_cut_and_unassigned(mini):
    hmms = load_hmms(MINI / "frames.hmm")
    # real proteins of a family outside the mini dataset (globins of the HMMER tutorial) as the unknown set
    unknown = read_sequences(TUTORIAL / "HBB_HUMAN") + read_sequences(TUTORIAL / "globins45.fa")[:5]
    cut = calibrated_cut(hmms, mini.records("val"), mini.labels("val"), unknown)
    calls, _ = classify(hmms, mini.records("val"), cut)
    assert overall_accuracy(mini.labels("val"), [c.family for c in calls]) >= 0.95
    calls, _ = classify(hmms, unknown, cut)
    assert {c.family for c in calls} == {UNASSIGNED}


def test_anchor_errors(tmp_path: Path):
    with pytest.raises(InputError, match="no sequences"):
        best_hits(load_hmms(MINI / "frames.hmm"), [])
    empty = tmp_path / "empty.hmm"
    empty.write_text("")
    with pytest.raises(ModelError):
        load_hmms(empty)
