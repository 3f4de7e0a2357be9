"""Training runs, registered versions, aliases and resolution through a real sqlite MLflow store (no mocks)."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from protfam_tools.registry import main
from test_registry import X, tiny_bundle

from protfam_core.errors import ModelError
from protfam_core.registry import bundles as registry
from protfam_core.registry import tracking


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow sqlite database: copied per test, since migrating one takes seconds."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    tracking.client(f"sqlite:///{path}").search_experiments()
    return path


def fresh_store(empty_db: Path, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> str:
    """A fresh sqlite store in tmp, configured as the tools' tracking URI; private registry and cache folders."""
    uri = fresh_store(empty_db, tmp_path / "store" / "mlflow.db")
    monkeypatch.setenv("PROTFAM_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("PROTFAM_REGISTRY", str(tmp_path / "shipped"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return uri


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), stdout=out), out.getvalue()


def predict(bundle: registry.Bundle) -> np.ndarray:
    return bundle.onnx("model").run({"fingerprints": X})["probabilities"]


def test_training_run_logs_everything_and_registers(tmp_path: Path, store: str) -> None:
    bundle, want = tiny_bundle(tmp_path / "b", seed=1)
    with tracking.training_run("family-cnn", {"lr": 0.01, "net": {"filters": [8, 16]}}, "abc123") as run:
        run.log_epoch(1, {"loss": 0.9, "valid_accuracy": 0.5})
        run.log_epoch(2, {"loss": 0.4, "valid_accuracy": 0.8})
        version = run.log_bundle(bundle.path)
    assert version == "1"
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.data.params == {"lr": "0.01", "net.filters": "[8, 16]", "dataset_checksum": "abc123"}
    assert [m.value for m in client.get_metric_history(run.run_id, "loss")] == [0.9, 0.4]
    assert logged.data.metrics["final.accuracy"] == 0.9  # the card's metrics
    tags = logged.data.tags
    assert tags["protfam.dataset_checksum"] == "abc123"
    for tool in ("protfam", "torch", "onnxruntime", "mlflow"):
        assert tags[f"protfam.version.{tool}"]
    # Artifacts sit beside the sqlite file, not in the working directory.
    assert logged.info.artifact_uri.startswith((tmp_path / "store" / "mlartifacts").as_uri())
    assert sorted(a.path for a in client.list_artifacts(run.run_id, "bundle/tiny")) == [
        "bundle/tiny/b-model.onnx",
        "bundle/tiny/model.json",
    ]
    registered = client.get_model_version("tiny", "1")
    assert registered.run_id == run.run_id
    assert registered.tags["protfam.model_json_sha256"] == bundle.card_sha256()
    resolved = registry.resolve("tiny/1", "cnn")
    assert resolved.source == f"mlflow {store}" and resolved.path.is_relative_to(tmp_path / "cache")
    np.testing.assert_allclose(predict(resolved), want, atol=1e-5)


def test_default_store_and_mlflow_tracking_uri(tmp_path: Path, empty_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No URI configured: the per-user sqlite file (artifacts beside it); MLFLOW_TRACKING_URI is honoured too."""
    for name in ("PROTFAM_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PROTFAM_REGISTRY", str(tmp_path / "shipped"))
    default_db = tmp_path / "data" / "protfam" / "mlflow.db"
    assert tracking.tracking_uri() == f"sqlite:///{default_db}" and tracking.existing_tracking_uri() is None
    fresh_store(empty_db, default_db)
    bundle, want = tiny_bundle(tmp_path / "b", seed=4)
    with tracking.training_run("vae", {}, None) as run:
        run.log_bundle(bundle.path)
    artifacts = MlflowClient(tracking_uri=tracking.tracking_uri()).get_run(run.run_id).info.artifact_uri
    assert artifacts.startswith((default_db.parent / "mlartifacts").as_uri())
    found = registry.resolve("tiny", "cnn")  # not shipped: found in the existing per-user store
    assert found.source == f"mlflow sqlite:///{default_db}"
    np.testing.assert_allclose(predict(found), want, atol=1e-5)
    other = fresh_store(empty_db, tmp_path / "team" / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    assert tracking.tracking_uri() == other
    with pytest.raises(ModelError, match="unknown model 'tiny'"):
        registry.resolve("tiny", "cnn")


def test_failed_training_is_marked_failed(store: str) -> None:
    with pytest.raises(RuntimeError, match="diverged"), tracking.training_run("vae", {"epochs": 3}, None) as run:
        run.log_epoch(1, {"loss": float("nan")})
        raise RuntimeError("diverged")
    assert MlflowClient(tracking_uri=store).get_run(run.run_id).info.status == "FAILED"


def test_aliases_move_and_resolve_the_right_weights(tmp_path: Path, store: str) -> None:
    b1, want1 = tiny_bundle(tmp_path / "b1", seed=1)
    b2, want2 = tiny_bundle(tmp_path / "b2", seed=2)
    with tracking.training_run("family-cnn", {}, None) as run:
        assert run.log_bundle(b1.path) == "1"
    with tracking.training_run("family-cnn", {}, None) as run:
        assert run.log_bundle(b2.path) == "2"
    np.testing.assert_allclose(predict(registry.resolve("tiny", "cnn")), want2, atol=1e-5)  # no champion: latest
    with pytest.raises(ModelError, match=r"no alias 'champion'.*aliases: none"):
        registry.resolve("tiny@champion", "cnn")
    assert cli("promote", "tiny", "1", "--alias", "champion") == (0, "")
    np.testing.assert_allclose(predict(registry.resolve("tiny@champion", "cnn")), want1, atol=1e-5)
    np.testing.assert_allclose(predict(registry.resolve("tiny", "cnn")), want1, atol=1e-5)
    assert cli("promote", "tiny", "2") == (0, "")  # the alias moves
    np.testing.assert_allclose(predict(registry.resolve("tiny@champion", "cnn")), want2, atol=1e-5)
    assert cli("promote", "tiny", "5")[0] == 2
    with pytest.raises(ModelError, match=r"no alias 'staging'.*aliases: champion"):
        registry.resolve("tiny@staging", "cnn")
    with pytest.raises(ModelError, match="unknown model 'other'"):
        registry.resolve("other@champion", "cnn")
    code, out = cli("list")
    assert code == 0 and out.splitlines()[1:] == ["mlflow\ttiny\t1\tcnn\t", "mlflow\ttiny\t2\tcnn\tchampion"]


def test_a_version_the_store_lacks_is_taken_from_the_shipped_registry(tmp_path: Path, store: str) -> None:
    """Both registries know `tiny`: a version only one of them has is found there, whichever is asked first."""
    shipped, want_shipped = tiny_bundle(tmp_path / "b1", seed=1, version="7")
    trained, want_trained = tiny_bundle(tmp_path / "b2", seed=2)
    registry.publish(shipped.path)
    with tracking.training_run("family-cnn", {}, None) as run:
        assert run.log_bundle(trained.path) == "1"
    np.testing.assert_allclose(predict(registry.resolve("tiny/7", "cnn")), want_shipped, atol=1e-5)
    np.testing.assert_allclose(predict(registry.resolve("tiny/1", "cnn")), want_trained, atol=1e-5)
    assert registry.resolve("tiny/7", "cnn").source == "shipped"
    with pytest.raises(ModelError, match=r"no version '9' in the MLflow registry .*versions: 1\)"):
        registry.resolve("tiny/9", "cnn")  # the registry asked first explains


def test_tampered_store_artifacts_are_refused(tmp_path: Path, store: str) -> None:
    bundle, want = tiny_bundle(tmp_path / "b", seed=1)
    with tracking.training_run("family-cnn", {}, None) as run:
        run.log_bundle(bundle.path)
    stored = next((tmp_path / "store" / "mlartifacts").rglob("bundle/tiny"))
    original = (stored / "b-model.onnx").read_bytes()
    (stored / "b-model.onnx").write_bytes(original[:-20] + bytes(20))
    with pytest.raises(ModelError, match="tampered or corrupt"):
        registry.resolve("tiny/1", "cnn")
    (stored / "b-model.onnx").write_bytes(original)
    card = json.loads((stored / "model.json").read_text())
    card["files"]["model"]["sha256"] = "0" * 64  # a card edited to match some other file
    (stored / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="model.json differs from the sha256 recorded at registration"):
        registry.resolve("tiny/1", "cnn")
    (stored / "model.json").write_bytes((bundle.path / "model.json").read_bytes())
    cached = registry.resolve("tiny/1", "cnn")
    # A damaged cached copy is replaced by a fresh, verified download.
    (cached.path / "model.json").write_text("{}")
    again = registry.resolve("tiny/1", "cnn")
    assert again.path == cached.path
    np.testing.assert_allclose(predict(again), want, atol=1e-5)


def test_import_shipped_registry_and_export_from_store(tmp_path: Path, store: str, empty_db: Path) -> None:
    _, want1 = tiny_bundle(tmp_path / "b1", seed=1)
    _, want2 = tiny_bundle(tmp_path / "b2", seed=2, version="2")
    registry.publish(tmp_path / "b1")
    registry.publish(tmp_path / "b2", alias="candidate")
    assert cli("import") == (0, "tiny\t1\t1\timported\ntiny\t2\t2\timported\n")
    assert cli("import") == (0, "tiny\t1\t1\tpresent\ntiny\t2\t2\tpresent\n")
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    assert {k: str(v) for k, v in client.get_registered_model("tiny").aliases.items()} == {
        "champion": "1",
        "candidate": "2",
    }
    dest = tmp_path / "for-galaxy"
    assert cli("export", "tiny@candidate", str(dest)) == (0, "")
    exported = registry.resolve(str(dest), "cnn")
    assert exported.source == "folder"
    np.testing.assert_allclose(predict(exported), want2, atol=1e-5)
    # An exported bundle imports into another store as a new model version there.
    other = fresh_store(empty_db, tmp_path / "other" / "mlflow.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROTFAM_TRACKING_URI", other)
        assert cli("import", str(dest)) == (0, "tiny\t2\t1\timported\n")
        np.testing.assert_allclose(predict(registry.resolve("tiny/1", "cnn")), want2, atol=1e-5)
        # With a store configured, names are asked there first, but a tool's default stays the shipped one.
        np.testing.assert_allclose(predict(registry.resolve("tiny", "cnn")), want2, atol=1e-5)
        default = registry.resolve(None, "cnn")
        assert default.source == "shipped"
        np.testing.assert_allclose(predict(default), want1, atol=1e-5)
    np.testing.assert_allclose(predict(registry.resolve("tiny@champion", "cnn")), want1, atol=1e-5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROTFAM_TRACKING_URI", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the user's setting wins over protfam's default
    monkeypatch.setenv("PROTFAM_REGISTRY", str(tmp_path / "shipped"))
    with pytest.raises(ModelError, match="cannot be reached"):
        registry.resolve("tiny@champion", "cnn")
    with pytest.raises(ModelError, match="starting a 'vae' run.*cannot be reached"):
        tracking.training_run("vae", {}, None).__enter__()
    code, _ = cli("list")
    assert code == 2


def wait_healthy(url: str, server: subprocess.Popen, limit_s: float = 90.0) -> None:
    """Poll the server's /health until it answers (bounded), failing early if the process died."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited with {server.returncode}: {server.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"mlflow server at {url} not healthy after {limit_s:.0f} s")


@pytest.mark.slow
def test_resolve_through_a_real_mlflow_server(tmp_path: Path, empty_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A team setup: train, register, promote and resolve through `mlflow server` (artifacts proxied by it)."""
    backend = fresh_store(empty_db, tmp_path / "server" / "mlflow.db")
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", backend, "--artifacts-destination", (tmp_path / "server" / "artifacts").as_uri(),
    ]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, server)
        monkeypatch.setenv("PROTFAM_TRACKING_URI", url)
        monkeypatch.setenv("PROTFAM_REGISTRY", str(tmp_path / "shipped"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        bundle, want = tiny_bundle(tmp_path / "b", seed=3)
        with tracking.training_run("family-cnn", {"lr": 0.1}, "abc") as run:
            run.log_epoch(1, {"loss": 0.3})
            assert run.log_bundle(bundle.path) == "1"
        assert cli("promote", "tiny", "1") == (0, "")
        resolved = registry.resolve("tiny@champion", "cnn")
        assert resolved.source == f"mlflow {url}" and resolved.path.is_relative_to(tmp_path / "cache")
        np.testing.assert_allclose(predict(resolved), want, atol=1e-5)
        assert any((tmp_path / "server" / "artifacts").rglob("model.json"))  # stored by the server, not locally
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
