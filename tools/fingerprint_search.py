"""fingerprint-search: nearest fingerprints by any of the authors' metrics; exact and FAISS indexes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Annotated

import numpy as np
import typer
from protfam_tools._cli import Out, Threads, new_app, run

from protfam_core.errors import InputError, ModelError
from protfam_core.io.atomic import write_text
from protfam_core.io.fingerprints import Fingerprints, concat, format_tsv, read_fingerprints, read_ids
from protfam_core.search.distances import METRICS, pairwise
from protfam_core.search.index import FAISS_KINDS, FingerprintIndex
from protfam_core.threads import resolve_threads

app = new_app(
    "Search and compare 30-float fingerprints (VAE latent spaces), compatible with the authors' compbiolab-CLI.\n\n"
    "Examples:\n"
    "  encode-vae encode placed.a2m | fingerprint-search search -\n"
    "  fingerprint-search search new.txt --db Latent_spaces/ -m cosine -k 1\n"
    "  fingerprint-search compare ATKA_ATKC.txt CDSA_RSEP.txt -m cosine"
)
index_app = new_app(
    "Build fingerprint index files.\n\n"
    "Examples:\n"
    "  fingerprint-search index build Latent_spaces/ -o authors.fpi --faiss hnsw\n"
    "  fingerprint-search index families -d build/dataset -o families.fpi"
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
IdsOpt = Annotated[Path | None, typer.Option("--ids", help="Ids for .npy input, one per line.")]


def _read(source: str, dim: int | None, stdin: IO, ids: Path | None = None) -> Fingerprints:
    return read_fingerprints(source, dim, stdin=stdin, ids=read_ids(ids) if ids else None).placed()


def _weights(path: Path | None, dim: int) -> np.ndarray | None:
    if path is None:
        return None
    fps = read_fingerprints(path, dim)
    if len(fps) != 1:
        raise InputError(f"{path}: weights must be one vector of {dim} floats")
    return fps.vectors[0]


def _target(index: str | None, db: str | None, stdin: IO) -> tuple[FingerprintIndex, str]:
    """--db fingerprints, an --index file or registry model, or (neither) the shipped family index."""
    if index is not None and db is not None:
        raise InputError("give one of --index and --db, not both")
    if db is not None:
        return FingerprintIndex.build(read_fingerprints(db, stdin=stdin), source=str(db)), str(db)
    if index is not None and Path(index).exists():
        return FingerprintIndex.load(index), str(index)
    from protfam_core.registry.bundles import resolve

    bundle = resolve(index, "index")
    return FingerprintIndex.load(bundle.file("index")), bundle.ref


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
    idx, label = _target(index, db, ctx.obj.stdin)
    metric = metric or idx.metric
    q = concat([_read(s, idx.dim, ctx.obj.stdin, ids) for s in queries])
    if not len(q):
        raise InputError("no query has a fingerprint (no candidate frame for any of them)")
    if q.model and idx.meta.get("model") and q.model != idx.meta["model"]:
        raise ModelError(
            f"the queries were made by {q.model}, the index by {idx.meta['model']}: fingerprints of different models "
            f"are not comparable (encode the queries with {idx.meta['model']}, or index with {q.model})"
        )
    w = _weights(weights, idx.dim)
    with ctx.obj.progress(transient=True, hide=len(q) < 10_000) as bar:
        task = bar.add_task("searching", total=len(q))
        res = idx.search(
            q.vectors, k, metric, p=p, weights=w, exact=exact, ef_search=ef_search, nprobe=nprobe,
            on_block=lambda n: bar.advance(task, n), threads=resolve_threads(threads),
        )  # fmt: skip
    undefined = int(np.sum(res.indices[:, 0] < 0))
    if undefined:
        ctx.obj.log(f"note: {undefined} queries have no defined {metric} distance to any target (e.g. a constant "
                     "fingerprint under correlation); they get no rows")  # fmt: skip
    lines = [
        f"# fingerprint-search index={label} metric={metric}{_p_note(metric, p, weights)} mode={res.mode}"
        f" model={idx.meta.get('model') or 'unknown'}",
        "query_id\t" + ("frame\t" if q.frames is not None else "") + "rank\ttarget_id\tdistance",
    ]
    names = q.ids if q.frames is None else [f"{qid}\t{frame}" for qid, frame in zip(q.ids, q.frames, strict=True)]
    for qid, row_i, row_d in zip(names, res.indices, res.distances, strict=True):
        for rank, (i, d) in enumerate(zip(row_i, row_d, strict=True), 1):
            if i >= 0:
                lines.append(f"{qid}\t{rank}\t{idx.ids[i]}\t{float(d)!r}")
    write_text("\n".join(lines) + "\n", out, ctx.obj.stdout)


def _p_note(metric: str, p: float, weights: Path | None) -> str:
    note = f" p={p:g}" if metric == "minkowski" else ""
    return note + (f" weights={weights}" if weights else "")


def _operand(arg: str, idx: FingerprintIndex | None, dim: int | None, ids: Path | None, stdin: IO) -> Fingerprints:
    if idx is not None and not Path(arg).exists() and arg != "-":
        return idx.get(arg)
    if arg != "-" and not Path(arg).exists():
        raise InputError(f"{arg}: no such file" + ("" if idx else " (give --index to compare names in an index)"))
    return _read(arg, dim, stdin, ids)


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
    d = pairwise(fa.vectors, fb.vectors, metric, p, _weights(weights, fa.dim))
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


@index_app.command("build")
def index_build(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="Fingerprints: folders of authors' files, TSV, .npy or '-'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index file to write.")],
    metric: Annotated[
        str, typer.Option("--metric", "-m", help="Default search metric (and the FAISS one).")
    ] = "euclidean",
    faiss_kind: Annotated[
        str | None,
        typer.Option(
            "--faiss", help=f"Add a FAISS index: {', '.join(FAISS_KINDS)}; ivf is the fast one (BENCHMARKS.md)."
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Id of the model that made the fingerprints (name/version).")
    ] = None,
    ids: IdsOpt = None,
    hnsw_m: Annotated[int, typer.Option(help="HNSW links per node.")] = 32,
    ef_construction: Annotated[int, typer.Option(help="HNSW build breadth.")] = 80,
    ef_search: Annotated[int, typer.Option(help="HNSW default search breadth.")] = 64,
    nlist: Annotated[int | None, typer.Option(help="IVF lists (default 4 * sqrt(n)).")] = None,
    nprobe: Annotated[int, typer.Option(help="IVF default lists visited per query.")] = 16,
    seed: Annotated[int, typer.Option(help="Seed of the IVF training sample and k-means.")] = 0,
    threads: Threads = 0,
) -> None:
    """Write an index file from fingerprints; exact search works for every metric, --faiss adds speed at scale.

    Examples:
      fingerprint-search index build Latent_spaces/ -o authors.fpi --model compbiolab-CLI-0.4.0
      fingerprint-search index build seqs.npy --ids seqs.ids -o seqs.fpi --faiss hnsw
    """
    fps = concat([_read(s, None, ctx.obj.stdin, ids) for s in sources])
    with ctx.obj.progress(transient=True) as bar:
        bar.add_task(f"indexing {len(fps)} fingerprints", total=None)
        idx = FingerprintIndex.build(
            fps, metric, model=model or fps.model, source=" ".join(sources), faiss_kind=faiss_kind, hnsw_m=hnsw_m,
            ef_construction=ef_construction, ef_search=ef_search, nlist=nlist, nprobe=nprobe, seed=seed,
            threads=resolve_threads(threads),
        )  # fmt: skip
        idx.save(out)
    ctx.obj.log(f"{out}: {len(idx)} fingerprints of {idx.dim} values, metric {metric}")


@index_app.command("families")
def index_families(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="Dataset folder (prep-msa build).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index file to write.")],
    vae: Annotated[str | None, typer.Option(help="VAE model: name, name@alias, name/version or folder.")] = None,
    split: Annotated[str, typer.Option(help="Members whose fingerprints are averaged (keep test out).")] = "train",
    cache: Annotated[Path | None, typer.Option(help="Feature cache folder (placements + SS/SA).")] = None,
    metric: Annotated[str, typer.Option("--metric", "-m", help="Default search metric.")] = "euclidean",
    publish: Annotated[
        bool, typer.Option("--publish", help="Also ship it in registry/ as the default family index.")
    ] = False,
) -> None:
    """Family fingerprints from the VAE models: each family's mean fingerprint over its training members.

    The fingerprints are 90 floats (aa, ss, sa x 30), as `encode-vae encode` writes, so its output can be searched
    against the families at once.

    Examples:
      fingerprint-search index families -d build/dataset -o build/family-index.fpi --publish
      encode-vae encode placed.afa | fingerprint-search search - -i families.fpi -k 3
    """
    from protfam_core.msa.dataset import load_dataset
    from protfam_core.search.index import build_family_index
    from protfam_core.vae.encode import Fingerprinter

    data = load_dataset(dataset)
    with ctx.obj.progress(transient=True) as bar:
        bar.add_task("placing, predicting SS/SA and encoding the members", total=None)
        fingerprinter = Fingerprinter(vae)
        idx = build_family_index(data, fingerprinter, split, cache, metric)
        idx.save(out)
    ctx.obj.log(f"{out}: {len(idx)} families, {idx.dim} values, model {idx.meta['model']}")
    if publish:
        from protfam_core.search.index import publish_family_index

        bundle = publish_family_index(out, fingerprinter.bundle, data)
        ctx.obj.log(f"shipped as {bundle.ref}")


def main(argv: list[str] | None = None, stdout=None, stderr=None, stdin=None) -> int:
    return run(app, "fingerprint-search", argv, stdout, stderr, stdin)


if __name__ == "__main__":
    raise SystemExit(main())
