"""fingerprint-search: nearest fingerprints by any of the authors' metrics; exact and FAISS indexes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Annotated

import numpy as np
import typer
from protfam_tools._cli import Out, Threads, new_app, run
from protfam_tools._fingerprint_search_index import IdsOpt, index_app, read_input

from protfam_core.errors import InputError
from protfam_core.io.atomic import write_text
from protfam_core.io.fingerprints import Fingerprints, concat, format_tsv
from protfam_core.search.distances import METRICS, pairwise
from protfam_core.search.hits import check_queries, format_hits, open_target, read_weights
from protfam_core.search.index import FingerprintIndex
from protfam_core.threads import resolve_threads

app = new_app(
    "Search and compare 30-float fingerprints (VAE latent spaces), compatible with the authors' compbiolab-CLI.\n\n"
    "Examples:\n"
    "  encode-vae encode placed.a2m | fingerprint-search search -\n"
    "  fingerprint-search search new.txt --db Latent_spaces/ -m cosine -k 1\n"
    "  fingerprint-search compare ATKA_ATKC.txt CDSA_RSEP.txt -m cosine"
)
app.add_typer(index_app, name="index")

MetricOpt = Annotated[
    str | None, typer.Option("--metric", "-m", help=f"Distance metric: {', '.join(METRICS)}. Default: the index's.")
]
POpt = Annotated[float, typer.Option("--p", "-p", help="p of the Minkowski metric (any p > 0).")]
WeightsOpt = Annotated[
    Path | None,
    typer.Option("--weights", "-w", help="Per-dimension weights for (weighted) Minkowski: one float a line."),
]


@app.command()
def search(
    ctx: typer.Context,
    queries: Annotated[list[str], typer.Argument(help="Query fingerprints: authors' files, TSV, .npy or '-'.")],
    index: Annotated[
        str | None,
        typer.Option(
            "--index", "-i", help="Index file or index model (default: the shipped family index of the shipped VAE)."
        ),
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Search these fingerprints directly: a folder, TSV or .npy.")
    ] = None,
    metric: MetricOpt = None,
    p: POpt = 2.0,
    weights: WeightsOpt = None,
    k: Annotated[int, typer.Option("-k", help="Number of nearest fingerprints per query.")] = 5,
    exact: Annotated[bool, typer.Option("--exact", help="Scan all fingerprints even if the index has FAISS.")] = False,
    ef_search: Annotated[int | None, typer.Option(help="HNSW search breadth (FAISS hnsw indexes).")] = None,
    nprobe: Annotated[int | None, typer.Option(help="Lists visited per query (FAISS ivf indexes).")] = None,
    ids: IdsOpt = None,
    out: Out = "-",
    threads: Threads = 0,
) -> None:
    """The k nearest fingerprints of each query: TSV query_id, rank, target_id, distance.

    Fingerprints of placed queries (encode-vae encode on placements) are searched per placement, with a `frame`
    column after query_id; queries without a placement have no fingerprint and no rows. Without --index or --db the
    shipped family index is searched (one mean fingerprint per family, from the shipped VAE).

    With --db DIR the folder is searched directly (e.g. the authors' Latent_spaces/); `-k 1` then gives what the
    authors' `search lat` prints. An index with FAISS answers euclidean, cosine or inner_product at scale (distances
    re-scored exactly); every other metric, weights or --exact scans all fingerprints.

    Examples:
      prep-msa place q.fasta | encode-vae encode - | fingerprint-search search -
      fingerprint-search search new.txt --db Latent_spaces/ -m cosine -k 1
      fingerprint-search search queries.tsv -i families.fpi -k 10 -o hits.tsv
      encode-vae encode ... -o - | fingerprint-search search - -i seqs.fpi -m minkowski --p 3 --weights w.txt
    """
    idx, label = open_target(index, db, ctx.obj.stdin)
    metric = metric or idx.metric
    q = concat([read_input(s, idx.dim, ctx.obj.stdin, ids) for s in queries])
    check_queries(q, idx)
    with ctx.obj.progress(transient=True, hide=len(q) < 10_000) as bar:
        task = bar.add_task("searching", total=len(q))
        res = idx.search(
            q.vectors, k, metric, p=p, weights=read_weights(weights, idx.dim), exact=exact, ef_search=ef_search,
            nprobe=nprobe, on_block=lambda n: bar.advance(task, n), threads=resolve_threads(threads),
        )  # fmt: skip
    undefined = int(np.sum(res.indices[:, 0] < 0))
    if undefined:
        ctx.obj.log(f"note: {undefined} queries have no defined {metric} distance to any target (e.g. a constant "
                     "fingerprint under correlation); they get no rows")  # fmt: skip
    write_text(format_hits(q, idx, res, label, metric, _p_note(metric, p, weights)), out, ctx.obj.stdout)


def _p_note(metric: str, p: float, weights: Path | None) -> str:
    note = f" p={p:g}" if metric == "minkowski" else ""
    return note + (f" weights={weights}" if weights else "")


def _operand(arg: str, idx: FingerprintIndex | None, dim: int | None, ids: Path | None, stdin: IO) -> Fingerprints:
    if idx is not None and not Path(arg).exists() and arg != "-":
        return idx.get(arg)
    if arg != "-" and not Path(arg).exists():
        raise InputError(f"{arg}: no such file" + ("" if idx else " (give --index to compare names in an index)"))
    return read_input(arg, dim, stdin, ids)


@app.command()
def compare(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="Fingerprint file, or a name in --index.")],
    b: Annotated[str, typer.Argument(help="Fingerprint file, or a name in --index.")],
    metric: Annotated[
        str, typer.Option("--metric", "-m", help=f"Distance metric: {', '.join(METRICS)}.")
    ] = "euclidean",
    p: POpt = 2.0,
    weights: WeightsOpt = None,
    index: Annotated[Path | None, typer.Option("--index", "-i", help="Index whose names A and B may be.")] = None,
    ids: IdsOpt = None,
    out: Out = "-",
) -> None:
    """Distance between fingerprints A and B (every pair if a file holds several): TSV a, b, metric, distance.

    Examples:
      fingerprint-search compare Latent_spaces/ATKA_ATKC.txt Latent_spaces/CDSA_RSEP.txt -m cosine
      fingerprint-search compare ATKA_ATKC CDSA_RSEP -i authors.fpi -m minkowski --p 0.5
    """
    idx = FingerprintIndex.load(index) if index else None
    dim = idx.dim if idx else None
    fa = _operand(a, idx, dim, ids, ctx.obj.stdin)
    fb = _operand(b, idx, dim or fa.dim, ids, ctx.obj.stdin)
    d = pairwise(fa.vectors, fb.vectors, metric, p, read_weights(weights, fa.dim))
    lines = ["a\tb\tmetric\tdistance"]
    lines += [f"{x}\t{y}\t{metric}\t{float(d[i, j])!r}" for i, x in enumerate(fa.ids) for j, y in enumerate(fb.ids)]
    write_text("\n".join(lines) + "\n", out, ctx.obj.stdout)


@app.command("list")
def list_(
    ctx: typer.Context,
    index: Annotated[Path, typer.Argument(help="Index file.")],
    names: Annotated[bool, typer.Option("--names/--no-names", help="Also print every fingerprint's id.")] = True,
    vectors: Annotated[
        bool, typer.Option("--vectors", help="Print the fingerprints too, as TSV (id + floats).")
    ] = False,
) -> None:
    """What an index holds: its metadata as '# key: value' lines, then one fingerprint id (or TSV row) per line.

    Examples:
      fingerprint-search list families.fpi
      fingerprint-search list seqs.fpi --no-names
      fingerprint-search list families.fpi --vectors > families.tsv
    """
    idx = FingerprintIndex.load(index)
    lines = [f"# {key}: {v if isinstance(v, str) else json.dumps(v)}" for key, v in idx.meta.items()]
    if vectors:
        lines.append(format_tsv(Fingerprints(idx.ids, idx.vectors)).rstrip("\n"))
    elif names:
        lines += idx.ids
    write_text("\n".join(lines) + "\n", "-", ctx.obj.stdout)


def main(argv: list[str] | None = None, stdout=None, stderr=None, stdin=None) -> int:
    return run(app, "fingerprint-search", argv, stdout, stderr, stdin)


if __name__ == "__main__":
    raise SystemExit(main())
