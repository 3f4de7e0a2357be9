#!/usr/bin/env python3
"""protfam-smoke-test VERSION: the image's own check, run when it is built and by .ci/container.

The installed package is VERSION (the image's tag), every tool answers, the programs the tools call are on PATH, and
`classify-cnn predict` run from / (no checkout in sight) calls every example query's labelled family: a query of an
unknown family (label `unknown:...`) must come out `unassigned`.
"""

import shutil
import subprocess
import sys
from importlib.metadata import version

QUERIES = "/usr/local/share/protfam/queries.fasta"
TOOLS = ("prep-msa", "predict-ss", "encode-vae", "classify-cnn", "fingerprint-search", "protfam-registry")
PROGRAMS = ("clustalw", "clustalo", "mafft", "mmseqs", "mkdssp", "awk", "ps")


def labels(path: str) -> dict[str, str]:
    """query id -> the family its FASTA header names (family=...)."""
    out = {}
    with open(path) as fasta:
        lines = fasta.read().splitlines()
    for line in lines:
        if line.startswith(">"):
            words = line[1:].split()
            label = next(w for w in words if w.startswith("family=")).removeprefix("family=")
            out[words[0]] = "unassigned" if label.startswith("unknown:") else label
    return out


def main(expected_version: str) -> None:
    installed = version("protfam")
    assert installed == expected_version, f"protfam {installed} is installed, the image is tagged {expected_version}"
    for tool in TOOLS:
        first = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
        assert first == f"{tool} {installed}", first
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    assert not missing, f"not on PATH: {', '.join(missing)}"
    calls = subprocess.run(
        ["classify-cnn", "predict", QUERIES, "--threads", "1"], capture_output=True, text=True, check=True, cwd="/"
    ).stdout
    rows = [line.split("\t") for line in calls.splitlines() if not line.startswith(("#", "query_id\t"))]
    called = {row[0]: row[1] for row in rows}
    expected = labels(QUERIES)
    wrong = {q: (called.get(q), f) for q, f in expected.items() if called.get(q) != f}
    assert not wrong and len(rows) == len(expected), f"calls differ from the labels (called, label): {wrong}"
    print(f"protfam {installed}: every tool answers, {', '.join(PROGRAMS)} on PATH, {len(rows)} calls = labels")


if __name__ == "__main__":
    main(sys.argv[1])
