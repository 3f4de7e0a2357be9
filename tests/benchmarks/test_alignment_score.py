"""Sum-of-pairs and total-column scores against a real HOMSTRAD structure alignment."""

from pathlib import Path

import pytest
from alignment_score import score_alignment

from protfam_core.errors import InputError
from protfam_core.io.seqio import Record, read_alignment
from protfam_core.msa.aligners import align

REF = Path(__file__).resolve().parents[1] / "data" / "homstrad" / "cytc"


def test_hand_checked_scores():
    ref = [Record("a", "AC-D"), Record("b", "ACED"), Record("c", "A-ED")]
    same = score_alignment(ref, ref)
    assert (same.sp, same.tc, same.pairs, same.columns) == (1.0, 1.0, 8, 4)
    shifted = [Record("a", "ACD-"), Record("b", "ACED"), Record("c", "A-ED")]  # a's D moved out of column 4
    s = score_alignment(shifted, ref)
    assert s.pairs == 8 and s.sp == pytest.approx(6 / 8) and s.tc == pytest.approx(2 / 4)


def test_real_alignment_scores_between_chance_and_reference():
    ref = read_alignment(REF, "fasta")
    raw = [Record(r.id, r.seq.replace("-", "")) for r in ref]
    score = score_alignment(align(raw, "famsa"), ref)
    assert 0.3 < score.sp <= 1.0 and 0.0 <= score.tc <= score.sp
    unaligned = [Record(r.id, r.seq + "-" * (200 - len(r.seq))) for r in raw]  # left-justified, no alignment
    assert score_alignment(unaligned, ref).sp < score.sp


def test_mismatched_inputs_are_rejected():
    with pytest.raises(InputError, match="different sequence ids"):
        score_alignment([Record("a", "AC")], [Record("b", "AC")])
    with pytest.raises(InputError, match="different residues"):
        score_alignment([Record("a", "AD")], [Record("a", "AC")])
