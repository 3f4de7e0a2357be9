"""`classify-cnn train` and `evaluate` on the committed mini dataset (4 real families), tracked in a temp MLflow."""

import io
import json
from pathlib import Path

import pytest
from protfam_tools.classify_cnn import main

from protfam_core.cnn.examples import FORCED, FOREIGN, SEARCH, split_examples
from protfam_core.features.cache import FeatureCache
from protfam_core.msa.dataset import load_dataset
from protfam_core.registry import tracking
from protfam_core.vae.encode import Fingerprinter

MINI = Path(__file__).resolve().parents[1] / "data" / "mini"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, str, str]:
    tmp = tmp_path_factory.mktemp("cnn")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("PROTFAM_TRACKING_URI", uri)
    out = io.StringIO()
    args = ["train", "--dataset", str(MINI), "--out", str(tmp / "bundles"), "--cache", str(tmp / "cache")]
    rc = main([*args, "--epochs", "3", "--patience", "3", "--batch-size", "240", "--seed", "1"], stdout=out)
    mp.undo()
    assert rc == 0, out.getvalue()
    return tmp, uri, out.getvalue()


def test_examples_carry_both_labels_in_every_frame(trained):
    tmp, _, _ = trained
    ds = load_dataset(MINI)
    ex = split_examples(FeatureCache(ds, tmp / "cache", Fingerprinter().ss_model), "val", Fingerprinter(), ds.families)
    assert ex.fingerprints.shape == (len(ex.frames), 3, 30)
    assert set(ex.sources) >= {FORCED, SEARCH, FOREIGN}
    assert (ex.targets.sum(axis=1) == ex.positive).all()  # one-hot for members, all-zero in foreign frames
    for fam in ds.families:
        labels = {bool(p) for p, f in zip(ex.positive, ex.frames, strict=True) if f == fam}
        assert labels == {True, False}, fam


def test_train_writes_matching_bundles_and_tracks_the_run(trained):
    tmp, uri, stdout = trained
    cnn = json.loads((tmp / "bundles" / "family-cnn" / "model.json").read_text())
    frames = json.loads((tmp / "bundles" / "family-frames" / "model.json").read_text())
    assert cnn["kind"] == "cnn" and frames["kind"] == "frames"
    assert cnn["families"] == frames["families"] == load_dataset(MINI).families
    assert 0.0 <= cnn["threshold"] <= 1.0
    assert cnn["frames"] == f"family-frames/{frames['version']}"
    assert cnn["metrics"]["val_unassigned"] <= 0.01 + 1e-9  # the threshold rule, on validation data
    assert "val_blind_accuracy" in stdout
    client = tracking.client(uri)
    runs = client.search_runs([client.get_experiment_by_name("family-cnn").experiment_id])
    assert runs and "val_loss" in runs[0].data.metrics
    assert client.get_registered_model("family-cnn") is not None


def test_trained_bundle_classifies_mini_test_split(trained, tmp_path: Path):
    tmp, _, _ = trained
    bundles = tmp / "bundles"
    out = io.StringIO()
    args = ["evaluate", "--dataset", str(MINI), "--out", str(tmp_path), "--cache", str(tmp / "cache")]
    rc = main([*args, "--model", str(bundles / "family-cnn"), "--frames", str(bundles / "family-frames")], stdout=out)
    assert rc == 0
    scores = {line.split("\t")[0]: float(line.split("\t")[1].split("=")[1]) for line in out.getvalue().splitlines()}
    assert scores["paper"] >= 0.9 and scores["blind"] >= 0.9  # macro F1 on 4 x 10 held-out sequences
    assert (tmp_path / "blind" / "table1.md").read_text().startswith("# Table 1, blind protocol")
    assert (tmp_path / "paper" / "confusion.png").stat().st_size > 1000


def test_train_and_evaluate_errors(tmp_path: Path, capsys):
    assert main(["evaluate", "--dataset", str(MINI), "--out", str(tmp_path), "--protocol", "nope"]) == 2
    assert "unknown protocol 'nope'" in capsys.readouterr().err
    assert main(["train", "--dataset", str(tmp_path), "--out", str(tmp_path / "b")]) == 2
    assert "not a protfam dataset" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
    assert main(["train-fast", "--dataset", str(tmp_path), "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert "not a protfam dataset" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "f").exists()


def test_train_fast_makes_a_fast_path_for_that_cnn(trained, tmp_path: Path):
    from protfam_core.cnn.classify import FamilyClassifier
    from protfam_core.registry.bundles import resolve

    tmp, uri, _ = trained
    cnn = tmp / "bundles" / "family-cnn"
    mp = pytest.MonkeyPatch()
    mp.setenv("PROTFAM_TRACKING_URI", uri)
    try:
        out = io.StringIO()
        frames = str(tmp / "bundles" / "family-frames")
        args = [
            "train-fast",
            "--dataset",
            str(MINI),
            "--model",
            str(cnn),
            "--frames",
            frames,
            "--cache",
            str(tmp / "cache"),
        ]
        assert main([*args, "--out", str(tmp_path), "--epochs", "3", "-j", "1"], stdout=out) == 0
        card = json.loads((tmp_path / "family-fast" / "model.json").read_text())
        assert card["kind"] == "fast" and card["families"] == load_dataset(MINI).families
        assert card["pins"]["cnn"] == resolve(str(cnn), "cnn").card_sha256()
        assert card["top_k"] in (1, 2, 3) and 0.0 <= card["threshold"] <= 1.0 and card["evalue"] >= 0.0
        assert out.getvalue().startswith(str(tmp_path / "family-fast"))
        clf = FamilyClassifier(str(cnn), frames, threads=1, fast=str(tmp_path / "family-fast"))
        data = load_dataset(MINI)
        calls = clf.predict(data.records("test"))
        right = [c.family == t for c, t in zip(calls, data.labels("test"), strict=True)]
        assert sum(right) >= 0.9 * len(right)
    finally:
        mp.undo()
