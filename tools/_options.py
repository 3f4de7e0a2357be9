"""Options of the tools that align or train families, each declared once. They live apart from _cli, which every
command imports, because their choices come from protfam_core.msa, which the inference commands never load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from protfam_core.msa.aligners import BACKENDS
from protfam_core.msa.split import MIN_SPLIT_FAMILY

Backend = Annotated[str, typer.Option("--backend", "-b", help=f"Aligner: {', '.join(BACKENDS)}.")]

# A family set to train a chain from: classify-cnn easy-train and chain prepare (the defaults are TrainSettings').
Families = Annotated[
    list[Path],
    typer.Argument(
        help="A folder of family files, family files, or one Stockholm file of many families (Pfam-A.seed): "
        "FASTA, aligned FASTA, A2M, Stockholm or PIR (*.fasta, .fa, .faa, .fas, .afa, .a2m, .sto, .stk, .sth, .seed, "
        ".pir, .ali, or no suffix, as HOMSTRAD's files), gzipped or not. A file is one family named by the file; a "
        "Stockholm record by its #=GF ID."
    ),
]
Name = Annotated[str, typer.Option("--name", "-n", help="Model name to publish (NAME, NAME-fast, ...).")]
Unknown = Annotated[
    list[Path] | None,
    typer.Option(
        help="Families the model should call unassigned, for calibration only: a folder of family files or "
        "a file (repeatable)."
    ),
]
HoldOut = Annotated[
    int | None,
    typer.Option(min=0, help="Families held out of the model as unknown (default: enough for two unknowns)."),
]
Epochs = Annotated[int | None, typer.Option(min=1, help="Most epochs of every network (default: each's).")]
NetworkMinutes = Annotated[
    float | None, typer.Option("--max-minutes", min=0.0, help="Wall-time bound of each network, in minutes.")
]
MinFamilySize = Annotated[int, typer.Option(min=MIN_SPLIT_FAMILY, help="Smaller families serve as unknown only.")]
PerFamily = Annotated[int, typer.Option(min=MIN_SPLIT_FAMILY, help="At most this many members per family.")]
Ss = Annotated[str | None, typer.Option(help="SS/SA model (default: the registry's).")]
Seed = Annotated[int, typer.Option(help="Seed of the split, the hold-out choice and the networks.")]
