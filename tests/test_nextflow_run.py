"""Nextflow itself runs the pipeline and every module, with the local executor and the installed protfam tools.

Nextflow is the Maven Central one of nextflow/runtime (`nextflow/runtime/nextflow install` fetches it once; a site
with Nextflow uses its own: set NEXTFLOW=/path/to/nextflow). Marker `nextflow`: its own CI step (`.ci/nextflow`),
left out of the plain `pytest` run. Only the CLI commands are used here, never protfam's Python package.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

pytestmark = pytest.mark.nextflow

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "nextflow" / "main.nf"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]  # the one version
TEST_DATA = ROOT / "galaxy_wrappers" / "test-data"
# 50 extHomFam members of each of 8 families, grouped by family (tests/data/pipe/PROVENANCE.md)
KNOWN = ROOT / "tests" / "data" / "pipe" / "known_8x50.fasta.gz"
ALL_MODULES = sorted(
    str(p.parent.relative_to(ROOT / "nextflow" / "modules" / "local"))
    for p in ROOT.glob("nextflow/modules/local/*/*/main.nf")
)
TRAIN_MODULES = [m for m in ALL_MODULES if m.startswith("classifycnn/chain")]  # run by the train mode's tests
MODULES = [m for m in ALL_MODULES if m not in TRAIN_MODULES]  # each run alone by tests/nextflow/modules.nf
EASY_TRAIN = ROOT / "tests" / "data" / "easy_train"  # 6 small HOMSTRAD families
TASK_LINE = re.compile(r"^\[[0-9a-f]{2}/[0-9a-f]{6}\] (Submitted|Cached) process > (\S+)", re.MULTILINE)


@pytest.fixture(scope="session")
def nextflow() -> str:
    if os.environ.get("NEXTFLOW"):
        return os.environ["NEXTFLOW"]
    launcher = ROOT / "nextflow" / "runtime" / "nextflow"
    subprocess.run([str(launcher), "install"], check=True)
    return str(launcher)


def run(nextflow: str, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`nextflow run ARGS` with cwd as launch folder (work/, .nextflow/ and the log go there)."""
    cwd.mkdir(parents=True, exist_ok=True)
    cmd = [nextflow, "run", *args, "-ansi-log", "false"]
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stdout}\n{result.stderr}"
    return result


def tasks(result: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """(Submitted|Cached, process name) of every task line Nextflow printed."""
    return TASK_LINE.findall(result.stdout)


def without_provenance(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    assert lines and lines[0].startswith("# "), lines[:1]
    return lines[1:]


def cli_calls(fasta: Path, out: Path) -> list[str]:
    subprocess.run(["classify-cnn", "predict", str(fasta), "-o", str(out)], check=True)
    return without_provenance(out)


def fasta_ids(path: Path) -> list[str]:
    return [line[1:].split()[0] for line in path.read_text().splitlines() if line.startswith(">")]


def fasta_rows(path: Path) -> dict[str, str]:
    rows: dict[str, str] = {}
    name = None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            rows[name] = ""
        elif name is not None:
            rows[name] += line.strip()
    return rows


def tsv_rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines() if line and not line.startswith("#")]


class UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a mapping with a repeated key (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        assert len(keys) == len(set(keys)), f"repeated keys: {keys}"
        return super().construct_mapping(node, deep=deep)


# --- the pipeline -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def test_profile_run(nextflow: str, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    launch = tmp_path_factory.mktemp("profile_test")
    result = run(nextflow, launch, str(MAIN), "-profile", "test", "--outdir", "results")
    return launch, result


STAGES = ["PREPMSA_PLACE", "PREDICTSS_PREDICT", "ENCODEVAE_ENCODE", "CLASSIFYCNN_PREDICT"]


def test_profile_calls_equal_the_cli(test_profile_run, tmp_path: Path) -> None:
    """Two chunks, each through the four stage processes, merged: the calls of one `classify-cnn predict`."""
    launch, result = test_profile_run
    ran = tasks(result)
    expected = [("Submitted", f"CLASSIFY_CHUNKS:{stage}") for stage in STAGES for _ in range(2)]
    assert sorted(ran) == sorted([*expected, ("Submitted", "PROTFAM_MERGECALLS")]), result.stdout
    merged = without_provenance(launch / "results" / "family_calls.tsv")
    assert merged == cli_calls(TEST_DATA / "queries.fasta", tmp_path / "cli.tsv")
    assert [row.split("\t")[1] for row in merged[1:]] == ["il8", "il8", "kringle", "kringle"]


def test_software_versions_once_per_tool(test_profile_run) -> None:
    launch, _ = test_profile_run
    text = (launch / "results" / "pipeline_info" / "software_versions.yml").read_text()
    versions = yaml.load(text, Loader=UniqueKeyLoader)
    assert set(versions) == {*STAGES, "PROTFAM_MERGECALLS"}, text
    assert all(versions[stage] == {"protfam": VERSION} for stage in STAGES), text
    assert list(versions["PROTFAM_MERGECALLS"]) == ["awk"], text


def test_resume_reuses_every_task(nextflow: str, test_profile_run) -> None:
    launch, first = test_profile_run
    again = run(nextflow, launch, str(MAIN), "-profile", "test", "--outdir", "results", "-resume")
    assert sorted(name for _, name in tasks(again)) == sorted(name for _, name in tasks(first))
    assert {status for status, _ in tasks(again)} == {"Cached"}, again.stdout


def test_chunked_run_equals_the_cli(nextflow: str, tmp_path: Path) -> None:
    """200 sequences (50 of each of the first 4 extHomFam families of the fixture), chunks of 50: 4 chunks x 4 stages,
    calls identical to one CLI run."""
    fasta = tmp_path / "s200.fasta"
    records = gzip.decompress(KNOWN.read_bytes()).decode().split(">")[1:201]
    fasta.write_text("".join(">" + record for record in records))
    assert len(fasta_ids(fasta)) == 200
    result = run(nextflow, tmp_path / "run", str(MAIN), "--input", str(fasta), "--chunk_size", "50", "--outdir", "out")
    names = [name for _, name in tasks(result)]
    assert all(names.count(f"CLASSIFY_CHUNKS:{stage}") == 4 for stage in STAGES), result.stdout
    merged = without_provenance(tmp_path / "run" / "out" / "family_calls.tsv")
    assert merged == cli_calls(fasta, tmp_path / "cli.tsv")
    assert [row.split("\t")[0] for row in merged[1:]] == fasta_ids(fasta)


def test_fast_run_equals_the_cli_fast(nextflow: str, tmp_path: Path) -> None:
    """--fast: one `classify-cnn predict --fast` task per chunk, merged: the calls of one `predict --fast`."""
    result = run(nextflow, tmp_path / "run", str(MAIN), "-profile", "test", "--fast", "--outdir", "out")
    ran = sorted(name for _, name in tasks(result))
    assert ran == ["CLASSIFY_CHUNKS:CLASSIFYCNN_PREDICT"] * 2 + ["PROTFAM_MERGECALLS"], result.stdout
    merged = without_provenance(tmp_path / "run" / "out" / "family_calls.tsv")
    cli = tmp_path / "cli.tsv"
    subprocess.run(["classify-cnn", "predict", "--fast", str(TEST_DATA / "queries.fasta"), "-o", str(cli)], check=True)
    assert merged == without_provenance(cli)
    assert [row.split("\t")[1] for row in merged[1:]] == ["il8", "il8", "kringle", "kringle"]


def test_stub_run(nextflow: str, tmp_path: Path) -> None:
    result = run(nextflow, tmp_path, str(MAIN), "-profile", "test", "-stub-run", "--outdir", "results")
    assert len(tasks(result)) == 2 * len(STAGES) + 1
    assert (tmp_path / "results" / "family_calls.tsv").is_file()
    versions = yaml.load((tmp_path / "results/pipeline_info/software_versions.yml").read_text(), Loader=UniqueKeyLoader)
    assert versions["CLASSIFYCNN_PREDICT"] == {"protfam": VERSION}


def test_run_by_repository_folder(nextflow: str, tmp_path: Path) -> None:
    """`nextflow run <repo>`: the root nextflow.config names nextflow/main.nf as manifest.mainScript."""
    result = run(nextflow, tmp_path, str(ROOT), "-profile", "test", "-stub-run", "--outdir", "results")
    assert "nextflow/main.nf" in result.stdout and len(tasks(result)) == 2 * len(STAGES) + 1
    assert (tmp_path / "results" / "family_calls.tsv").is_file()


def test_bad_chunk_fails_with_the_tools_error(nextflow: str, tmp_path: Path) -> None:
    """The second chunk is nucleotides: the run fails at its first stage and Nextflow's report shows prep-msa's
    one-line error."""
    fasta = tmp_path / "mixed.fasta"
    good = (TEST_DATA / "queries.fasta").read_text().split(">")[1:3]
    fasta.write_text("".join(">" + r for r in good) + ">dna_1\nACGTACGTACGTTGCAACGTACGTAC\n")
    result = run(nextflow, tmp_path / "run", str(MAIN), "--input", str(fasta), "--chunk_size", "2", check=False)
    report = result.stdout + result.stderr
    assert result.returncode != 0, report
    assert "CLASSIFY_CHUNKS:PREPMSA_PLACE (chunk_2)" in report, report
    errors = re.findall(r"^\s*prep-msa: error: .*$", report, re.MULTILINE)
    assert errors and "looks like nucleotide sequences" in errors[0], report
    assert "Traceback" not in report, report
    assert not (tmp_path / "run" / "results" / "family_calls.tsv").exists()


def test_schema_documents_every_parameter() -> None:
    """nextflow_schema.json (nf-core's draft 2020-12 layout) has exactly the params of nextflow.config."""
    schema = json.loads((ROOT / "nextflow" / "nextflow_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate({"input": "q.fasta", "chunk_size": 50}, schema)
    jsonschema.validate({"mode": "train", "families": "fams", "name": "demo", "registry": "/data/registry"}, schema)
    for bad in ({"chunk_size": 0}, {"mode": "predict"}, {"registry": "relative/registry"}, {"name": "-x"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    documented = {name for group in schema["$defs"].values() for name in group["properties"]}
    config = (ROOT / "nextflow" / "nextflow.config").read_text()
    block = config.split("\nparams {\n")[1].split("\n}\n")[0]
    declared = set(re.findall(r"^\s+(\w+)\s+=", block, re.MULTILINE))
    assert documented == declared
    assert [ref["$ref"] for ref in schema["allOf"]] == [f"#/$defs/{name}" for name in schema["$defs"]]


# --- the train mode: a chain trained on 6 families, published, then classifying through the pipeline -----------


@pytest.fixture(scope="module")
def train_run(nextflow: str, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`--mode train` on tests/data/easy_train (1 epoch, SS/SA chunks of 25 members) into a new registry folder, with
    a temporary MLflow store; the launch folder and Nextflow's result."""
    launch = tmp_path_factory.mktemp("train")
    mp = pytest.MonkeyPatch()
    mp.setenv("PROTFAM_TRACKING_URI", f"sqlite:///{launch / 'mlflow.db'}")
    args = ["--mode", "train", "--families", str(EASY_TRAIN), "--name", "demo", "--registry", str(launch / "registry")]
    result = run(nextflow, launch, str(MAIN), "-profile", "test", *args, "--epochs", "1", "--annotate_chunk_size",
                 "25", "--outdir", "out")  # fmt: skip
    yield launch, result
    mp.undo()


def test_train_mode_scatters_and_publishes(train_run) -> None:
    """One prepare, one align task per trained family, one assemble, one SS/SA task per chunk, one training, one
    publish; the chain lands in the registry folder, the summary in <outdir>/train."""
    launch, result = train_run
    names = [name.split(":")[-1] for _, name in tasks(result)]
    summary = json.loads((launch / "out" / "train" / "summary.json").read_text())
    trained = summary["families"]["trained"]
    assert len(trained) == 4 and len(summary["families"]["held_out"]) == 2
    # 50 train and 6 val members: chunks train.0, train.25, val.0
    assert sorted(names) == sorted(["CLASSIFYCNN_CHAINPREPARE", *["CLASSIFYCNN_CHAINALIGN"] * 4,
                                    "CLASSIFYCNN_CHAINASSEMBLE", *["CLASSIFYCNN_CHAINANNOTATE"] * 3,
                                    "CLASSIFYCNN_CHAINTRAIN", "CLASSIFYCNN_CHAINPUBLISH"]), result.stdout  # fmt: skip
    assert {m.replace("/", "_").upper() for m in TRAIN_MODULES} == set(names)
    assert [s["stage"] for s in summary["stages"]] == ["dataset", "vae", "cnn", "calibrate", "fast", "evaluate"]
    assert summary["validation"]["accuracy"] >= 0.8
    published = tsv_rows(launch / "out" / "train" / "demo.published.tsv")
    assert [row[0] for row in published] == ["demo", "demo-fast", "demo-frames", "demo-vae", "ss-predictor"]
    manifest = json.loads((launch / "registry" / "manifest.json").read_text())
    assert manifest["models"]["demo"]["aliases"] == {"champion": manifest["models"]["demo"]["versions"][-1]}
    assert manifest["defaults"]["cnn"] is None  # named, not the registry's default
    versions = yaml.load((launch / "out/pipeline_info/software_versions.yml").read_text(), Loader=UniqueKeyLoader)
    assert set(versions) == set(names) and all(v == {"protfam": VERSION} for v in versions.values())


def test_trained_model_classifies_through_the_pipeline(nextflow: str, train_run) -> None:
    """The classify mode with --registry and --model demo calls the held-out test members of the trained families
    (from the dataset the assemble task wrote) as the command line does with the same registry."""
    launch, _ = train_run
    dataset = next(launch.glob("work/*/*/demo.dataset"))
    manifest = [line.split("\t") for line in (dataset / "manifest.tsv").read_text().splitlines()[1:]]
    truth = {seq_id: fam for seq_id, fam, split in manifest if split == "test"}
    rows = fasta_rows(dataset / "sequences.fasta")
    queries = launch / "test.fasta"
    queries.write_text("".join(f">{q}\n{rows[q]}\n" for q in truth))
    args = ["--input", str(queries), "--registry", str(launch / "registry"), "--model", "demo", "--chunk_size", "3"]
    # its own launch folder: -resume in `launch` resumes the train run
    result = run(nextflow, launch / "classify", str(MAIN), "-profile", "test", *args, "--outdir", "out")
    assert sorted(name for _, name in tasks(result)) == ["CLASSIFY_CHUNKS:CLASSIFYCNN_PREDICT"] * 2 + [
        "PROTFAM_MERGECALLS"], result.stdout  # fmt: skip
    merged = without_provenance(launch / "classify" / "out" / "family_calls.tsv")
    called = {row.split("\t")[0]: row.split("\t")[1] for row in merged[1:]}
    assert list(called) == list(truth)
    assert sum(called[q] == fam for q, fam in truth.items()) >= 0.8 * len(truth), called
    cli = launch / "cli.tsv"
    env = {**os.environ, "PROTFAM_REGISTRY": str(launch / "registry")}
    subprocess.run(["classify-cnn", "predict", "--model", "demo", str(queries), "-o", str(cli)], check=True, env=env)
    assert merged == without_provenance(cli)


def test_train_mode_resume_reuses_every_task(nextflow: str, train_run) -> None:
    launch, first = train_run
    args = ["--mode", "train", "--families", str(EASY_TRAIN), "--name", "demo", "--registry", str(launch / "registry")]
    again = run(nextflow, launch, str(MAIN), "-profile", "test", *args, "--epochs", "1", "--annotate_chunk_size",
                "25", "--outdir", "out", "-resume")  # fmt: skip
    assert sorted(name for _, name in tasks(again)) == sorted(name for _, name in tasks(first))
    assert {status for status, _ in tasks(again)} == {"Cached"}, again.stdout


def test_train_mode_stub_run(nextflow: str, tmp_path: Path) -> None:
    """-stub-run: every train module's stub makes its declared outputs, so the whole train mode runs through."""
    args = ["--mode", "train", "--families", str(EASY_TRAIN), "--name", "demo", "--registry", str(tmp_path / "reg")]
    result = run(nextflow, tmp_path, str(MAIN), "-profile", "test", "-stub-run", *args, "--outdir", "out")
    assert sorted({name.split(":")[-1] for _, name in tasks(result)}) == sorted(
        m.replace("/", "_").upper() for m in TRAIN_MODULES)  # fmt: skip
    assert (tmp_path / "out" / "train" / "demo.published.tsv").is_file()


def test_train_mode_needs_its_parameters(nextflow: str, tmp_path: Path) -> None:
    result = run(nextflow, tmp_path, str(MAIN), "--mode", "train", "--name", "demo", check=False)
    assert result.returncode != 0 and "--families DIR --name NAME --registry /abs/dir" in result.stdout + result.stderr


# --- each module, run by Nextflow on small data ---------------------------------------------------------------


def module_run(nextflow: str, launch: Path, *extra: str) -> Path:
    workflow = ROOT / "tests" / "nextflow" / "modules.nf"
    config = ROOT / "tests" / "nextflow" / "modules.config"
    result = run(nextflow, launch, str(workflow), "-c", str(config), "--outdir", "out", *extra)
    ran = sorted({name.lower() for _, name in tasks(result)})
    assert ran == sorted(m.replace("/", "_") for m in MODULES), result.stdout
    return launch / "out"


@pytest.fixture(scope="module")
def modules_out(nextflow: str, tmp_path_factory) -> Path:
    return module_run(nextflow, tmp_path_factory.mktemp("modules"))


def test_every_module_reports_its_version(modules_out: Path) -> None:
    rows = {tuple(r) for r in tsv_rows(modules_out / "versions.tsv")}
    expected = {(m.upper().replace("/", "_"), "protfam", VERSION) for m in MODULES if m != "protfam/mergecalls"}
    assert expected <= rows
    assert [r[1] for r in rows if r[0] == "PROTFAM_MERGECALLS"] == ["awk"]
    assert len(rows) == len(MODULES)


def test_prepmsa_align(modules_out: Path) -> None:
    aligned = fasta_rows(modules_out / "prepmsa_align" / "family.afa")
    assert list(aligned) == fasta_ids(TEST_DATA / "family.fasta")
    assert len({len(row) for row in aligned.values()}) == 1
    raw = fasta_rows(TEST_DATA / "family.fasta")
    assert all(row.replace("-", "").upper() == raw[name].upper() for name, row in aligned.items())


def test_prepmsa_filter(modules_out: Path) -> None:
    kept = fasta_rows(modules_out / "prepmsa_filter" / "family.filtered.afa")
    source = fasta_rows(TEST_DATA / "family.afa")
    assert kept and set(kept) <= set(source)
    assert 0 < len(next(iter(kept.values()))) <= len(next(iter(source.values())))


def test_prepmsa_place(modules_out: Path) -> None:
    lines = (modules_out / "prepmsa_place" / "queries.a2m").read_text().splitlines()
    headers = [line[1:].split() for line in lines if line.startswith(">")]
    assert [h[0] for h in headers] == fasta_ids(TEST_DATA / "queries.fasta")
    # the test-split queries (2 il8, then 2 kringle) land in their own family's frame
    assert [dict(f.split("=") for f in h[1:])["family"] for h in headers] == ["il8", "il8", "kringle", "kringle"]


def test_predictss_predict(modules_out: Path) -> None:
    """Stage 2 of the pipe: the placements with each query's SS/SA, the same file as the command line's."""
    produced = (modules_out / "predictss_predict" / "queries.ss.a2m").read_text()
    assert produced == (TEST_DATA / "placements_ss.a2m").read_text()
    assert all(" ss=" in line and " sa=" in line for line in produced.splitlines() if line.startswith(">"))


def test_encodevae_encode(modules_out: Path) -> None:
    """Stage 3: framed fingerprints (query_id, frame, domain, start, end, evalue, bits, length, hmm_from,
    hmm_to, 90 floats), as the command line writes them."""
    produced = modules_out / "encodevae_encode" / "queries.fingerprints.tsv"
    table = tsv_rows(produced)
    fixed = ["query_id", "frame", "domain", "start", "end", "evalue", "bits", "length", "hmm_from", "hmm_to"]
    assert table[0][:11] == [*fixed, "aa1"]
    assert table[0][-1] == "sa30"
    assert [r[0] for r in table[1:]] == fasta_ids(TEST_DATA / "queries.fasta")
    assert all(len(r) == 100 for r in table)
    assert produced.read_text() == (TEST_DATA / "fingerprints_placed.tsv").read_text()


def test_classifycnn_predict_and_mergecalls(modules_out: Path, tmp_path: Path) -> None:
    chunks = [tsv_rows(modules_out / "classifycnn_predict" / f"chunk_{i}.calls.tsv") for i in (1, 2)]
    assert [[r[0] for r in c[1:]] for c in chunks] == [
        fasta_ids(TEST_DATA / "queries.fasta")[:2],
        fasta_ids(TEST_DATA / "queries.fasta")[2:],
    ]
    merged = without_provenance(modules_out / "protfam_mergecalls" / "merged.tsv")
    assert merged == cli_calls(TEST_DATA / "queries.fasta", tmp_path / "cli.tsv")


def test_fingerprintsearch_index_and_search(modules_out: Path) -> None:
    assert (modules_out / "fingerprintsearch_index" / "authors.fpi").stat().st_size > 0
    rows = tsv_rows(modules_out / "fingerprintsearch_search" / "query.hits.tsv")
    assert rows[0] == ["query_id", "rank", "target_id", "distance"]
    assert [r[1] for r in rows[1:]] == ["1", "2", "3"]
    distances = [float(r[3]) for r in rows[1:]]
    assert distances == sorted(distances)
    known = {r[0] for r in tsv_rows(TEST_DATA / "fingerprints.tsv")[1:]}
    assert {r[2] for r in rows[1:]} <= known


def test_every_module_stub(nextflow: str, tmp_path: Path) -> None:
    out = module_run(nextflow, tmp_path, "-stub-run")
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert names == {
        "classifycnn_predict/chunk_1.calls.tsv",
        "classifycnn_predict/chunk_2.calls.tsv",
        "encodevae_encode/queries.fingerprints.tsv",
        "fingerprintsearch_index/authors.fpi",
        "fingerprintsearch_search/query.hits.tsv",
        "predictss_predict/queries.ss.a2m",
        "prepmsa_align/family.afa",
        "prepmsa_filter/family.filtered.afa",
        "prepmsa_place/queries.a2m",
        "protfam_mergecalls/merged.tsv",
        "versions.tsv",
    }


@pytest.fixture(autouse=True, scope="module")
def _tools_on_path() -> None:
    missing = [
        t for t in ("classify-cnn", "prep-msa", "predict-ss", "encode-vae", "fingerprint-search") if not shutil.which(t)
    ]
    assert not missing, f"{missing} not on PATH: pip install -e . first"
