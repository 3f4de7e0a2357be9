"""Static validation of nextflow/: the Nextflow language server and reftrace pass on the real files and fail on a
deliberately broken copy (so CI would catch a broken module). Tools come from `.ci/nextflow setup` (PyPI)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NEXTFLOW = ROOT / "nextflow"
TOOLS = ROOT / "build" / "nextflow-lint"
MODULES = sorted((NEXTFLOW / "modules" / "local").glob("*/*/main.nf"))


@pytest.fixture(scope="module")
def lint_tools() -> Path:
    subprocess.run(["bash", str(ROOT / ".ci" / "nextflow"), "setup"], check=True)
    return TOOLS


def lsp(tools: Path, folder: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(NEXTFLOW / "lint" / "lsp_check.py"), "--jar", str(tools / "language-server-all.jar")]
    return subprocess.run([*cmd, "--timeout", "180", str(folder)], capture_output=True, text=True)


def reftrace(tools: Path, folder: Path) -> subprocess.CompletedProcess:
    rules = NEXTFLOW / "lint" / "reftrace_rules.py"
    cmd = [str(tools / "venv" / "bin" / "reftrace"), "lint", "-r", str(rules), "-d", str(folder)]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    """nextflow/ with one undefined name, one bad include and two missing directives."""
    copy = tmp_path / "nextflow"
    shutil.copytree(NEXTFLOW, copy, ignore=shutil.ignore_patterns("lint"))
    place = copy / "modules/local/prepmsa/place/main.nf"
    place.write_text(place.read_text().replace("--frames ${frames}", "--frames ${frame_file}"))
    place.write_text(re.sub(r'\n\s*container "[^"]*"\n', "\n", place.read_text()))
    filt = copy / "modules/local/prepmsa/filter/main.nf"
    filt.write_text(re.sub(r'\n\s*tag ".*"\n', "\n", filt.read_text()))
    main = copy / "main.nf"
    main.write_text(main.read_text().replace("protfam/mergecalls/main", "protfam/mergecals/main"))
    return copy


def test_every_module_is_complete() -> None:
    """nf-core layout: each process has meta.yml and environment.yml, a `versions` topic (eval) and a stub block."""
    assert len(MODULES) >= 5
    for main_nf in MODULES:
        text = main_nf.read_text()
        assert (main_nf.parent / "meta.yml").is_file() and (main_nf.parent / "environment.yml").is_file(), main_nf
        assert 'conda "${moduleDir}/environment.yml"' in text and 'tag "${meta.id}"' in text, main_nf
        assert re.search(r"val\('\w+'\), eval\(.*\), emit: versions_\w+, topic: versions\n", text), main_nf
        assert "\n    stub:\n" in text and "task.ext.prefix" in text, main_nf
        if "PROTFAM_" not in text:  # every protfam tool takes extra options from ext.args
            tool_lines = re.findall(
                r"^    (?:classify-cnn|encode-vae|fingerprint-search|predict-ss|prep-msa) .*$", text, re.M
            )
            unthreaded = ("prep-msa filter", "chain prepare", "chain assemble", "chain publish")  # no threads to use
            threaded = [line for line in tool_lines if not any(cmd in line for cmd in unthreaded)]
            assert tool_lines and all(" --threads ${task.cpus} " in line for line in threaded), main_nf
            assert "def args = task.ext.args ?: ''" in text and "${args}" in text, main_nf


def test_meta_yml_matches_main_nf() -> None:
    """meta.yml documents exactly the process's name, inputs and named outputs."""
    for main_nf in MODULES:
        text = main_nf.read_text()
        meta = yaml.safe_load((main_nf.parent / "meta.yml").read_text())
        process = re.search(r"^process (\w+) \{", text, re.MULTILINE).group(1)
        assert meta["name"] == process.lower()
        inputs = text.split("\n    input:\n")[1].split("\n    output:\n")[0]
        declared = re.findall(r"(?:val|path)\((\w+)", inputs) + re.findall(r"^\s+path (\w+)$", inputs, re.MULTILINE)
        documented = [next(iter(e)) for item in meta["input"] for e in (item if isinstance(item, list) else [item])]
        assert sorted(declared) == sorted(documented), main_nf
        emits = re.findall(r"emit: (\w+)", text)
        assert list(meta["output"]) == emits, main_nf
        assert list(meta["topics"]) == ["versions"], main_nf


def test_language_server_accepts_every_file(lint_tools: Path) -> None:
    result = lsp(lint_tools, NEXTFLOW)
    n_files = len(list(NEXTFLOW.rglob("*.nf"))) + len(list(NEXTFLOW.rglob("*.config")))
    assert result.returncode == 0, result.stdout
    assert f"lsp_check: {n_files} files, 0 errors" in result.stdout


def unclose(main_nf: Path) -> None:
    """A syntax error: drop the process's closing brace."""
    main_nf.write_text(main_nf.read_text().rstrip().removesuffix("}") + "\n")


def test_language_server_rejects_broken_copy(lint_tools: Path, broken_copy: Path) -> None:
    unclose(broken_copy / "modules/local/prepmsa/align/main.nf")
    result = lsp(lint_tools, broken_copy)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert any("prepmsa/align/main.nf" in e for e in errors), result.stdout
    assert any("prepmsa/place/main.nf" in e and "frame_file" in e for e in errors), result.stdout
    assert any(e.startswith(str(broken_copy / "main.nf")) and "mergecals" in e for e in errors), result.stdout


def test_reftrace_rules(lint_tools: Path, broken_copy: Path) -> None:
    good = reftrace(lint_tools, NEXTFLOW)
    assert good.returncode == 0 and "No issues found" in good.stdout, good.stdout
    bad = reftrace(lint_tools, broken_copy)
    assert bad.returncode == 1
    assert "process 'PREPMSA_PLACE' has no container" in bad.stdout
    assert "process 'PREPMSA_FILTER' has no tag" in bad.stdout
    unclose(broken_copy / "modules/local/prepmsa/align/main.nf")
    unparsable = reftrace(lint_tools, broken_copy)
    assert unparsable.returncode == 1 and "Failed to parse" in unparsable.stdout
