"""Options of the tools that align or train families, each declared once. They live apart from _cli, which every
command imports, because their choices come from protfam_core.msa, which the inference commands never load."""

from __future__ import annotations

from typing import Annotated

import typer

from protfam_core.msa.aligners import BACKENDS

Backend = Annotated[str, typer.Option("--backend", "-b", help=f"Aligner: {', '.join(BACKENDS)}.")]
