"""Table 1 metrics, confusion matrix and the Markdown/PNG report."""

from pathlib import Path

import pytest

from protfam_core.cnn.report import (
    UNASSIGNED,
    confusion,
    macro_average,
    markdown,
    overall_accuracy,
    table1,
    write_report,
)

FAMILIES = ["tln", "mmp", "kringle"]
# 4 tln (one called mmp), 3 mmp (one unassigned), 2 kringle (both right)
TRUTH = ["tln", "tln", "tln", "tln", "mmp", "mmp", "mmp", "kringle", "kringle"]
CALLS = ["tln", "tln", "tln", "mmp", "mmp", "mmp", UNASSIGNED, "kringle", "kringle"]


def test_table1_follows_the_papers_definitions():
    rows = {r.family: r for r in table1(TRUTH, CALLS, FAMILIES)}
    tln, mmp = rows["tln"], rows["mmp"]
    assert (tln.precision, tln.recall) == (1.0, 0.75)
    assert tln.f1 == pytest.approx(2 * 0.75 / 1.75)
    assert tln.accuracy == pytest.approx(8 / 9)  # one FN, no FP
    # mmp: TP 2, FP 1 (the tln called mmp), FN 1 (unassigned); unassigned is nobody's false positive
    assert (mmp.precision, mmp.recall) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert mmp.accuracy == pytest.approx(7 / 9)
    assert rows["kringle"].f1 == 1.0
    avg = macro_average(list(rows.values()))
    assert avg.f1 == pytest.approx((tln.f1 + mmp.f1 + 1.0) / 3)
    assert overall_accuracy(TRUTH, CALLS) == pytest.approx(7 / 9)


def test_confusion_has_an_unassigned_column():
    m = confusion(TRUTH, CALLS, FAMILIES)
    assert m.shape == (3, 4)
    assert m.sum() == len(TRUTH)
    assert m[1, 3] == 1 and m[0, 1] == 1 and m[2, 2] == 2


def test_report_files(tmp_path: Path):
    md, png = write_report(tmp_path, TRUTH, CALLS, FAMILIES, "Table 1", "toy protocol")
    text = md.read_text()
    assert "Protocol: toy protocol" in text and "| Average (macro) |" in text
    assert text.count("\n| ") == 2 + len(FAMILIES)  # header row, one row per family, the average
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| tln | 4 | 0.8571 | 1.0000 | 0.7500 | 0.8889 |" in markdown(table1(TRUTH, CALLS, FAMILIES), "t", "p")
