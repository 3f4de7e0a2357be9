"""`classify-cnn easy-train` on six small HOMSTRAD families (tests/data/easy_train: Stockholm, a Pfam-style seed,
aligned FASTA, A2M, FASTA and gzipped FASTA; kunitz cut to 6 members, a family too small for a test member), in a
temporary registry and MLflow store: the chain is trained, calibrated on held-out families, published as `demo` and
used by `predict --model demo`; a rerun skips every stage."""

import gzip
import io
import json
import shutil
from pathlib import Path

import pytest
from protfam_tools.classify_cnn import main
from protfam_tools.prep_msa import main as prep_msa

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.io.placements import format_queries
from protfam_core.io.seqio import format_fasta, read_sequences
from protfam_core.msa.dataset import load_dataset, read_families
from protfam_core.msa.split import SMALL_FAMILY
from protfam_core.registry import tracking
from protfam_core.registry.bundles import chain_bundle, publish, resolve
from protfam_core.workflow.train_chain import STAGES

DATA = Path(__file__).resolve().parents[1] / "data" / "easy_train"
ARGS = ["--name", "demo", "--epochs", "2", "--threads", "1"]
SMALL = 6  # kunitz's members in the trained set: below SMALL_FAMILY, so a validation member and no test member


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The trained chain: (tmp folder, first run's summary, first run's stderr, second run's stderr); the environment
    stays set."""
    tmp = tmp_path_factory.mktemp("easy_train")
    ss = resolve(None, "ss")  # the shipped SS model: the only model the temporary registry starts with
    mp = pytest.MonkeyPatch()
    mp.setenv("PROTFAM_REGISTRY", str(tmp / "registry"))
    mp.setenv("PROTFAM_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    publish(ss.path, root=tmp / "registry")
    families = tmp / "families"
    shutil.copytree(DATA, families)
    kunitz = read_families(DATA / "kunitz.fasta.gz")["kunitz"][:SMALL]
    (families / "kunitz.fasta.gz").write_bytes(gzip.compress(format_fasta(kunitz).encode()))
    runs: list = []
    for _ in range(2):
        err = io.StringIO()
        rc = main(["easy-train", str(families), "--out", str(tmp / "out"), *ARGS], stdout=io.StringIO(), stderr=err)
        assert rc == 0, err.getvalue()
        runs += [json.loads((tmp / "out" / "summary.json").read_text()), err.getvalue()]
    yield tmp, runs[0], runs[1], runs[3]
    mp.undo()


def test_chain_is_trained_calibrated_and_published(trained):
    tmp, summary, first, _ = trained
    assert [s["stage"] for s in summary["stages"]] == list(STAGES)
    held = summary["families"]["held_out"]
    assert len(held) == 2 and set(held) | set(summary["families"]["trained"]) == {
        "SH3", "egf", "fer2", "kunitz", "rrm", "zf-CCHH"}  # fmt: skip
    assert "held out of the model" in summary["calibration"]
    val = summary["validation"]
    assert set(val["per_family"]) == set(summary["families"]["trained"])
    assert all(v["members"] >= 1 for v in val["per_family"].values())  # a 6-member family is validated too
    assert val["accuracy"] >= 0.8
    assert val["families_without_test"] == ["kunitz"] and val["test_families"] == len(val["per_family"]) - 1
    assert val["test_members"] == len(load_dataset(tmp / "out" / "dataset").records("test")) and val["test_accuracy"]
    kunitz = load_dataset(tmp / "out" / "dataset").card["counts"]["per_family"]["kunitz"]
    assert (kunitz["val"], kunitz["test"]) == (1, 0) and kunitz["train"] + kunitz["gap_rule_dropped"] == SMALL - 1
    assert f"families without a test member (fewer than {SMALL_FAMILY} members): 1" in first
    for stage in summary["stages"]:
        assert stage["status"] == "ran" and stage["peak_rss_mb"] > 0 and len(stage["key"]) == 64
    assert "[7/7] publish" in first
    manifest = json.loads((tmp / "registry" / "manifest.json").read_text())
    assert manifest["models"]["demo"]["aliases"] == {"champion": "1"}
    assert manifest["models"]["demo-fast"]["aliases"] == {"champion": "1"}
    assert manifest["defaults"]["cnn"] is None  # a user's chain is named, not made the default
    card = json.loads((tmp / "registry" / "demo" / "1" / "model.json").read_text())
    assert held[0] in card["calibration"]["sets"]["unknown"]


def test_mlflow_has_a_parent_run_with_a_child_per_stage(trained):
    tmp = trained[0]
    client = tracking.client(f"sqlite:///{tmp / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("easy-train").experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 2  # one per easy-train call
    for parent in parents:
        children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert sorted(r.data.tags["mlflow.runName"] for r in children) == sorted(STAGES)
        assert all("seconds" in r.data.metrics and r.data.params["dataset_checksum"] for r in children)
    assert client.get_model_version_by_alias("demo", "champion") is not None


def test_rerun_skips_every_stage(trained):
    tmp, _, _, second = trained
    for n, stage in enumerate(STAGES, 1):
        assert f"[{n}/7] {stage}: inputs and settings unchanged: skipped" in second
    summary = json.loads((tmp / "out" / "summary.json").read_text())
    assert {s["status"] for s in summary["stages"]} == {"skipped"}


def test_published_model_classifies_held_out_members(trained, tmp_path):
    tmp = trained[0]
    ds = load_dataset(tmp / "out" / "dataset")
    queries = tmp_path / "test.fasta"
    queries.write_text("".join(f">{r.id}\n{r.seq}\n" for r in ds.records("test")))
    out = io.StringIO()
    assert main(["predict", "--model", "demo", str(queries), "--threads", "1"], stdout=out) == 0
    rows = [line.split("\t") for line in out.getvalue().splitlines() if not line.startswith(("#", "query_id"))]
    called = {row[0]: row[1] for row in rows}
    truth = dict(zip([r.id for r in ds.records("test")], ds.labels("test"), strict=True))
    assert sum(called[q] == fam for q, fam in truth.items()) >= 0.8 * len(truth)
    held = json.loads((tmp / "out" / "summary.json").read_text())["families"]["held_out"][0]
    out = io.StringIO()
    assert main(["predict", "--model", "demo", str(tmp / "out" / "homstrad_ref" / f"{held}.fasta")], stdout=out) == 0
    calls = [line.split("\t")[1] for line in out.getvalue().splitlines() if not line.startswith(("#", "query_id"))]
    assert calls.count("unassigned") >= len(calls) / 2  # a family the model was not given


def test_place_with_the_model_is_predicts_stage_one(trained, tmp_path, monkeypatch):
    """`prep-msa place --model demo` places in demo's frames under its card's cuts, as `predict --model demo` does:
    the same placements, and the pipe gives predict's rows; without --model it places in the shipped chain's frames."""
    tmp = trained[0]
    held = json.loads((tmp / "out" / "summary.json").read_text())["families"]["held_out"][0]
    queries = tmp_path / "queries.fasta"
    test = load_dataset(tmp / "out" / "dataset").records("test")
    queries.write_text(format_fasta(test) + (tmp / "out" / "homstrad_ref" / f"{held}.fasta").read_text())
    placed = io.StringIO()
    assert prep_msa(["place", str(queries), "--model", "demo", "--threads", "1"], stdout=placed) == 0
    classifier = FamilyClassifier("demo")
    assert placed.getvalue() == format_queries(classifier.place(read_sequences(str(queries))))
    piped, direct = io.StringIO(), io.StringIO()
    assert main(["predict", "-", "--model", "demo"], stdin=io.StringIO(placed.getvalue()), stdout=piped) == 0
    assert main(["predict", str(queries), "--model", "demo"], stdout=direct) == 0
    rows = piped.getvalue().splitlines()[1:]
    assert rows == direct.getvalue().splitlines()[1:] and len(rows) == 1 + len(read_sequences(str(queries)))
    assert {row.split("\t")[1] for row in rows[1:]} - {"unassigned"}  # the pipe calls families, not only unknowns

    def frames(a2m: str) -> set[str]:
        return {w[7:] for line in a2m.splitlines() if line[:1] == ">" for w in line.split() if w[:7] == "frames="}

    monkeypatch.delenv("PROTFAM_REGISTRY")  # the installed registry, whose default chain is the shipped one
    shipped = io.StringIO()
    assert prep_msa(["place", str(queries), "--threads", "1"], stdout=shipped) == 0
    assert frames(placed.getvalue()) == {classifier.frames_bundle.ref}
    assert frames(shipped.getvalue()) == {chain_bundle("frames").ref} != frames(placed.getvalue())


def _bad_inputs(folder: Path) -> dict[str, tuple[list[str], str]]:
    """Each bad input: (easy-train's family arguments, what its one error line says)."""
    one = folder / "one"
    one.mkdir()
    shutil.copy(DATA / "rrm.afa", one)
    (one / "lonely.fasta").write_text(">a\nMKVLAAGIVGLLLAQSPAHA\n")
    twice = folder / "twice"
    shutil.copytree(DATA, twice)
    shutil.copy(DATA / "fer2.fa", twice / "SH3.fa")  # the name sh3_domain.sto's #=GF ID gives
    dna = folder / "dna"
    shutil.copytree(DATA, dna)
    (dna / "genes.fasta.gz").write_bytes(gzip.compress(b">g1\nATGGCGTTAGCCGATTACGA\n>g2\nATGGCGTTAGCCGATTACGT\n"))
    junk = folder / "notes.txt"
    junk.write_text("these are my families\n")
    latin1 = folder / "egf.seed"  # a Latin-1 byte where a residue should be (annotation lines may carry them)
    latin1.write_bytes((DATA / "egf.seed").read_bytes().replace(b"1ixa --VDGDQCE", b"1ixa --VDGDQC\xc9", 1))
    pir = folder / "cytc.pir"  # PIR (a description line after each header) without its '*' terminators
    pir.write_text(">P1;1yea\nstructureX:1yea: cytochrome c\nAKESTGFKPGSAKKGATLFK\n>P1;1cyc\nsequence:1cyc\nGDVEKGKK\n")
    return {
        "one sequence": ([str(one)], "family 'lonely' has one sequence"),
        "duplicate": ([str(twice)], "family 'SH3' is given twice"),
        "dna": ([str(dna)], "looks like nucleotide sequences"),
        "no family": ([str(DATA / "rrm.afa"), str(junk)], "not FASTA, A2M, Stockholm"),
        "latin-1 residue": ([str(DATA / "rrm.afa"), str(latin1)], "egf.seed: line 5 is not UTF-8 text (byte 0xc9"),
        "pir without '*'": ([str(DATA / "rrm.afa"), str(pir)], "should include a * terminator"),
    }


@pytest.mark.parametrize(
    "case", ["one sequence", "duplicate", "dna", "no family", "latin-1 residue", "pir without '*'"]
)
def test_bad_input_is_one_line_and_writes_nothing(case, tmp_path, monkeypatch):
    monkeypatch.setenv("PROTFAM_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("PROTFAM_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    sources, message = _bad_inputs(tmp_path)[case]
    err = io.StringIO()
    assert main(["easy-train", *sources, "--out", str(tmp_path / "out"), *ARGS], stderr=err) == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    for written in ("out", "registry", "mlflow.db"):
        assert not (tmp_path / written).exists()


def test_unknown_takes_a_folder(tmp_path, monkeypatch):
    """`--unknown FOLDER` reads the folder's families, in `chain prepare` and easy-train alike (the same option)."""
    monkeypatch.setenv("PROTFAM_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("PROTFAM_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    for name in ("fer2.fa", "zf-CCHH.a2m"):
        shutil.copy(DATA / name, unknown)
    trained = [str(DATA / n) for n in ("rrm.afa", "sh3_domain.sto", "egf.seed", "kunitz.fasta.gz")]
    err, out = io.StringIO(), io.StringIO()
    prepare = ["chain", "prepare", *trained, "--unknown", str(unknown), "--name", "demo", "-o", str(tmp_path / "plan")]
    assert main(prepare, stdout=out, stderr=err) == 0, err.getvalue()
    assert "given as unknown: fer2, zf-CCHH" in err.getvalue()
    assert sorted(Path(line).stem for line in out.getvalue().split()) == ["SH3", "egf", "kunitz", "rrm"]
    shutil.copy(DATA / "rrm.afa", unknown)  # now also given to train: refused in one line, nothing written
    err = io.StringIO()
    train = ["easy-train", *trained, "--unknown", str(unknown), "--out", str(tmp_path / "out"), *ARGS]
    assert main(train, stderr=err) == 2
    assert err.getvalue().splitlines() == ["classify-cnn: error: family 'rrm' is given both to train and as unknown"]
    assert not (tmp_path / "out").exists() and not (tmp_path / "registry").exists()
