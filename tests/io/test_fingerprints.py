"""Fingerprint I/O and distances on the authors' real published fingerprints, checked against scipy."""

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import distance as sd

from protfam_core.errors import InputError
from protfam_core.io.fingerprints import (
    Fingerprints,
    format_authors,
    format_tsv,
    parse_fingerprints,
    read_directory,
    read_fingerprints,
    read_npy,
)
from protfam_core.search.distances import AUTHORS_METRICS, METRICS, distance, pairwise

DATA = Path(__file__).resolve().parents[1] / "data" / "fingerprints"
AUTHORS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "compbiolab_cli"  # the full set
SCIPY_METRICS = [m for m in AUTHORS_METRICS if hasattr(sd, m)]  # scipy >= 1.12 lacks kulsinski and sokalmichener


@pytest.fixture(scope="module")
def published() -> Fingerprints:
    return read_directory(DATA / "published")  # 128 of the authors' 1,126 (tests/data/fingerprints/PROVENANCE.md)


def test_reads_authors_file_as_numpy_does():
    fp = read_fingerprints(DATA / "ATKA_ATKC.txt")
    assert fp.ids == ["ATKA_ATKC"] and fp.vectors.shape == (1, 30)
    assert np.array_equal(fp.vectors[0], np.loadtxt(DATA / "ATKA_ATKC.txt"))
    example = read_fingerprints(DATA / "second_new_latent_example.txt")  # ' 2' / ' 1' lines
    assert example.vectors[0, :4].tolist() == [2.0, 1.0, 2.0, 1.0]


def test_writes_authors_format_byte_identical():
    original = (DATA / "CDSA_RSEP.txt").read_text()
    fp = read_fingerprints(DATA / "CDSA_RSEP.txt")
    assert format_authors(fp.vectors[0]) == original


@pytest.mark.shared_data
def test_published_folder_matches_their_family_list():
    published = read_directory(AUTHORS / "Latent_spaces")
    names = [line.split(",")[1] for line in (AUTHORS / "seq_lengths.csv").read_text().split("\n")[1:] if line]
    assert sorted(published.ids) == sorted(names) and len(published) == 1126
    assert published.vectors.dtype == np.float64


def test_tsv_round_trip_is_bit_exact_with_header_and_comments(published):
    sub = Fingerprints(published.ids[:25], published.vectors[:25])
    text = "# made by a test\n" + format_tsv(sub)
    back = parse_fingerprints("t.tsv", text)
    assert back.ids == sub.ids and np.array_equal(back.vectors, sub.vectors)


def test_npy_with_ids_and_three_channel_matrices(tmp_path, published):
    np.save(tmp_path / "fp.npy", published.vectors[:4])
    (tmp_path / "ids.txt").write_text("\n".join("abcd"))
    fp = read_npy(tmp_path / "fp.npy", ids=list("abcd"))
    assert fp.ids == list("abcd") and np.array_equal(fp.vectors, published.vectors[:4])
    assert read_npy(tmp_path / "fp.npy").ids[0] == "fp:1"
    # encode-vae's layout: (n, 3 channels, 30) float32 and the ids in <stem>.ids beside it.
    np.save(tmp_path / "fp3.npy", published.vectors[:6].reshape(2, 3, 30).astype(np.float32))
    (tmp_path / "fp3.ids").write_text("x/1-50\ny/3-90\n")
    fp3 = read_fingerprints(tmp_path / "fp3.npy")
    assert fp3.ids == ["x/1-50", "y/3-90"] and fp3.vectors.shape == (2, 90) and fp3.vectors.dtype == np.float64


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.5\n" * 29, "29 numbers, expected 30"),
        ("0.5\n" * 29 + "nan\n", "non-finite value"),
        ("0.5\n" * 29 + "inf\n", "non-finite value"),
        ("0.5\n" * 29 + "O.5\n", "line 30: 'O.5' is not a number"),
        ("", "empty file"),
        ("a\t1\t2\nb\t1\n", "line 2: 2 fields, expected 3"),
        ("a\t1\t2\na\t3\t4\n", "duplicate fingerprint id 'a'"),
        ("id\tz1\n", "header only"),
    ],
)
def test_bad_files_get_one_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_fingerprints(path)


def test_tsv_dimension_is_checked_against_what_is_expected():
    with pytest.raises(InputError, match="fingerprints have 2 values, expected 30"):
        parse_fingerprints("x.tsv", "a\t1\t2\n", dim=30)


@pytest.mark.parametrize("metric", SCIPY_METRICS)
def test_every_scipy_metric_equals_scipys_one_pair_function(published, metric):
    """The authors' tool calls scipy.spatial.distance.<metric>(u, v) on raw floats; we must give the same numbers."""
    a, b = published.vectors[:12], published.vectors[100:120]
    expected = np.array([[getattr(sd, metric)(u, v) for v in b] for u in a])
    np.testing.assert_allclose(pairwise(a, b, metric), expected, rtol=1e-10, atol=1e-12)


def _counts(u, v):
    """scipy's float 'boolean' counts, by hand: c_TT = sum u*v, c_TF = sum u*(1-v), c_FT = sum (1-u)*v, c_FF."""
    ctt = sum(x * y for x, y in zip(u, v, strict=True))
    ctf = sum(x * (1 - y) for x, y in zip(u, v, strict=True))
    cft = sum((1 - x) * y for x, y in zip(u, v, strict=True))
    cff = sum((1 - x) * (1 - y) for x, y in zip(u, v, strict=True))
    return ctt, ctf, cft, cff


def test_kulsinski_from_its_published_formula_on_real_files():
    u = read_fingerprints(DATA / "first_new_latent_example.txt").vectors[0]
    v = read_fingerprints(DATA / "second_new_latent_example.txt").vectors[0]
    # By hand: c_TT = 15*2 + 15*1 = 45, c_TF = 15*(1-2) = -15, c_FT = 0, n = 30 -> (-15 + 0 - 45 + 30)/(-15 + 0 + 30).
    assert distance(u, v, "kulsinski") == -2.0
    a, b = (read_fingerprints(DATA / f"{n}.txt").vectors[0] for n in ("ATKA_ATKC", "CDSA_RSEP"))
    ctt, ctf, cft, _ = _counts(a, b)
    assert distance(a, b, "kulsinski") == pytest.approx((ctf + cft - ctt + 30) / (ctf + cft + 30), rel=1e-12)
    # The authors' `compare ATKA_ATKC CDSA_RSEP -m kulsinski` with scipy 1.10.1 printed 0.9683369290866907.
    assert distance(a, b, "kulsinski") == pytest.approx(0.9683369290866907, rel=1e-12)


def test_sokalmichener_from_its_published_formula(published):
    a, b = published.vectors[3], published.vectors[90]
    ctt, ctf, cft, cff = _counts(a, b)
    r = 2 * (ctf + cft)
    assert distance(a, b, "sokalmichener") == pytest.approx(r / (ctt + cff + r), rel=1e-12)
    assert distance(a, b, "sokalmichener") == pytest.approx(distance(a, b, "rogerstanimoto"), rel=1e-12)


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 3.0, 7.0])
def test_minkowski_any_p_weighted_and_unweighted(published, p):
    u, v = published.vectors[10], published.vectors[20]
    w = np.linspace(0.1, 2.0, 30)
    assert distance(u, v, "minkowski", p) == pytest.approx(sd.minkowski(u, v, p), rel=1e-12)
    assert distance(u, v, "minkowski", p, w) == pytest.approx(sd.minkowski(u, v, p, w), rel=1e-12)
    assert distance(u, v, "euclidean", weights=w) == pytest.approx(sd.euclidean(u, v, w), rel=1e-12)


def test_inner_product_is_negated_dot(published):
    u, v = published.vectors[1], published.vectors[2]
    assert distance(u, v, "inner_product") == pytest.approx(-float(u @ v), rel=1e-12)
    assert "inner_product" in METRICS


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "mahalanobis"}, "unknown metric 'mahalanobis'"),
        ({"metric": "minkowski", "p": 0.0}, "--p must be a number > 0"),
        ({"metric": "minkowski", "p": -1.0}, "--p must be a number > 0"),
        ({"metric": "minkowski", "weights": np.ones(29)}, "weights have 29 values"),
        ({"metric": "cosine", "weights": np.ones(30)}, "weights apply to the Minkowski metrics"),
        ({"metric": "minkowski", "weights": -np.ones(30)}, "finite and >= 0"),
    ],
)
def test_bad_metric_options_are_refused(published, kwargs, message):
    with pytest.raises(InputError, match=message):
        pairwise(published.vectors[:2], published.vectors[:3], **kwargs)


def test_dimensions_must_agree(published):
    with pytest.raises(InputError, match="30 and 29 dimensions"):
        pairwise(published.vectors[:1], published.vectors[:1, :29])
