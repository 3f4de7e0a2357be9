"""What users of the conda recipe, the image and the CLI see first: the recipe's own test commands pass, its run
requirements are what the code calls, the licence ships, `--version` names the models each tool really uses, and
every group's `--help` has examples."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from protfam_tools import classify_cnn, encode_vae, fingerprint_search, predict_ss, prep_msa, registry

from protfam_core.registry.bundles import default_refs
from protfam_core.registry.defaults import chain_refs

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "examples" / "queries.fasta"
TOOLS = {
    "prep-msa": prep_msa,
    "predict-ss": predict_ss,
    "encode-vae": encode_vae,
    "classify-cnn": classify_cnn,
    "fingerprint-search": fingerprint_search,
    "protfam-registry": registry,
}
# conda package -> the program the code runs (HMMER's programs are not run: pyhmmer is)
PROGRAMS = {"clustalw": "clustalw", "clustalo": "clustalo", "mafft": "mafft", "mmseqs2": "mmseqs", "dssp": "mkdssp"}
HMMER_PROGRAMS = ("hmmbuild", "hmmsearch", "hmmscan", "hmmalign", "hmmpress", "jackhmmer", "phmmer")


def recipe_test(key: str) -> list[str]:
    """The recipe's `test:` entry, rendered by .ci/recipe_commands.py (the one CI also runs inside the image)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "recipe_commands.py"), key], capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def recipe() -> dict:
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        from recipe_commands import RECIPE, render
    finally:
        sys.path.pop(0)
    return render(RECIPE.read_text())


def run_tool(prog: str, *args: str) -> str:
    out = io.StringIO()
    assert TOOLS[prog].main(list(args), stdout=out) == 0
    return out.getvalue()


# --- the recipe ---------------------------------------------------------------------------------------------------


def test_recipe_test_commands_pass_with_the_installed_tools(tmp_path: Path) -> None:
    """As conda-build runs them: each in bash -e, in a folder holding the source_files, the package's tools on PATH."""
    for rel in recipe_test("source_files"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, tmp_path / rel)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    commands = recipe_test("commands")
    assert any("classify-cnn predict examples/queries.fasta" in c for c in commands)
    for command in commands:
        result = subprocess.run(["bash", "-ec", command], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{command}\n{result.stderr}"


def test_a_stale_recipe_call_would_fail(tmp_path: Path) -> None:
    """The grep form the recipe uses fails on a call that is not in the output (the old Fork_head line)."""
    shutil.copyfile(QUERIES, tmp_path / "queries.fasta")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    stale = 'classify-cnn predict queries.fasta | grep -q "^U6IX09_HYMMI/82-171[[:space:]]Fork_head[[:space:]]"'
    assert subprocess.run(["bash", "-ec", stale], cwd=tmp_path, env=env, capture_output=True).returncode == 1


def test_recipe_run_requirements_are_what_the_code_calls() -> None:
    run = recipe()["requirements"]["run"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    python_deps = {re.sub(r"([<>=])", r" \1", d, count=1) for d in pyproject["dependencies"]}
    assert {r for r in run if not r.startswith("python ")} - set(PROGRAMS) == python_deps
    source = "\n".join(p.read_text() for p in (ROOT / "protfam_core").rglob("*.py"))
    for package, program in PROGRAMS.items():
        assert package in run and f'"{program}"' in source, package
    assert not [p for p in HMMER_PROGRAMS if f'"{p}"' in source]
    assert "hmmer" not in run


def test_the_licence_ships() -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 protfam developers\n")
    about = recipe()["about"]
    assert about["license"] == "MIT" and about["license_file"] == "LICENSE"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]


def test_recipe_is_plain_yaml_after_rendering() -> None:
    """conda-build reads the recipe as YAML after jinja: a tab in a command (the old test line) breaks it."""
    assert "\t" not in (ROOT / "recipe" / "meta.yaml").read_text()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert recipe()["package"] == {"name": "protfam", "version": version}


# --- --version names the models each tool uses --------------------------------------------------------------------


def test_chain_line_is_what_classify_cnn_uses() -> None:
    provenance = run_tool("classify-cnn", "predict", str(QUERIES), "--threads", "1").splitlines()[0]
    used = dict(re.findall(r"(model|frames|vae|ss)=(\S+)", provenance))
    chain = chain_refs()
    assert used == {"model": chain["cnn"], "frames": chain["frames"], "vae": chain["vae"], "ss": chain["ss"]}
    version = run_tool("classify-cnn", "--version").splitlines()
    assert version[1] == "  classifier chain: " + " ".join(f"{role} {ref}" for role, ref in chain.items())
    assert version[2] == f"  default fast model: {default_refs()['fast']} (classify-cnn predict --fast)"


def test_predict_ss_names_its_own_default_and_the_chains(tmp_path: Path) -> None:
    """Sequences in: the registry's default SS model; placements in: the chain's. Both named by --version."""
    first = tmp_path / "one.fasta"
    first.write_text("".join(QUERIES.read_text().splitlines(keepends=True)[:3]))
    own, chain_ss = default_refs()["ss"], chain_refs()["ss"]
    assert own != chain_ss  # ss-predictor/6 and the chain's ss-predictor/5 today: the case --version must explain
    version = run_tool("predict-ss", "--version").splitlines()
    assert f"ss {chain_ss}" in version[1]
    assert version[2] == f"  default ss model: {own} (sequences in; placements in use the chain's {chain_ss})"
    tsv = run_tool("predict-ss", "predict", str(first), "--format", "tsv", "--threads", "1")
    assert tsv.splitlines()[0] == f"# predict-ss model: {own}"
    placed = run_tool("prep-msa", "place", str(first), "--threads", "1")
    annotated = io.StringIO()
    assert predict_ss.main(["predict", "-", "--threads", "1"], stdout=annotated, stdin=io.StringIO(placed)) == 0
    ss_placed = re.search(r" ss=(\S+)", annotated.getvalue()).group(1)
    by_chain = run_tool("predict-ss", "predict", str(first), "--model", chain_ss, "--threads", "1").splitlines()[1]
    by_own = run_tool("predict-ss", "predict", str(first), "--threads", "1").splitlines()[1]
    assert ss_placed == by_chain != by_own


def test_encode_vae_and_fingerprint_search_name_their_defaults() -> None:
    refs = default_refs()
    assert run_tool("encode-vae", "--version").splitlines()[2].startswith(f"  default vae model: {refs['vae']} (")
    assert run_tool("fingerprint-search", "--version").splitlines()[2] == (
        f"  default index model: {refs['index']} (fingerprint-search search)"
    )
    registry_lines = run_tool("protfam-registry", "--version").splitlines()[2:]
    assert [line.split(":")[0] for line in registry_lines] == [f"  default {kind} model" for kind in refs]


# --- examples in every group's help -------------------------------------------------------------------------------

GROUPS = [(prog, []) for prog in TOOLS] + [("fingerprint-search", ["index"])]


@pytest.mark.parametrize(("prog", "group"), GROUPS)
def test_every_group_help_has_examples(prog: str, group: list[str], capsys) -> None:
    assert TOOLS[prog].main([*group, "--help"], stdout=io.StringIO()) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    examples = [line.strip() for line in lines[start + 1 :]]
    examples = examples[: examples.index("")] if "" in examples else examples
    # each example a whole command line (an 80-column terminal wraps none), most of them of this tool
    assert all(e.split()[0] in TOOLS for e in examples), examples
    assert sum(e.startswith(" ".join([prog, *group])) for e in examples) >= 2, examples
