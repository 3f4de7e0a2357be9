"""Benchmark records and the generated BENCHMARKS.md: the committed text is what the committed records give."""

import json
import subprocess
import sys
from pathlib import Path

from _record import write_record
from report import build, render_question

ROOT = Path(__file__).resolve().parents[2]


def test_benchmarks_md_is_generated_from_the_records():
    assert (ROOT / "BENCHMARKS.md").read_text() == build(plots=False)


def test_record_holds_provenance_and_figures(tmp_path):
    figures = {"sequences": 11, "runs": [{"run": "pipe", "median_wall_s": 1.5}], "rows_identical": True}
    path = write_record("demo", figures, variant="examples", notes="a note", results=tmp_path)
    record = json.loads(path.read_text())
    assert path.parent == tmp_path / "demo" and path.name.endswith(f"-{record['git_commit'][:7]}.json")
    assert record["figures"] == figures and record["source"] == "measured" and record["variant"] == "examples"
    assert record["machine"]["cores"] >= 1 and record["machine"]["memory_gib"] > 0
    assert record["command"].startswith("python ") and record["protfam_version"]
    text = "\n".join(render_question([(ROOT / "benchmarks" / "results" / "demo" / path.name, record)]))
    assert "| sequences | 11 |" in text and "| pipe | 1.5 |" in text and "a note" in text


def test_report_refuses_a_broken_record(tmp_path):
    """A record that is not JSON: one line on stderr, exit 1, nothing written."""
    (tmp_path / "results" / "demo").mkdir(parents=True)
    (tmp_path / "results" / "demo" / "x.json").write_text("{not json")
    out = tmp_path / "B.md"
    report = [sys.executable, str(ROOT / "benchmarks" / "report.py"), "--no-plots", "--out", str(out)]
    done = subprocess.run([*report, "--results", str(tmp_path / "results")], capture_output=True, text=True)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1 and not out.exists()
