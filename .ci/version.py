#!/usr/bin/env python3
"""The package version has one home, pyproject.toml; every artifact that must name it (recipe, image, Nextflow
modules, Galaxy wrappers, the outputs their tests compare against) is listed here.

    python3 .ci/version.py check     # exit 1 and name every artifact that drifted from pyproject's version
    python3 .ci/version.py sync      # write pyproject's version into every artifact
    python3 .ci/version.py list      # the artifact files, one a line

Release: edit `version` in pyproject.toml, run `sync`, commit; tests/test_versions.py runs `check`.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

# (glob, patterns): each pattern's one group is the version; every pattern must match in every file of the glob.
ARTIFACTS: list[tuple[str, tuple[str, ...]]] = [
    ("recipe/meta.yaml", (r'\{% set version = "([^"]+)" %\}',)),
    ("container/Dockerfile", (r"protfam/protfam:(\S+)", r"ARG PROTFAM_VERSION=(\S+)")),
    ("nextflow/modules/local/*/*/main.nf", (r"protfam/protfam:([^'\s]+)'",)),
    ("nextflow/modules/local/*/*/environment.yml", (r"bioconda::protfam=(\S+)",)),
    ("nextflow/nextflow.config", (r"(?m)^\s*version\s*=\s*'([^']+)'",)),
    ("galaxy_wrappers/macros.xml", (r'<token name="@TOOL_VERSION@">([^<]+)</token>',)),
    (
        "galaxy_wrappers/data_manager/data_manager_protfam_models.xml",
        (r'<tool id="data_manager_protfam_models"[^>]* version="([^"+]+)\+galaxy', r'version="([^"]+)">protfam<'),
    ),
    ("galaxy_wrappers/protfam_family_calls.ga", (r'"release": "([^"]+)"', r'"tool_version": "([^"+]+)\+galaxy')),
    ("galaxy_wrappers/test-data/family_calls*.tsv", (r"(?m)^# classify-cnn (\S+)\t",)),
    ("README.md", (r"(?m)^# classify-cnn (\S+)\t",)),
]
# Modules whose tool is not protfam (protfam/mergecalls runs awk) have no bioconda::protfam pin.
NOT_PINNED = {"nextflow/modules/local/protfam/mergecalls/environment.yml"}


def package_version(root: Path) -> str:
    """The one version: [project] version of pyproject.toml."""
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def artifact_files(root: Path) -> list[tuple[Path, tuple[str, ...]]]:
    """Every artifact file with its patterns; a glob that matches nothing is an error (a moved file)."""
    out = []
    for pattern, regexes in ARTIFACTS:
        files = sorted(p for p in root.glob(pattern) if p.relative_to(root).as_posix() not in NOT_PINNED)
        if not files:
            raise SystemExit(f"version.py: no file matches {pattern} (moved? update .ci/version.py)")
        out += [(path, regexes) for path in files]
    return out


def drift(root: Path, version: str) -> list[str]:
    """One line per artifact pattern that is missing or names another version."""
    problems = []
    for path, regexes in artifact_files(root):
        text = path.read_text()
        for regex in regexes:
            found = re.findall(regex, text)
            rel = path.relative_to(root)
            if not found:
                problems.append(f"{rel}: no version where {regex!r} expects one")
            elif any(v != version for v in found):
                problems.append(f"{rel}: {', '.join(sorted(set(found) - {version}))} instead of {version}")
    return problems


def _with_version(match: re.Match, version: str) -> str:
    """The matched text with its version group replaced."""
    text, start = match.group(0), match.start(0)
    return text[: match.start(1) - start] + version + text[match.end(1) - start :]


def sync(root: Path, version: str) -> list[Path]:
    """Write `version` into every artifact; return the files changed."""
    changed = []
    for path, regexes in artifact_files(root):
        text = new = path.read_text()
        for regex in regexes:
            new = re.sub(regex, lambda m: _with_version(m, version), new)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return sorted(set(changed))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("check", "sync", "list"))
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="repository root")
    args = parser.parse_args()
    root = args.root.resolve()
    version = package_version(root)
    if args.action == "list":
        print("\n".join(sorted({str(p.relative_to(root)) for p, _ in artifact_files(root)})))
        return 0
    if args.action == "sync":
        for path in sync(root, version):
            print(f"{path.relative_to(root)}: now {version}")
    problems = drift(root, version)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(
            f"version.py: {len(problems)} artifacts drifted from pyproject.toml's {version}; run: python3 "
            ".ci/version.py sync",
            file=sys.stderr,
        )
        return 1
    print(f"every artifact names version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
