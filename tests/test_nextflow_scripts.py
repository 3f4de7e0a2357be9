"""Run the `script:` and `stub:` block of every Nextflow module under bash, rendered with small real inputs.

No Nextflow runtime exists here, so nextflow/lint/render_script.py renders each block the way Nextflow would (its
rules are in that file) and `bash -ue` runs it in a task-like folder with the inputs staged under their own names.
This proves the command lines Nextflow would run work with the installed tools; it does not run Nextflow itself.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from protfam_core.io.seqio import read_alignment, read_sequences

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "nextflow" / "modules" / "local"
TEST_DATA = ROOT / "galaxy_wrappers" / "test-data"
VERSION_LINE = "protfam: 0.1.0"

sys.path.insert(0, str(ROOT / "nextflow" / "lint"))
from render_script import render, render_module  # noqa: E402


@dataclass
class Case:
    """One module run: staged inputs (name in task dir -> source), GString values, expected output files."""

    module: str
    inputs: dict[str, Path]
    values: dict[str, object]
    outputs: list[str]
    extra: dict[str, object] = field(default_factory=dict)


def run_block(case: Case, workdir: Path, section: str = "script") -> Path:
    workdir.mkdir(parents=True)
    for name, source in case.inputs.items():
        (workdir / name).symlink_to(source)
    process = case.module.upper().replace("/", "_")
    values = {"task.cpus": 1, "task.process": process, "args": "", "prefix": "test", **case.values}
    script = render_module(MODULES / case.module / "main.nf", values, section)
    (workdir / ".command.sh").write_text(script)
    result = subprocess.run(["bash", "-ue", ".command.sh"], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{case.module} {section} failed:\n{script}\n{result.stderr}"
    for name in [*case.outputs, "versions.yml"]:
        assert (workdir / name).is_file(), f"{case.module} {section}: {name} missing"
    versions = (workdir / "versions.yml").read_text()
    assert versions.startswith(f'"{process}":\n') and ("awk" in versions or VERSION_LINE in versions), versions
    return workdir


PREP_CASES = [
    Case("prepmsa/align", {"family.fasta": TEST_DATA / "family.fasta"}, {"fasta": "family.fasta"}, ["test.afa"]),
    Case(
        "prepmsa/filter", {"family.afa": TEST_DATA / "family.afa"}, {"alignment": "family.afa"}, ["test.filtered.afa"]
    ),
    Case(
        "prepmsa/place",
        {"queries.fasta": TEST_DATA / "queries.fasta", "frames.hmm": TEST_DATA / "frames.hmm"},
        {"fasta": "queries.fasta", "frames": "frames.hmm"},
        ["test.afa"],
    ),
    Case(
        "fingerprintsearch/index",
        {"fingerprints.tsv": TEST_DATA / "fingerprints.tsv"},
        {"fingerprints": "fingerprints.tsv"},
        ["test.fpi"],
    ),
]


def test_render_rules() -> None:
    """Groovy's escapes and dotted placeholders, and a refusal of anything more complex."""
    assert render('    echo ${a.b} $c.d \\$(x)\\t"q"\n', {"a.b": 1, "c.d": 2}) == 'echo 1 2 $(x)\t"q"\n'
    with pytest.raises(ValueError, match="unsupported GString expression"):
        render("echo ${x ? 1 : 2}", {})
    with pytest.raises(KeyError):
        render("echo $prefix.afa", {"prefix": "p"})


def test_prepmsa_align_filter(tmp_path: Path) -> None:
    align = run_block(PREP_CASES[0], tmp_path / "align")
    aligned = read_alignment(str(align / "test.afa"))
    raw = read_sequences(str(TEST_DATA / "family.fasta"))
    assert [r.id for r in aligned] == [r.id for r in raw]
    assert len({len(r.seq) for r in aligned}) == 1
    filtered = run_block(
        Case("prepmsa/filter", {"in.afa": align / "test.afa"}, {"alignment": "in.afa"}, PREP_CASES[1].outputs),
        tmp_path / "f",
    )
    rows = read_alignment(str(filtered / "test.filtered.afa"))
    assert 0 < len(rows[0].seq) <= len(aligned[0].seq)


def test_prepmsa_place(tmp_path: Path) -> None:
    task = run_block(PREP_CASES[2], tmp_path / "place")
    headers = [line[1:].split() for line in (task / "test.afa").read_text().splitlines() if line.startswith(">")]
    queries = read_sequences(str(TEST_DATA / "queries.fasta"))
    assert [h[0] for h in headers] == [r.id for r in queries]
    # the test-split queries (2 il8, then 2 kringle) land in their own family's frame
    assert [dict(f.split("=") for f in h[1:])["family"] for h in headers] == ["il8", "il8", "kringle", "kringle"]


def test_fingerprintsearch_index_search(tmp_path: Path) -> None:
    index = run_block(PREP_CASES[3], tmp_path / "index")
    case = Case(
        "fingerprintsearch/search",
        {"query.txt": TEST_DATA / "query_fingerprint.txt", "db.fpi": index / "test.fpi"},
        {"queries": "query.txt", "index": "db.fpi", "args": "-k 3"},
        ["test.hits.tsv"],
    )
    task = run_block(case, tmp_path / "search")
    rows = [line.split("\t") for line in (task / "test.hits.tsv").read_text().splitlines() if line[0] != "#"]
    rows = [r for r in rows if r[0] != "query_id"]
    assert [r[1] for r in rows] == ["1", "2", "3"]
    assert [float(r[3]) for r in rows] == sorted(float(r[3]) for r in rows)


def test_every_stub_writes_its_outputs(tmp_path: Path) -> None:
    stubs = {
        "prepmsa/align": ["test.afa"],
        "prepmsa/filter": ["test.filtered.afa"],
        "prepmsa/place": ["test.afa"],
        "predictss/predict": ["test.ss", "test.sa"],
        "encodevae/encode": ["test.fingerprints.tsv"],
        "classifycnn/predict": ["test.calls.tsv"],
        "fingerprintsearch/index": ["test.fpi"],
        "fingerprintsearch/search": ["test.hits.tsv"],
        "protfam/mergecalls": ["test.tsv"],
    }
    assert sorted(stubs) == sorted(str(p.parent.relative_to(MODULES)) for p in MODULES.glob("*/*/main.nf"))
    for module, outputs in stubs.items():
        run_block(Case(module, {}, {}, outputs), tmp_path / module.replace("/", "_"), section="stub")


def test_every_module_has_a_script_test() -> None:
    tested = {c.module for c in PREP_CASES} | {"fingerprintsearch/search", *MODEL_MODULES}
    assert tested == {str(p.parent.relative_to(MODULES)) for p in MODULES.glob("*/*/main.nf")}


MODEL_MODULES = ["predictss/predict", "encodevae/encode", "classifycnn/predict", "protfam/mergecalls"]


def test_model_modules_chain(tmp_path: Path) -> None:
    """place -> predict-ss -> encode-vae, and classify-cnn on two chunks merged back in input order (shipped models)."""
    queries = TEST_DATA / "queries.fasta"
    place = Case("prepmsa/place", {"q.fasta": queries, "frames.hmm": TEST_DATA / "frames.hmm"}, {}, ["il8.afa"])
    place.values = {"fasta": "q.fasta", "frames": "frames.hmm", "args": "--family il8", "prefix": "il8"}
    placed = run_block(place, tmp_path / "place")
    predict = Case(
        "predictss/predict",
        {"rows.afa": placed / "il8.afa"},
        {"fasta": "rows.afa", "model_arg": "", "args": "--msa"},  # SS/SA of the placed rows, gapped like them
        ["test.ss", "test.sa"],
    )
    ss = run_block(predict, tmp_path / "ss")
    encode = Case(
        "encodevae/encode",
        {"rows.afa": placed / "il8.afa", "q.ss": ss / "test.ss", "q.sa": ss / "test.sa"},
        {"alignment": "rows.afa", "ss": "q.ss", "sa": "q.sa", "model_arg": ""},
        ["test.fingerprints.tsv"],
    )
    fps = run_block(encode, tmp_path / "encode")
    table = [line.split("\t") for line in (fps / "test.fingerprints.tsv").read_text().splitlines() if line[0] != "#"]
    assert table[0][:2] == ["id", "aa1"] and len(table) == 1 + 4 and all(len(r) == 91 for r in table)

    records = read_sequences(str(queries))
    chunks = []
    for i, part in enumerate((records[:2], records[2:]), start=1):
        chunk = tmp_path / f"chunk{i}.fasta"
        chunk.write_text("".join(f">{r.id}\n{r.seq}\n" for r in part))
        case = Case(
            "classifycnn/predict",
            {"c.fasta": chunk},
            {"fasta": "c.fasta", "model_arg": "", "prefix": f"chunk_{i}"},
            [f"chunk_{i}.calls.tsv"],
        )
        chunks.append(run_block(case, tmp_path / f"predict{i}") / f"chunk_{i}.calls.tsv")
    merge = Case(
        "protfam/mergecalls",
        {"chunk_1.calls.tsv": chunks[0], "chunk_2.calls.tsv": chunks[1]},
        {"calls": "chunk_1.calls.tsv chunk_2.calls.tsv", "prefix": "family_calls"},
        ["family_calls.tsv"],
    )
    merged = (run_block(merge, tmp_path / "merge") / "family_calls.tsv").read_text().splitlines()
    data = [line.split("\t")[0] for line in merged if not line.startswith(("#", "query_id\t"))]
    assert data == [r.id for r in records]
    header_lines = [line for line in merged if line.startswith(("#", "query_id\t"))]
    first = [line for line in chunks[0].read_text().splitlines() if line.startswith(("#", "query_id\t"))]
    assert header_lines == first


@pytest.fixture(autouse=True)
def _tools_on_path() -> None:
    assert shutil.which("prep-msa") and shutil.which("fingerprint-search"), "pip install -e . first"
