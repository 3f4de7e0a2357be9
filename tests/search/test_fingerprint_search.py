"""fingerprint-search end to end on 128 of the authors' 1,126 published fingerprints (tests/data/fingerprints): index
files, exact and FAISS search, nearest family as the authors' `search lat` finds it (scipy one-pair functions over
their files), clear errors."""

import io
from pathlib import Path

import numpy as np
import pytest
from protfam_tools.fingerprint_search import main
from scipy.spatial import distance as sd

from protfam_core.errors import InputError
from protfam_core.io.fingerprints import Fingerprints, format_tsv, parse_fingerprints, read_directory, read_fingerprints
from protfam_core.search.distances import AUTHORS_METRICS, pairwise
from protfam_core.search.index import FingerprintIndex

DATA = Path(__file__).resolve().parents[1] / "data" / "fingerprints"
LATENTS = DATA / "published"
SEQUENCE = DATA / "search_seq" / "new_sequence_example.txt"  # the authors' raw `search seq` example
EXAMPLES = [DATA / "first_new_latent_example.txt", DATA / "second_new_latent_example.txt"]
# All 1,126 of them (../shared/data, see its PROVENANCE.md): only the `shared_data` test reads it
ALL_LATENTS = Path(__file__).resolve().parents[3] / "shared" / "data" / "compbiolab_cli" / "Latent_spaces"


@pytest.fixture(scope="module")
def published() -> Fingerprints:
    return read_directory(LATENTS)


@pytest.fixture(scope="module")
def index_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("idx") / "authors.fpi"
    assert main(["index", "build", str(LATENTS), "-o", str(out), "--model", "compbiolab-CLI-0.4.0"]) == 0
    return out


def _cli(args: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(args, stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def _rows(text: str) -> list[list[str]]:
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert lines[0] == "query_id\trank\ttarget_id\tdistance"
    return [ln.split("\t") for ln in lines[1:]]


def _scipy_nearest(query: np.ndarray, published: Fingerprints, metric: str) -> tuple[set[str], float]:
    """What `search lat` computes: scipy's one-pair function against every published file; ties kept as a set."""
    if hasattr(sd, metric):
        d = np.array([getattr(sd, metric)(query, v) for v in published.vectors])
    else:  # kulsinski / sokalmichener: gone from scipy >= 1.12; their published formulas on scipy's float counts
        ctt = published.vectors @ query
        ctf = (1 - published.vectors) @ query  # query true, target false
        cft = published.vectors @ (1 - query)
        cff = (1 - published.vectors) @ (1 - query)
        n = len(query)
        d = (
            (ctf + cft - ctt + n) / (ctf + cft + n)
            if metric == "kulsinski"
            else 2 * (ctf + cft) / (ctt + cff + 2 * (ctf + cft))
        )
    d = np.where(np.isnan(d), np.inf, d)
    best = d.min()
    return {published.ids[i] for i in np.flatnonzero(d == best)}, float(best)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # scipy: correlation of a constant
@pytest.mark.parametrize("metric", AUTHORS_METRICS)
def test_nearest_family_equals_scipy_search_lat_for_every_metric(published, metric):
    index = FingerprintIndex.build(published)
    queries = [read_fingerprints(p).vectors[0] for p in EXAMPLES] + [published.vectors[7] * 0.9 + 0.05]
    for q in queries:
        names, best = _scipy_nearest(q, published, metric)
        res = index.search(q, 1, metric)
        if not np.isfinite(best):  # correlation of a constant vector: undefined for every family (theirs crashes)
            assert res.indices[0, 0] == -1
            continue
        assert published.ids[res.indices[0, 0]] in names
        assert res.distances[0, 0] == pytest.approx(best, rel=1e-10, abs=1e-12)


def test_search_cli_reproduces_the_authors_readme_example(index_file):
    # The authors' tool: `search lat first_new_latent_example.txt -m cosine` -> PPDD_YACG, 0.4385948444095471.
    code, out = _cli(["search", *map(str, EXAMPLES), "--db", str(LATENTS), "-m", "cosine", "-k", "1"])
    rows = _rows(out)
    assert code == 0 and [r[:3] for r in rows] == [
        ["first_new_latent_example", "1", "PPDD_YACG"],
        ["second_new_latent_example", "1", "PPDD_YACG"],
    ]
    ppdd = np.loadtxt(DATA / "PPDD_YACG.txt")
    assert float(rows[0][3]) == pytest.approx(sd.cosine(np.loadtxt(EXAMPLES[0]), ppdd), rel=1e-12)
    code, out2 = _cli(["search", *map(str, EXAMPLES), "-i", str(index_file), "-m", "cosine", "-k", "1"])
    assert _rows(out2) == rows


@pytest.mark.shared_data
def test_search_lat_over_all_1126_published_fingerprints_finds_the_authors_answer():
    # The committed sample answers as the authors' tool does over their whole set: the same rows, the same distances.
    assert len(read_directory(ALL_LATENTS)) == 1126
    query = ["search", *map(str, EXAMPLES), "-m", "cosine", "-k", "1", "--db"]
    code, out = _cli([*query, str(ALL_LATENTS)])
    rows = _rows(out)
    assert code == 0 and rows == _rows(_cli([*query, str(LATENTS)])[1])
    assert rows[0][2:] == ["PPDD_YACG", "0.4385948444095471"] and rows[1][2] == "PPDD_YACG"


def test_search_k_sorted_and_equal_to_scipy(index_file, published):
    code, out = _cli(["search", str(DATA / "ATKA_ATKC.txt"), "-i", str(index_file), "-m", "canberra", "-k", "5"])
    rows = _rows(out)
    assert code == 0 and [r[1] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0][2] == "ATKA_ATKC" and float(rows[0][3]) == 0.0  # a published fingerprint finds itself
    query = np.loadtxt(DATA / "ATKA_ATKC.txt")
    for _, _, target, dist in rows:
        v = published.vectors[published.ids.index(target)]
        assert float(dist) == pytest.approx(sd.canberra(query, v), rel=1e-12)
    dists = [float(r[3]) for r in rows]
    assert dists == sorted(dists)


def test_weighted_minkowski_search_from_stdin_tsv(index_file, published, tmp_path):
    weights = tmp_path / "w.txt"
    w = np.linspace(0.2, 1.0, 30)
    np.savetxt(weights, w)
    tsv = format_tsv(Fingerprints(["q1", "q2"], published.vectors[[50, 100]] + 0.01))
    args = ["search", "-", "-i", str(index_file), "-m", "minkowski", "--p", "1.5", "-w", str(weights), "-k", "3"]
    code, out = _cli(args, stdin=tsv)
    rows = _rows(out)
    assert code == 0 and len(rows) == 6
    assert (rows[0][2], rows[3][2]) == (published.ids[50], published.ids[100])
    expected = sd.minkowski(published.vectors[50] + 0.01, published.vectors[50], 1.5, w)
    assert float(rows[0][3]) == pytest.approx(expected, rel=1e-12)


def test_compare_files_and_index_names(index_file):
    a, b = DATA / "ATKA_ATKC.txt", DATA / "CDSA_RSEP.txt"
    code, out = _cli(["compare", str(a), str(b), "-m", "yule"])
    line = out.splitlines()[1].split("\t")
    assert code == 0 and line[:3] == ["ATKA_ATKC", "CDSA_RSEP", "yule"]
    assert float(line[3]) == pytest.approx(sd.yule(np.loadtxt(a), np.loadtxt(b)), rel=1e-12)
    code, out2 = _cli(["compare", "ATKA_ATKC", "CDSA_RSEP", "-i", str(index_file), "-m", "yule"])
    assert out2 == out


def test_list_shows_metadata_and_names(index_file):
    code, out = _cli(["list", str(index_file)])
    lines = out.splitlines()
    assert code == 0 and "# dimension: 30" in lines and "# model: compbiolab-CLI-0.4.0" in lines
    assert len([ln for ln in lines if not ln.startswith("#")]) == 128 and "PPDD_YACG" in lines
    code, out = _cli(["list", str(index_file), "--vectors"])
    back = parse_fingerprints("listed", out)  # the TSV reads back bit-identical, metadata lines are comments
    assert back.ids == FingerprintIndex.load(index_file).ids and back.model == "compbiolab-CLI-0.4.0"
    np.testing.assert_array_equal(back.vectors, np.array([np.loadtxt(LATENTS / f"{i}.txt") for i in back.ids]))


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
@pytest.mark.parametrize("metric", ["euclidean", "cosine", "inner_product"])
def test_faiss_index_agrees_with_exact_search(tmp_path, published, kind, metric):
    path = tmp_path / "f.fpi"
    args = ["index", "build", str(LATENTS), "-o", str(path), "-m", metric, "--faiss", kind, "--nlist", "8"]
    assert main(args) == 0
    index = FingerprintIndex.load(path)
    assert index.meta["faiss"]["kind"] == kind and index.metric == metric
    queries = published.vectors[::10] + 0.05
    fast = index.search(queries, 10)
    exact = index.search(queries, 10, exact=True)
    assert fast.mode == f"faiss-{kind}" and exact.mode == "exact"
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(fast.indices, exact.indices, strict=True)])
    assert recall >= (1.0 if kind == "flat" else 0.9)
    # Distances of whatever FAISS found are re-scored exactly: they equal scipy's / the exact scan's.
    full = pairwise(queries, published.vectors, metric)
    np.testing.assert_allclose(fast.distances, np.take_along_axis(full, fast.indices, 1), rtol=1e-12, atol=1e-12)
    # A metric FAISS does not serve falls back to the exact scan.
    assert index.search(queries[:2], 3, "braycurtis").mode == "exact"
    code, out = _cli(["search", str(DATA / "PPDD_YACG.txt"), "-i", str(path), "-k", "1"])
    best = index.search(np.loadtxt(DATA / "PPDD_YACG.txt"), 1, exact=True)
    assert code == 0 and f"mode=faiss-{kind}" in out.splitlines()[0]
    assert _rows(out)[0][2] == index.ids[best.indices[0, 0]]
    assert float(_rows(out)[0][3]) == pytest.approx(best.distances[0, 0], rel=1e-12, abs=1e-15)


def test_npy_index_with_ids_and_dimension_mismatch(tmp_path, published, capsys):
    np.save(tmp_path / "fp.npy", published.vectors[:60].reshape(20, 90))
    (tmp_path / "ids.txt").write_text("\n".join(f"s{i}" for i in range(20)))
    out = tmp_path / "s.fpi"
    assert main(["index", "build", str(tmp_path / "fp.npy"), "--ids", str(tmp_path / "ids.txt"), "-o", str(out)]) == 0
    assert FingerprintIndex.load(out).ids[:2] == ["s0", "s1"]
    # The authors' 30-float file against a 90-dimensional index: a clear error, no output file.
    target = tmp_path / "hits.tsv"
    code, _ = _cli(["search", str(DATA / "ATKA_ATKC.txt"), "-i", str(out), "-o", str(target)])
    assert code == 2 and not target.exists()
    # A .npy of any other width is no protfam fingerprint file: refused, not indexed at that width.
    np.save(tmp_path / "wide.npy", published.vectors[:40].reshape(20, 60))
    capsys.readouterr()
    code, _ = _cli(["index", "build", str(tmp_path / "wide.npy"), "-o", str(tmp_path / "w.fpi")])
    assert code == 2 and "fingerprints of 60 values" in capsys.readouterr().err and not (tmp_path / "w.fpi").exists()
    with pytest.raises(InputError, match="30 numbers, expected|holds 90-dimensional"):
        FingerprintIndex.load(out).search(read_fingerprints(DATA / "ATKA_ATKC.txt").vectors, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "{ex}", "-i", "{idx}", "-m", "kulczynski"], "unknown metric 'kulczynski'"),
        (["search", "{ex}", "-i", "{idx}", "-m", "minkowski", "--p", "0"], "--p must be a number > 0"),
        (["search", "{ex}", "-i", "{idx}", "-k", "0"], "-k must be >= 1"),
        (["search", "{ex}", "-i", "{idx}", "--db", "{ex}"], "give one of --index and --db, not both"),
        (["search", "{ex}"], "expected 90"),  # no index given: the shipped family index of 90-float fingerprints
        (["search", "{seq}", "-i", "{idx}"], "is not a number"),
        (["search", "{ex}", "-i", "{ex}"], "not a protfam fingerprint index"),
        (["compare", "ATKA_ATKC", "{ex}"], "give --index to compare names"),
        (["compare", "NOPE_NOPE", "{ex}", "-i", "{idx}"], "no fingerprint named 'NOPE_NOPE'"),
        (["index", "build", "{ex}", "-o", "{tmp}/x.fpi", "--faiss", "hnsw", "-m", "yule"], "FAISS serves"),
    ],
)
def test_clear_errors(index_file, tmp_path, capsys, args, message):
    subs = {"ex": str(EXAMPLES[0]), "idx": str(index_file), "seq": str(SEQUENCE)}
    subs["tmp"] = str(tmp_path)
    code, out = _cli([a.format(**subs) for a in args])
    err = capsys.readouterr().err
    assert code != 0 and out == "" and message in err and "Traceback" not in err


def test_model_id_travels_from_encode_vae_tsv_to_the_index(tmp_path, published, capsys):
    from protfam_core.io.fingerprints import tsv_text

    z = published.vectors[:30].reshape(10, 3, 30)  # encode-vae's (n, aa/ss/sa, 30) layout
    src = tmp_path / "enc.tsv"
    src.write_text(tsv_text([f"seq{i}" for i in range(10)], z, "vae/7"))
    out = tmp_path / "s.fpi"
    assert main(["index", "build", str(src), "-o", str(out)]) == 0
    index = FingerprintIndex.load(out)
    assert index.meta["model"] == "vae/7" and index.dim == 90
    np.testing.assert_array_equal(index.get("seq3").vectors[0], z[3].reshape(-1))
    same = tsv_text(["q"], z[:1] + 0.01, "vae/7")
    code, text = _cli(["search", "-", "-i", str(out), "-k", "1"], stdin=same)
    assert code == 0 and _rows(text)[0][2] == "seq0"
    other = tsv_text(["q"], z[:1] + 0.01, "vae/8")  # another VAE's fingerprints are refused, as the CNN refuses them
    capsys.readouterr()
    code, text = _cli(["search", "-", "-i", str(out), "-k", "1"], stdin=other)
    err = capsys.readouterr().err
    assert code != 0 and text == "" and "made by vae/8, the index by vae/7" in err
    assert len(err.strip().splitlines()) == 1
