"""`predict-ss train` end to end on tiny real data: MMseqs2 cleaning, tracked training, ONNX bundle, publish."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from protfam_tools.predict_ss import main

from protfam_core.registry import bundles as registry
from protfam_core.registry import tracking
from protfam_core.ss.data import SSChain
from protfam_core.ss.model import near_identical
from protfam_core.ss.predict import SSPredictor

DATA = Path(__file__).resolve().parents[1] / "data" / "ss"
BLOSUM = DATA / "blosum62" / "BLOSUM62"  # the default, ../shared/data/blosum62/BLOSUM62, is not in a clone


def test_near_identical_catches_a_contained_domain_not_an_unrelated_chain():
    ref = SSChain("ref", "DACEQAAIQCVESACESLCTEGEDRTGCYM", "?" * 30, "?" * 30)
    full = "MSTNPKPQRKTKRNTNRRPQDVKFPGG" + ref.seq[:-1] + "L" + "GGSWLKQEEAHHHH"  # 1 mismatch in 30: 97%
    other = "MKTAYIAKQRQISFVKSHFSRQ" * 2
    queries = [SSChain("holder", full, "?" * len(full), "?" * len(full)), SSChain("other", other, "?" * 44, "?" * 44)]
    assert near_identical(queries, [ref]) == {"holder"}


def test_train_tracks_exports_and_publishes(tmp_path, monkeypatch):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("PROTFAM_TRACKING_URI", store)
    monkeypatch.setenv("PROTFAM_REGISTRY", str(tmp_path / "registry"))
    out = io.StringIO()
    args = ["train", "--cath-dssp", str(DATA / "cath_dssp"), "--flip", str(DATA / "flip"), "--cb513"]
    args += [
        str(DATA / "cb513_head.csv"),
        "--blosum",
        str(BLOSUM),
        "--epochs",
        "2",
        "--channels",
        "16",
        "--out",
        str(tmp_path / "b"),
        "--publish",
    ]
    assert main(args, stdout=out) == 0
    assert out.getvalue().strip() == str(tmp_path / "b")
    card = json.loads((tmp_path / "b" / "model.json").read_text())
    assert card["kind"] == "ss" and card["data"]["train_chains"] == 4 and card["data"]["cb513_chains"] == 3
    assert 0 <= card["metrics"]["cb513_q3"] <= 1 and card["params"]["channels"] == 16
    # Published as the default SS model of that registry, and the ONNX model serves any length.
    shipped = registry.resolve(None, "ss")
    assert shipped.card["files"] == card["files"]
    ((ss, sa),) = SSPredictor().predict_proba(["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"])
    assert ss.shape == (66, 3) and np.allclose(sa.sum(1), 1, atol=1e-5)
    # The MLflow run has per-epoch metrics, and the bundle is a registered model version.
    client = tracking.client(store)
    (run,) = client.search_runs([client.get_experiment_by_name("predict-ss").experiment_id])
    assert run.info.status == "FINISHED" and run.data.params["channels"] == "16"
    assert len(client.get_metric_history(run.info.run_id, "valid_q3")) == 2
    assert tracking.model_versions(client, "ss-predictor") == ["1"]
    # Training can continue from the published model (same network, weights read back from its ONNX file); its width
    # comes from the bundle, not from --channels' default.
    args2 = [a for a in args if a not in ("--publish", "--channels", "16")] + ["--init", "ss-predictor"]
    args2[args2.index("--out") + 1] = str(tmp_path / "b2")
    args2[args2.index("--epochs") + 1] = "1"
    assert main(args2, stdout=io.StringIO()) == 0
    card2 = json.loads((tmp_path / "b2" / "model.json").read_text())
    assert card2["params"]["init"] == "ss-predictor/1" and card2["version"] == "2"
    assert card2["params"]["channels"] == 16


def test_ensemble_averages_members_trained_on_one_split(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTFAM_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("PROTFAM_REGISTRY", str(tmp_path / "registry"))
    data = [
        "--cath-dssp",
        str(DATA / "cath_dssp"),
        "--flip",
        str(DATA / "flip"),
        "--cb513",
        str(DATA / "cb513_head.csv"),
        "--blosum",
        str(BLOSUM),
    ]
    members = []
    for seed in ("1", "2"):  # the same split (--seed 0), other initialisation and batch order
        args = [
            "train",
            *data,
            "--epochs",
            "1",
            "--channels",
            "16",
            "--train-seed",
            seed,
            "--out",
            str(tmp_path / seed),
        ]
        assert main(args, stdout=io.StringIO()) == 0
        members.append(str(tmp_path / seed))
    out = io.StringIO()
    assert main(["ensemble", *members, *data, "--out", str(tmp_path / "ens"), "--publish"], stdout=out) == 0
    card = json.loads((tmp_path / "ens" / "model.json").read_text())
    assert [m["params"]["train_seed"] for m in card["params"]["members"]] == [1, 2]
    assert card["params"]["seed"] == 0 and 0 <= card["metrics"]["valid_q3"] <= 1 and "cb513_q3" in card["metrics"]
    # One ONNX model whose probabilities are the members' mean, served as the default like any SS bundle.
    seq = ["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"]
    ((ss, sa),) = SSPredictor().predict_proba(seq)
    per_member = [SSPredictor(registry.resolve(m, "ss")).predict_proba(seq)[0] for m in members]
    assert np.allclose(ss, np.mean([p[0] for p in per_member], axis=0), atol=1e-5)
    assert np.allclose(sa, np.mean([p[1] for p in per_member], axis=0), atol=1e-5)
    # Members from another split, the same member twice, or continuing an ensemble: one-line errors.
    err = io.StringIO()
    other = ["train", *data, "--epochs", "1", "--channels", "16", "--seed", "3", "--out", str(tmp_path / "s3")]
    assert main(other, stdout=io.StringIO()) == 0
    assert main(["ensemble", members[0], str(tmp_path / "s3"), *data], stdout=io.StringIO(), stderr=err) != 0
    assert "different DSSP splits" in err.getvalue()
    err = io.StringIO()
    assert main(["ensemble", members[0], members[0], *data], stdout=io.StringIO(), stderr=err) != 0
    assert "named twice" in err.getvalue()
    err = io.StringIO()
    cont = ["train", *data, "--epochs", "1", "--init", str(tmp_path / "ens"), "--out", str(tmp_path / "c")]
    assert main(cont, stdout=io.StringIO(), stderr=err) != 0
    assert "is an ensemble of 2 networks" in err.getvalue() and "Traceback" not in err.getvalue()
