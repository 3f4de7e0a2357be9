"""The paper's two gap steps: exact thresholds on a hand-checked alignment, then on a real FAMSA alignment."""

import io
from pathlib import Path

import numpy as np
from protfam_tools.prep_msa import main

from protfam_core.io.seqio import Record, read_alignment, read_sequences
from protfam_core.msa.aligners import align
from protfam_core.msa.gaps import apply_gap_rules, drop_gappy_columns, gappy_residue_rows, select_with_gap_rules

DATA = Path(__file__).resolve().parents[1] / "data" / "prep" / "families"


def _gap_fractions(rows):
    return np.array([[c == "-" for c in r.seq] for r in rows]).mean(axis=0)


def test_thresholds_are_strict_more_than():
    # 4 rows: column 0 is 75% gaps via row 'd' only, column 3 is 100% gaps.
    rows = [Record("a", "-AC-"), Record("b", "-AC-"), Record("c", "-AC-"), Record("d", "AAC-")]
    assert gappy_residue_rows(rows, 0.7) == [3]  # column 0 is 75% gaps > 70%: row d has a residue there
    assert gappy_residue_rows(rows, 0.75) == []  # 75% is not more than 75%
    # 8 rows: column 0 has residues in two rows (75% gaps, kept: not more than 75%), column 3 in none
    eight = rows + [Record("e", "-AC-"), Record("f", "-AC-"), Record("g", "-AC-"), Record("h", "CAC-")]
    kept, columns = drop_gappy_columns(eight, 0.75)
    assert columns == [0, 1, 2] and kept[3].seq == "AAC" and kept[7].seq == "CAC"


def test_a_column_of_one_residue_is_dropped_at_any_threshold():
    # a frame of 4 rows: column 0 is 75% gaps, within the threshold, but only row 'd' has a residue there
    rows = [Record("a", "-AC-"), Record("b", "-AC-"), Record("c", "-AC-"), Record("d", "AAC-")]
    kept, columns = drop_gappy_columns(rows, 0.75)
    assert columns == [1, 2] and kept[3].seq == "AC"
    assert drop_gappy_columns(rows, 1.0)[1] == [1, 2]
    assert drop_gappy_columns([Record("a", "-AC-")], 1.0)[1] == [1, 2]  # one row: each residue is a column
    result = apply_gap_rules(rows)
    assert result.columns == [1, 2] and [r.seq for r in result.aligned] == [r.seq for r in rows]


def test_real_alignment_after_both_steps():
    rows = align(read_sequences(DATA / "kringle.fasta"))
    result = apply_gap_rules(rows, sequence_threshold=0.95, column_threshold=0.5)
    before = _gap_fractions(rows)
    rare = np.nonzero(before > 0.95)[0]
    expected_dropped = [r.id for r in rows if any(r.seq[j] != "-" for j in rare)]
    assert result.dropped == expected_dropped and expected_dropped  # the real alignment has rare insertions
    assert {r.id for r in result.rows} == {r.id for r in rows} - set(expected_dropped)
    assert _gap_fractions(result.rows).max() <= 0.5
    survivors = [r for r in rows if r.id not in set(expected_dropped)]
    frac = _gap_fractions(survivors)
    assert result.columns == [j for j in range(len(frac)) if frac[j] <= 0.5]
    assert result.rows[0].seq == "".join(survivors[0].seq[j] for j in result.columns)


def test_select_refills_dropped_rows_from_spares():
    rows = align(read_sequences(DATA / "kringle.fasta"))
    result = select_with_gap_rules(rows, 40, sequence_threshold=0.95, column_threshold=0.75)
    assert len(result.rows) == 40 and result.dropped
    chosen = {r.id for r in result.rows}
    assert not chosen & set(result.dropped)
    kept_raw = [r for r in rows if r.id in chosen]
    assert gappy_residue_rows(kept_raw, 0.95) == []  # step 1 holds on the rows that make the frame


def test_cli_filter_pipe(capsys):
    aligned = io.StringIO()
    assert main(["align", str(DATA / "il8.fasta")], stdout=aligned) == 0
    out = io.StringIO()
    args = ["filter", "-", "--column-gap", "0.2", "-f", "stockholm"]
    assert main(args, stdin=io.StringIO(aligned.getvalue()), stdout=out) == 0
    rows = read_alignment(io.StringIO(out.getvalue()), "stockholm")
    assert _gap_fractions(rows).max() <= 0.2
    assert "kept 60 sequences" in capsys.readouterr().err
