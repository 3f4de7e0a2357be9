"""`classify-cnn predict` end to end with only the shipped models: real held-out and unknown-family sequences."""

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from protfam_tools.classify_cnn import main

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.rule import choose_threshold
from protfam_core.cnn.settings import ChainSettings
from protfam_core.errors import ModelError
from protfam_core.io.seqio import read_sequences
from protfam_core.registry.bundles import resolve

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "examples" / "queries.fasta"


def _expected() -> dict[str, str]:
    """examples/queries.fasta descriptions carry 'family=<label>' (a test-split family, or 'unknown:<name>')."""
    out = {}
    for rec in read_sequences(QUERIES):
        label = next(t for t in rec.description.split() if t.startswith("family=")).removeprefix("family=")
        out[rec.id] = "unassigned" if label.startswith("unknown:") else label
    return out


def _run(args: list[str], stdin: str | None = None) -> tuple[int, str]:
    out = io.StringIO()
    rc = main(args, stdin=io.StringIO(stdin) if stdin is not None else None, stdout=out)
    return rc, out.getvalue()


def _rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines()[2:]]


@pytest.fixture(scope="module")
def file_output() -> str:
    rc, text = _run(["predict", str(QUERIES), "--top-k", "2"])
    assert rc == 0
    return text


def test_held_out_and_unknown_sequences_classified_end_to_end(file_output: str):
    expected = _expected()
    calls = {row[0]: row[1] for row in _rows(file_output)}
    known = [q for q, f in expected.items() if f != "unassigned"]
    assert len(known) >= 5
    assert all(calls[q] == expected[q] for q in known), {q: (calls[q], expected[q]) for q in known}
    unknown = [q for q, f in expected.items() if f == "unassigned"]
    assert unknown and sum(calls[q] == "unassigned" for q in unknown) >= len(unknown) - 1


def test_tsv_contract(file_output: str):
    lines = file_output.splitlines()
    comment = lines[0]
    assert comment.startswith("# classify-cnn ")
    for role in ("model=family-cnn/", "frames=family-frames/", "vae=", "ss=", "prefilter=", "threshold="):
        assert role in comment
    assert comment.count("sha256=") == 5  # the four bundles of the chain and the fallback's prefilter
    header = ["query_id", "family", "score", "evalue", "candidate_1", "score_1", "candidate_2", "score_2"]
    assert lines[1].split("\t") == header
    rows = _rows(file_output)
    assert [r[0] for r in rows] == [r.id for r in read_sequences(QUERIES)]  # one row per input, input order
    for r in rows:
        assert len(r) == 8 and 0.0 <= float(r[2]) <= 1.0
        if r[1] != "unassigned":
            assert r[4] == r[1] and float(r[5]) == float(r[2])  # the call is the best candidate
            assert 0.0 <= float(r[3]) <= 1e-3  # and its frame-search hit is significant
        elif r[4] == "-":
            assert r[3] == "NA"  # no candidate frame: no E-value either


def test_stdin_gives_the_same_calls(file_output: str):
    recs = read_sequences(QUERIES)[:3]
    text = "".join(f">{r.id}\n{r.seq}\n" for r in recs)
    rc, out = _run(["predict", "-"], stdin=text)
    assert rc == 0
    by_file = {r[0]: r[1:3] for r in _rows(file_output)}
    assert [[r[0], *r[1:3]] for r in _rows(out)] == [[r.id, *by_file[r.id]] for r in recs]


def test_threshold_makes_calls_unassigned():
    rec = read_sequences(QUERIES)[0]
    rc, out = _run(["predict", "-", "--threshold", "1.01"], stdin=f">{rec.id}\n{rec.seq}\n")
    assert rc == 0 and _rows(out)[0][1] == "unassigned"
    assert ChainSettings.from_cards({}, threshold=0.0).rule.decide("q", []).family == "unassigned"  # no candidate
    # a sequence without candidates uses up the allowance first: nothing with a candidate may be cut
    assert choose_threshold([0.9, 0.95, 0.99, None], max_unassigned=0.25) == 0.9
    assert choose_threshold([0.9, 0.95, 0.99, None], max_unassigned=0.2) == 0.0
    assert choose_threshold([0.2] + [0.9] * 99, max_unassigned=0.01) == 0.9


def test_fingerprints_piped_from_prep_msa_and_encode_vae():
    """prep-msa place --family | encode-vae encode - | classify-cnn predict -, all in-process."""
    from protfam_tools.encode_vae import main as encode_main
    from protfam_tools.prep_msa import main as place_main

    expected = _expected()
    rec = next(r for r in read_sequences(QUERIES) if expected[r.id] != "unassigned")
    frames = resolve(None, "frames").file("hmm")
    placed, fps = io.StringIO(), io.StringIO()
    fasta = io.StringIO(f">{rec.id}\n{rec.seq}\n")
    args = ["place", "-", "--frames", str(frames), "--family", expected[rec.id]]
    assert place_main(args, stdin=fasta, stdout=placed) == 0
    assert encode_main(["encode", "-"], stdin=io.StringIO(placed.getvalue()), stdout=fps) == 0
    rc, out = _run(["predict", "-"], stdin=fps.getvalue())
    assert rc == 0 and _rows(out)[0][:2] == [rec.id, expected[rec.id]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "input is empty"),
        (">x\nMKV1LLA\n", "non-amino-acid character '1'"),
        (">x\nATGGCGTACGATCGATCGTAGCTAGC\n", "looks like nucleotide sequences"),
    ],
)
def test_bad_input_fails_with_one_line(text: str, message: str, capsys):
    rc, out = _run(["predict", "-"], stdin=text)
    err = capsys.readouterr().err.strip()
    assert rc != 0 and out == ""
    assert message in err and len(err.splitlines()) == 1


def test_unknown_model_alias(capsys):
    rc, out = _run(["predict", str(QUERIES), "--model", "family-cnn@no-such-alias"])
    err = capsys.readouterr().err
    assert rc != 0 and out == "" and "no alias 'no-such-alias'" in err


def test_bundles_whose_families_differ_are_refused(tmp_path: Path, capsys):
    frames = resolve(None, "frames")
    bad = tmp_path / "frames"
    shutil.copytree(frames.path, bad)
    card = json.loads((bad / "model.json").read_text())
    card["families"] = card["families"][::-1]
    (bad / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="do not belong together"):
        FamilyClassifier(frames=str(bad))
    rc, out = _run(["predict", str(QUERIES), "--frames", str(bad)])
    assert rc != 0 and out == "" and "do not belong together" in capsys.readouterr().err


def test_a_pinned_bundle_that_changed_is_refused(tmp_path: Path, capsys):
    cnn = resolve(None, "cnn")
    assert set(cnn.card["pins"]) == {"frames", "vae", "ss"}
    bad = tmp_path / "cnn"
    shutil.copytree(cnn.path, bad)
    card = json.loads((bad / "model.json").read_text())
    card["pins"]["vae"] = "0" * 64  # as if its VAE's name now named another bundle than the one it was trained with
    (bad / "model.json").write_text(json.dumps(card))
    rc, out = _run(["predict", str(QUERIES), "--model", str(bad)])
    err = capsys.readouterr().err
    assert rc != 0 and out == "" and f"trained with vae {card['vae']}" in err and len(err.strip().splitlines()) == 1


def test_predict_proba_scores_candidates_only():
    clf = FamilyClassifier()
    recs = read_sequences(QUERIES)[:2]
    probs = clf.predict_proba(recs)
    assert probs.shape == (2, len(clf.families))
    calls = clf.predict(recs)
    index = {f: i for i, f in enumerate(clf.families)}
    for row, call in zip(probs, calls, strict=True):
        assert call.candidates and clf.families[int(np.argmax(row))] == call.candidates[0][0]
        for c in call.candidates:
            assert row[index[c.family]] == pytest.approx(c.score, abs=1e-6)


def test_members_the_plain_search_misses_are_found_by_the_fallback_and_cysteine_rich_unknowns_are_not():
    clf = FamilyClassifier()  # the shipped rule: fallback E <= 1e-4, chosen on validation
    assert clf.settings.search.fallback_evalue > 0
    records = read_sequences(ROOT / "tests" / "data" / "fallback.fasta")
    plain = clf.frames.search(records)
    assert not plain[records[0].id] and not plain[records[1].id]  # the normal search misses both members
    assert [c.family for c in clf.predict(records)] == ["intb", "pilin", "unassigned"]
    fallback = replace(clf.settings.search, evalue=clf.settings.search.fallback_evalue)
    assert clf.frames.search(records[2:], fallback, sensitive=True)[records[2].id] == []
    assert [c.family for c in FamilyClassifier(fallback_evalue=0.0).predict(records)] == ["unassigned"] * 3


def test_fingerprints_without_frames_stream_by_batch_size(monkeypatch):
    """Issue 19 item 8: the paper's frame-less fingerprints go through the CNN in --batch-size rows, calls are made
    lazily (every row holds a candidate per family), and the calls do not depend on the batch size."""
    from protfam_core.io.fingerprints import Fingerprints

    clf = FamilyClassifier()
    rng = np.random.default_rng(0)
    fps = Fingerprints([f"q{i}" for i in range(7)], rng.normal(size=(7, 90)))
    whole = list(clf.predict_fingerprints(fps, batch_size=256))
    sizes: list[int] = []
    real = clf.cnn
    monkeypatch.setattr(clf, "cnn", lambda x: sizes.append(len(x)) or real(x))
    calls = clf.predict_fingerprints(fps, batch_size=3)
    assert not isinstance(calls, list) and sizes == []
    assert list(calls) == whole and sizes == [3, 3, 1]


def test_the_evalue_cuts_are_the_users_where_given(capsys):
    """-E, --domE and --fallback-evalue replace the model's cuts (the # line says so); cuts no hit meets leave every
    query unassigned."""
    out = io.StringIO()
    cuts = ["-E", "1e-300", "--domE", "1e-300", "--fallback-evalue", "1e-300"]
    assert main(["predict", str(QUERIES), *cuts, "-j", "1"], stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert "\tevalue=1e-300\t" in lines[0] and "\tdomain_evalue=1e-300\t" in lines[0]
    assert "\tfallback_evalue=1e-300\t" in lines[0]
    assert {line.split("\t")[1] for line in lines[2:]} == {"unassigned"}
