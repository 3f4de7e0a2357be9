"""The shipped chain's calls on the committed examples stay what they were (tests/data/calls/README.md): a change to
how settings, rules or formats are organised must not move a call, a score or an E-value."""

import io
from pathlib import Path

import pytest
from protfam_tools.classify_cnn import main

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "data" / "calls"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["examples/queries.fasta", "--top-k", "3"], "queries_top3.tsv"),
        (["--domains", "examples/multidomain.fasta"], "multidomain_domains.tsv"),
        (["--fast", "examples/queries.fasta"], "queries_fast.tsv"),
    ],
)
def test_the_example_calls_are_unchanged_after_the_provenance_line(args: list[str], expected: str):
    out = io.StringIO()
    assert main(["predict", *[str(ROOT / a) if a.startswith("examples/") else a for a in args], "-j", "1"],
                stdout=out) == 0  # fmt: skip
    got = out.getvalue().splitlines()
    want = (EXPECTED / expected).read_text().splitlines()
    assert got[0].startswith("# classify-cnn ") and len(got) == len(want) > 2
    assert got[1:] == want[1:]
