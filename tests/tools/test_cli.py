"""What every tool shares: --version, --threads, streams handed down, and inference that never imports torch."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from protfam_tools import classify_cnn, encode_vae, fingerprint_search, predict_ss, prep_msa, registry

from protfam_core import __version__
from protfam_core.registry.defaults import default_model_lines

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "examples" / "queries.fasta"
MINI = ROOT / "tests" / "data" / "mini"
AUTHORS = ROOT / "tests" / "data" / "fingerprints"
TOOLS = {
    "prep-msa": prep_msa,
    "predict-ss": predict_ss,
    "encode-vae": encode_vae,
    "classify-cnn": classify_cnn,
    "fingerprint-search": fingerprint_search,
    "protfam-registry": registry,
}
# The five stage tools and the commands whose work parallelises.
THREADED = [
    ("prep-msa", ["align"]),
    ("prep-msa", ["place"]),
    ("prep-msa", ["build"]),
    ("predict-ss", ["predict"]),
    ("encode-vae", ["encode"]),
    ("classify-cnn", ["predict"]),
    ("fingerprint-search", ["search"]),
]


@pytest.mark.parametrize("prog", list(TOOLS))
def test_every_tool_answers_version_with_the_default_models(prog: str):
    out = io.StringIO()
    assert TOOLS[prog].main(["--version"], stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == f"{prog} {__version__}"
    assert lines[1:] == default_model_lines(prog)  # what each names: tests/test_packaging.py


@pytest.mark.parametrize(("prog", "command"), THREADED)
def test_stage_tools_document_threads(prog: str, command: list[str], capsys):
    rc = TOOLS[prog].main([*command, "--help"], stdout=io.StringIO())
    help_text = capsys.readouterr().out
    words = " ".join(help_text.replace("│", " ").split())
    assert rc == 0 and "--threads -j" in words and "(0 = all available cores)" in words


def test_threads_do_not_change_the_calls():
    outputs = []
    for threads in ("1", "2", "0"):
        out = io.StringIO()
        assert classify_cnn.main(["predict", str(QUERIES), "--top-k", "2", "-j", threads], stdout=out) == 0
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1] == outputs[2]


def test_negative_threads_is_a_usage_error(capsys):
    assert classify_cnn.main(["predict", str(QUERIES), "--threads", "-1"], stdout=io.StringIO()) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--threads" in err[0]


def test_errors_and_messages_go_to_the_stderr_handed_in():
    err = io.StringIO()
    rc = classify_cnn.main(["predict", "-"], stdout=io.StringIO(), stderr=err, stdin=io.StringIO(""))
    assert rc == 2 and err.getvalue().startswith("classify-cnn: error: ") and len(err.getvalue().splitlines()) == 1


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory) -> dict[str, str]:
    """An environment in which `import torch` fails, as it does where the [train] extra is not installed."""
    shadow = tmp_path_factory.mktemp("no_torch")
    (shadow / "torch").mkdir()
    (shadow / "torch" / "__init__.py").write_text("raise ImportError('torch is not installed here')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")]))
    check = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True)
    assert check.returncode != 0 and "torch is not installed here" in check.stderr
    return env


def _tool(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), env=env, capture_output=True, text=True, cwd=cwd, timeout=600)


def test_inference_runs_where_torch_cannot_be_imported(no_torch: dict[str, str], tmp_path: Path):
    calls = _tool(no_torch, "classify-cnn", "predict", str(QUERIES))
    assert calls.returncode == 0, calls.stderr
    assert calls.stdout == _tool(dict(os.environ), "classify-cnn", "predict", str(QUERIES)).stdout

    ss = _tool(no_torch, "predict-ss", "predict", str(QUERIES), "--format", "tsv")
    assert ss.returncode == 0 and ss.stdout.count("\n") > 100, ss.stderr

    placed = _tool(no_torch, "prep-msa", "place", str(QUERIES), "--family", "tln", "-o", str(tmp_path / "tln.afa"))
    assert placed.returncode == 0, placed.stderr
    fps = _tool(no_torch, "encode-vae", "encode", str(tmp_path / "tln.afa"), "-o", str(tmp_path / "fp.tsv"))
    assert fps.returncode == 0 and (tmp_path / "fp.tsv").stat().st_size > 0, fps.stderr

    args = ["--dataset", str(MINI), "--out", str(tmp_path / "report"), "--cache", str(tmp_path / "cache")]
    report = _tool(no_torch, "encode-vae", "report", *args)
    assert report.returncode == 0, report.stderr
    assert "aa_residue_accuracy" in json.loads((tmp_path / "report" / "metrics.json").read_text())

    index = _tool(no_torch, "fingerprint-search", "index", "build", str(AUTHORS), "-o", str(tmp_path / "a.fpi"))
    assert index.returncode == 0, index.stderr
    query = str(AUTHORS / "ATKA_ATKC.txt")
    hits = _tool(no_torch, "fingerprint-search", "search", query, "-i", str(tmp_path / "a.fpi"))
    assert hits.returncode == 0 and "\tATKA_ATKC\t" in hits.stdout, hits.stderr


def test_a_missing_optional_part_is_one_line_naming_the_extra():
    from protfam_core.errors import ToolMissingError, require

    require("report", "numpy")  # installed: nothing happens
    with pytest.raises(ToolMissingError, match=r"needs no_such_module_x: pip install 'protfam\[report\]'"):
        require("report", "numpy", "no_such_module_x")
