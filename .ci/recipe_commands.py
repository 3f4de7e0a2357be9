#!/usr/bin/env python3
"""The `test: commands` of recipe/meta.yaml, rendered as conda-build would (its `{% set %}` variables substituted),
one a line, and its `test: source_files`: what tests/test_packaging.py runs in the test environment and .ci/container
runs inside the image, so that the recipe's own test cannot go stale unseen.

    python3 .ci/recipe_commands.py commands      # one shell command a line
    python3 .ci/recipe_commands.py source_files  # the repository files the commands read, one a line
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

RECIPE = Path(__file__).resolve().parents[1] / "recipe" / "meta.yaml"
SET = re.compile(r'^\{%\s*set\s+(\w+)\s*=\s*"([^"]*)"\s*%\}\s*$', re.MULTILINE)
# conda-build's own jinja functions and variables that the test section does not use: left as placeholders.
OTHER = re.compile(r"\{\{.*?\}\}")


def render(text: str) -> dict:
    """The recipe as YAML after substituting its `{% set name = "..." %}` variables (minimal jinja)."""
    variables = dict(SET.findall(text))
    body = SET.sub("", text)
    for name, value in variables.items():
        body = re.sub(r"\{\{\s*" + name + r"\s*\}\}", value, body)
    return yaml.safe_load(OTHER.sub("JINJA", body))


def test_section(path: Path = RECIPE) -> dict:
    return render(path.read_text())["test"]


if __name__ == "__main__":
    key = sys.argv[1] if len(sys.argv) > 1 else "commands"
    print("\n".join(test_section()[key]))
