"""Render a Nextflow process's `script:` (or `stub:`) block into the bash that Nextflow would run.

Without a Nextflow runtime we still want to know that the command lines of every module work. The modules keep their
scripts simple on purpose so that rendering them here is sound:

- the block is one triple-double-quoted Groovy GString after `script:`/`stub:`; the Groovy `def x = ...` lines
  before it are NOT evaluated: the caller supplies each such variable's value (e.g. args, prefix, model_arg);
- only `${name}`, `${a.b}`, `$name` and `$a.b` placeholders are allowed (Groovy's greedy dotted rule, so
  `$prefix.afa` means the property `prefix.afa` here as in Groovy); any other `${...}` expression is an error;
- Groovy escapes are applied (`\\$` -> `$`, `\\t` -> TAB, `\\\\` -> `\\`, ...), then the common indentation is
  stripped as Nextflow does, and Nextflow's default shell `bash -ue` runs the result.

A placeholder without a supplied value raises KeyError, so a typo in a module fails its test.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(r"\\(.)|\$\{([^}]*)\}|\$(" + _IDENT + r"(?:\." + _IDENT + r")*)", re.DOTALL)
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", "$": "$", "\\": "\\", '"': '"', "'": "'"}


def block(main_nf: str | Path, section: str = "script") -> str:
    """The raw GString text of the `script:` or `stub:` section of the (single) process in main_nf."""
    text = Path(main_nf).read_text()
    start = re.search(r"^\s*" + section + r":\s*$", text, re.MULTILINE)
    if start is None:
        raise ValueError(f"{main_nf}: no {section}: section")
    open_quote = text.index('"""', start.end())
    close_quote = text.index('"""', open_quote + 3)
    return text[open_quote + 3 : close_quote]


def render(gstring: str, values: dict[str, object]) -> str:
    """Substitute the placeholders of a GString with `values` (keys are dotted names) and strip the indentation."""

    def substitute(match: re.Match) -> str:
        escaped, braced, bare = match.groups()
        if escaped is not None:
            if escaped not in _ESCAPES:
                raise ValueError(f"unsupported escape \\{escaped}")
            return _ESCAPES[escaped]
        name = bare if bare is not None else braced.strip()
        if not re.fullmatch(_IDENT + r"(?:\." + _IDENT + r")*", name):
            raise ValueError(f"unsupported GString expression ${{{name}}}: keep module scripts simple")
        return str(values[name])

    return textwrap.dedent(_TOKEN.sub(substitute, gstring)).strip("\n") + "\n"


def render_module(main_nf: str | Path, values: dict[str, object], section: str = "script") -> str:
    """The bash script of a module's process for the given input and variable values."""
    return render(block(main_nf, section), values)
