"""Issue 37: what the stage formats, the model cards and the registry promise is checked where they are read, and
the last tracebacks (long sequences, unwritable targets, degenerate results) are one line. Real tools, real models."""

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from protfam_core.errors import InputError, ModelError
from protfam_core.io.fingerprints import Fingerprints, framed_tsv_text, parse_fingerprints
from protfam_core.io.placements import parse_placements
from protfam_core.registry.bundles import chain_bundle, resolve

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "examples" / "queries.fasta"
GALAXY = ROOT / "galaxy_wrappers" / "test-data"


def _run(command: list[str], stdin: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, input=stdin, capture_output="stdout" not in kwargs, text=True, timeout=300, **kwargs)


def _one_line(done: subprocess.CompletedProcess) -> str:
    """The one error line of a failed command (no traceback, non-zero exit)."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def placements() -> str:
    """The README's examples placed and annotated (stages 1 and 2 of the pipe)."""
    placed = _run(["prep-msa", "place", str(QUERIES), "-j", "1"])
    annotated = _run(["predict-ss", "predict", "-", "-j", "1"], stdin=placed.stdout)
    assert annotated.returncode == 0, annotated.stderr
    return annotated.stdout


def _long_fasta(path: Path, length: int) -> Path:
    rng = random.Random(length)
    path.write_text(
        ">short\nMKVLAAGIVGLLLAVSKQRE\n>long\n" + "".join(rng.choices("ACDEFGHIKLMNPQRSTVWY", k=length)) + "\n"
    )
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["classify-cnn", "predict"],
        ["classify-cnn", "predict", "--domains"],
        ["classify-cnn", "predict", "--fast"],
        ["prep-msa", "place"],
        ["predict-ss", "predict"],
    ],
)
def test_a_sequence_over_the_hmm_search_limit_is_refused_before_any_work(tmp_path: Path, command: list[str]):
    fasta = _long_fasta(tmp_path / "long.fasta", 100_001)
    message = _one_line(_run([*command, str(fasta), "-j", "1", "-o", str(tmp_path / "out")]))
    assert "'long' has 100,001 residues, more than 100,000" in message and not (tmp_path / "out").exists()


def test_a_million_residues_and_the_stage_pipe_are_refused_too(tmp_path: Path):
    fasta = _long_fasta(tmp_path / "huge.fasta", 1_000_000)
    assert "1,000,000 residues" in _one_line(_run(["classify-cnn", "predict", str(fasta), "-j", "1"]))
    pipe = f"prep-msa place {fasta} | predict-ss predict - | encode-vae encode - | classify-cnn predict -"
    done = _run(["bash", "-o", "pipefail", "-c", pipe])
    assert done.returncode != 0 and not done.stdout and "1,000,000 residues" in done.stderr


def test_the_frame_search_refuses_a_long_sequence_itself_and_searches_again_after():
    """pyhmmer's own error leaves its worker threads stuck (the next search in the process hung at 0% CPU)."""
    from protfam_core.frames.frameset import FrameSet
    from protfam_core.io.seqio import Record

    frames = FrameSet.load(chain_bundle("frames").file("hmm"))
    rng = random.Random(0)
    queries = [Record(f"q{i}", "".join(rng.choices("ACDEFGHIKLMNPQRSTVWY", k=200))) for i in range(20)]
    long = Record("long", "".join(rng.choices("ACDEFGHIKLMNPQRSTVWY", k=100_001)))
    for call in (lambda: frames.search([*queries, long], cpus=2), lambda: frames.place([long], "ANK")):
        with pytest.raises(InputError, match="'long' has 100,001 residues, more than 100,000"):
            call()
    assert len(frames.search(queries, cpus=2)) == len(queries)


def test_placements_whose_rows_disagree_with_their_frames_are_refused(placements: str):
    first, row = placements.splitlines()[:2]
    match = [i for i, c in enumerate(row) if c.isupper() or c == "-"]
    for edited in (
        row[: match[3]] + row[match[3] + 1 :],  # a match column dropped: the query loses a residue (len=)
        row[: match[3]] + row[match[3]].lower() + row[match[3] + 1 :],  # a match residue made an insertion
        row[: match[3]] + "-" + row[match[3] :],  # a match column added
        row.lower(),  # the whole row lower case
    ):
        text = placements.replace(f"{first}\n{row}\n", f"{first}\n{edited}\n", 1)
        with pytest.raises(InputError):
            parse_placements("t", text)


def test_placements_of_another_frames_version_are_refused_by_the_classifier(tmp_path: Path):
    frames = GALAXY / "frames.hmm"
    placed = _run(["prep-msa", "place", str(GALAXY / "queries.fasta"), "--frames", str(frames), "-j", "1"])
    assert placed.returncode == 0, placed.stderr
    assert len(parse_placements("t", placed.stdout)) == 4  # read against the frames it names
    out = tmp_path / "calls.tsv"
    message = _one_line(_run(["classify-cnn", "predict", "-", "-j", "1", "-o", str(out)], stdin=placed.stdout))
    assert f"made in frames {frames}" in message and chain_bundle("frames").ref in message and not out.exists()


def _framed() -> str:
    fps = Fingerprints(
        ["q1", "q1", "q2"],
        np.vstack([np.linspace(-1, 1, 90), np.linspace(1, -1, 90), np.full(90, np.nan)]),
        "vae/2",
        ("il8", "kringle", None),
        np.array([1e-20, 0.5, np.nan]),
        np.array([[0, 3, 60], [0, 10, 20], [0, 0, 0]]),
        str(GALAXY / "frames.hmm"),
    )
    return framed_tsv_text(fps)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("\t1e-20\t", "\tnan\t"), "not a finite E-value"),
        (lambda t: t.replace("\t1e-20\t", "\tinf\t"), "not a finite E-value"),
        (lambda t: t.replace("\t1e-20\t", "\t-inf\t"), "not a finite E-value"),
        (lambda t: t.replace("\t1e-20\t", "\t-1e-05\t"), "not a finite E-value"),
        (lambda t: t.replace("\t1e-20\tNA\t", "\t1e-20\tinf\t"), "not a finite bit score"),
        (lambda t: t.replace("\tevalue\tbits\tlength\thmm_from\thmm_to\t", "\tevalue\t"), "a draft without bits"),
        (lambda t: t.replace("\t1e-20\tNA\t0\t", "\t1e-20\tNA\t59\t"), "not a query length >= end"),
        (lambda t: t.replace("\t1e-20\tNA\t0\t0\t0\t", "\t1e-20\tNA\t0\t5\t2\t"), "are not columns of il8"),
        (lambda t: t.replace("\t1e-20\tNA\t0\t0\t0\t", "\t1e-20\tNA\t0\t1\t999\t"), "are not columns of il8"),
        (lambda t: t.replace("\t3\t60\t", "\t60\t3\t"), "start 60 and end 3 are not a domain"),
        (lambda t: t.replace("\til8\t", "\tNoSuchFrame\t"), "'NoSuchFrame' is not one of the frames"),
        (lambda t: t.replace("protfam-fingerprints 2;", "protfam-fingerprints 3;"), "format 3 \\(from a newer"),
        (
            lambda t: t.replace("# protfam-fingerprints 2;", "# model vae/2;").replace(" model vae/2;", "", 1),
            "format 1",
        ),
        (lambda t: t.replace("# end: 3 rows\n", ""), "without their '# end: N rows' line"),
        (lambda t: t.replace("# end: 3 rows", "# end: 4 rows"), "rows are missing or added"),
        (lambda t: t[: t.index("\nq2")] + "\n", "stream is cut short"),
    ],
)
def test_fingerprint_tables_break_their_contract_with_one_error(edit, message: str):
    text = _framed()
    assert parse_fingerprints("t", text).frames == ("il8", "kringle", None)
    with pytest.raises(InputError, match=message):
        parse_fingerprints("t", edit(text))


def _bundle_copy(tmp_path: Path, kind: str) -> Path:
    folder = tmp_path / kind
    shutil.copytree(resolve(None, kind).path, folder)
    return folder


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c.pop("families"), "'families'"),
        (lambda c: c.update(threshold="high"), "'threshold' is not a number"),
        (lambda c: c.update(families="ANK"), "'families' is not a non-empty list"),
        (lambda c: c.update(domain_evalue=None), "'domain_evalue' is not a number"),
    ],
)
def test_a_malformed_cnn_card_is_one_line_naming_the_file_and_the_field(tmp_path: Path, change, field: str):
    folder = _bundle_copy(tmp_path, "cnn")
    card = json.loads((folder / "model.json").read_text())
    change(card)
    (folder / "model.json").write_text(json.dumps(card))
    message = _one_line(_run(["classify-cnn", "predict", str(QUERIES), "--model", str(folder), "-j", "1"]))
    assert str(folder / "model.json") in message and field in message
    with pytest.raises(ModelError, match="malformed model card"):
        resolve(str(folder), "cnn")


@pytest.mark.parametrize(
    ("manifest", "field"),
    [
        ({"format": 1, "defaults": ["cnn"], "models": {}}, "'defaults' is not a map"),
        ({"format": 1, "defaults": {}, "models": {"vae": {"kind": "vae", "versions": "2"}}}, "'versions'"),
        ({"format": 1, "defaults": {}, "models": {"vae": {"kind": "vae", "aliases": ["x"]}}}, "'aliases'"),
    ],
)
def test_a_malformed_manifest_is_one_line_naming_the_file_and_the_field(tmp_path: Path, manifest: dict, field: str):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    env = {**_no_store(), "PROTFAM_REGISTRY": str(tmp_path)}
    for command in (["protfam-registry", "list"], ["classify-cnn", "predict", str(QUERIES)]):
        message = _one_line(_run(command, env=env))
        assert str(tmp_path / "manifest.json") in message and field in message


def _no_store() -> dict[str, str]:
    """The environment without an MLflow store configured: the shipped registry alone answers."""
    return {k: v for k, v in os.environ.items() if k not in ("PROTFAM_TRACKING_URI", "MLFLOW_TRACKING_URI")}


def test_a_registry_folder_that_does_not_exist_is_no_empty_listing(tmp_path: Path):
    env = {**_no_store(), "PROTFAM_REGISTRY": str(tmp_path / "nonexistent")}
    done = _run(["protfam-registry", "list", "--shipped-only"], env=env)
    assert "does not exist" in _one_line(done) and not done.stdout


def test_unwritable_targets_are_one_line(tmp_path: Path):
    with open("/dev/full", "w") as full:
        assert "No space left" in _one_line(_run(["protfam-registry", "list"], stdout=full, stderr=subprocess.PIPE))
        done = _run(["protfam-registry", "show", "vae/2"], stdout=full, stderr=subprocess.PIPE)
        assert "No space left" in _one_line(done)
    # /sys refuses new folders even to root (read-only in a container): the export leaves nothing behind
    assert "cannot write" in _one_line(_run(["protfam-registry", "export", "vae/2", "/sys/protfam-test/vae"]))
    index = ["fingerprint-search", "index", "build", str(GALAXY / "fingerprints.tsv"), "-j", "1", "-o"]
    assert _run([*index, "/dev/null"]).returncode == 0  # the zip is made in memory: a device needs no seek
    assert "No space left" in _one_line(_run([*index, "/dev/full"]))


@pytest.mark.parametrize("text", [">a\n----\n>b\n----\n", ">a\n>b\n"])
def test_a_filter_that_leaves_no_column_is_an_error(tmp_path: Path, text: str):
    out = tmp_path / "out.afa"
    message = _one_line(_run(["prep-msa", "filter", "-", "-o", str(out)], stdin=text))
    assert "column" in message and not out.exists()
