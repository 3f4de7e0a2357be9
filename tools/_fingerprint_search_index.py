"""fingerprint-search index: build index files (of any fingerprints, or of the families' mean fingerprints); the
`index` group of the tool, added to its app."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Annotated

import typer
from protfam_tools._cli import Threads, new_app

from protfam_core.io.fingerprints import Fingerprints, concat, read_fingerprints, read_ids
from protfam_core.search.index import FAISS_KINDS, FingerprintIndex
from protfam_core.threads import resolve_threads

index_app = new_app(
    "Build fingerprint index files.\n\n"
    "Examples:\n"
    "  fingerprint-search index build Latent_spaces/ -o authors.fpi --faiss hnsw\n"
    "  fingerprint-search index families -d build/dataset -o families.fpi"
)

IdsOpt = Annotated[Path | None, typer.Option("--ids", help="Ids for .npy input, one per line.")]


def read_input(source: str, dim: int | None, stdin: IO, ids: Path | None = None) -> Fingerprints:
    return read_fingerprints(source, dim, stdin=stdin, ids=read_ids(ids) if ids else None).placed()


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
    fps = concat([read_input(s, None, ctx.obj.stdin, ids) for s in sources])
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
