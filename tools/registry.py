"""protfam-registry: list, show, promote, import and export protfam models (shipped registry/ and MLflow)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from protfam_tools._cli import new_app, run
from rich.console import Console
from rich.table import Table

from protfam_core.io.atomic import output_error, write_stream
from protfam_core.registry import bundles as registry
from protfam_core.registry import tracking

app = new_app(
    "List, inspect, promote, import and export protfam models. Models come from the shipped registry/ folder "
    "($PROTFAM_REGISTRY) and the MLflow registry at $PROTFAM_TRACKING_URI / $MLFLOW_TRACKING_URI (default: "
    "~/.local/share/protfam/mlflow.db).\n\n"
    "Examples:\n"
    "  protfam-registry list\n"
    "  protfam-registry show family-cnn@champion\n"
    "  protfam-registry export vae/2 /data/protfam/vae"
)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, or tsv (the default when piped)")] = "",
    shipped_only: Annotated[bool, typer.Option("--shipped-only", help="do not read the MLflow store")] = False,
) -> None:
    """List every model version with its kind and aliases.

    Examples:
      protfam-registry list
      PROTFAM_TRACKING_URI=http://mlflow.lab:5000 protfam-registry list --format tsv
    """
    rows = registry.list_models(include_store=not shipped_only)
    fmt = fmt or ("table" if ctx.obj.stdout.isatty() else "tsv")
    if fmt not in ("table", "tsv"):
        raise typer.BadParameter("use table or tsv", param_hint="--format")
    header = ("source", "name", "version", "kind", "aliases")
    cells = [(r.source, r.name, r.version, r.kind, ",".join(r.aliases)) for r in rows]
    if fmt == "tsv":
        write_stream("".join("\t".join(line) + "\n" for line in [header, *cells]), ctx.obj.stdout)
        return
    table = Table(*header)
    for line in cells:
        table.add_row(*line)
    try:
        Console(file=ctx.obj.stdout).print(table)
        ctx.obj.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise output_error("stdout", exc) from None


@app.command()
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME, NAME@ALIAS, NAME/VERSION or a bundle folder")],
    kind: Annotated[str | None, typer.Option(help="require this kind (ss, vae, cnn, frames, index)")] = None,
) -> None:
    """Print a model's card (model.json) after verifying its artifacts.

    Examples:
      protfam-registry show family-cnn@champion
      protfam-registry show vae/2 | jq .metrics
    """
    bundle = registry.resolve(ref, kind)
    card = dict(bundle.card, version=bundle.version)
    write_stream(json.dumps(card, indent=2) + "\n", ctx.obj.stdout)
    ctx.obj.log(f"{bundle.ref} from {bundle.source}: {bundle.path}")


@app.command()
def promote(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="registered model name")],
    version: Annotated[str, typer.Argument(help="the version the alias will point at")],
    alias: Annotated[str, typer.Option("--alias", "-a", help="alias to set or move")] = registry.CHAMPION,
    shipped: Annotated[bool, typer.Option("--shipped", help="edit registry/manifest.json instead of MLflow")] = False,
) -> None:
    """Point an alias (default champion) at a model version.

    Examples:
      protfam-registry promote family-cnn 3 --alias champion
      protfam-registry promote vae 2 --alias champion --shipped
    """
    where = registry.promote(name, version, alias, shipped=shipped)
    ctx.obj.log(f"{name}@{alias} -> {version} in {where}")


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    source: Annotated[
        str | None, typer.Argument(help="a registry folder (manifest.json) or one bundle folder; default: shipped")
    ] = None,
) -> None:
    """Register the shipped models (or an exported bundle) in the MLflow store, with their aliases.

    Prints name, bundle version, store version and whether it was imported or already present.

    Examples:
      protfam-registry import
      PROTFAM_TRACKING_URI=http://mlflow.lab:5000 protfam-registry import exported/family-cnn
    """
    rows = registry.import_bundles(source)
    write_stream("".join("\t".join(row) + "\n" for row in rows), ctx.obj.stdout)
    ctx.obj.log(f"{len(rows)} model versions in the MLflow registry at {tracking.tracking_uri()}")


@app.command()
def export(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME, NAME@ALIAS, NAME/VERSION or a bundle folder")],
    dest: Annotated[str, typer.Argument(help="new (or empty) folder to write the bundle to")],
) -> None:
    """Write a verified, self-contained bundle folder (model.json + artifacts), e.g. for Galaxy or Nextflow.

    Examples:
      protfam-registry export family-cnn@champion models/family-cnn
      protfam-registry export vae/2 /data/protfam/vae
    """
    try:
        bundle = registry.export_bundle(ref, dest)
    except OSError as exc:  # a read-only or full target: nothing is left there (the bundle is staged aside)
        raise output_error(dest, exc) from None
    ctx.obj.log(f"exported {bundle.ref} to {bundle.path}")


def main(argv: list[str] | None = None, stdout=None, stderr=None, stdin=None) -> int:
    return run(app, "protfam-registry", argv, stdout, stderr, stdin)


if __name__ == "__main__":
    raise SystemExit(main())
