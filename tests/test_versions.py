"""One version, pyproject.toml's: every artifact that names it (recipe, image, Nextflow modules, Galaxy wrappers and
the outputs their tests compare against; .ci/version.py lists them) agrees, and a new version written there reaches
every one of them through `.ci/version.py sync`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import protfam_core

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "version.py"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def version_py(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--root", str(root)], capture_output=True, text=True, timeout=60
    )


def test_every_artifact_names_pyproject_version() -> None:
    result = version_py("check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"every artifact names version {VERSION}"


def test_the_package_reports_pyproject_version() -> None:
    assert protfam_core.__version__ == VERSION


def test_the_artifacts_cover_the_image_recipe_modules_and_wrappers() -> None:
    files = version_py("list").stdout.split()
    modules = [f for f in files if re.fullmatch(r"nextflow/modules/local/[^/]+/[^/]+/main\.nf", f)]
    assert len(modules) == len(list(ROOT.glob("nextflow/modules/local/*/*/main.nf"))) == 15  # 9 classify, 6 train
    assert {
        "recipe/meta.yaml",
        "container/Dockerfile",
        "galaxy_wrappers/macros.xml",
        "nextflow/nextflow.config",
    } <= set(files)


def test_a_new_version_reaches_every_artifact(tmp_path: Path) -> None:
    files = version_py("list").stdout.split()
    for rel in ["pyproject.toml", *files]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, tmp_path / rel)
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    assert f'\nversion = "{VERSION}"\n' in text
    pyproject.write_text(text.replace(f'\nversion = "{VERSION}"\n', '\nversion = "9.8.7"\n', 1))

    drifted = version_py("check", root=tmp_path)
    assert drifted.returncode == 1
    assert {line.split(":")[0] for line in drifted.stderr.splitlines()[:-1]} == set(files)

    synced = version_py("sync", root=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.splitlines()[-1] == "every artifact names version 9.8.7"
    assert all("9.8.7" in (tmp_path / rel).read_text() for rel in files)
    assert version_py("check", root=tmp_path).returncode == 0
