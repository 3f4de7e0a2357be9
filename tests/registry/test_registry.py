"""Model bundles, the shipped registry folder, reference resolution and the protfam-registry CLI (no MLflow)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from protfam_tools.registry import main

from protfam_core.errors import InputError, ModelError
from protfam_core.io.atomic import sha256_file
from protfam_core.registry import bundles as registry
from protfam_core.registry.onnx_export import export_onnx

X = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)


def tiny_bundle(folder: Path, seed: int, version: str = "1") -> tuple[registry.Bundle, np.ndarray]:
    """A real exported CNN-kind bundle and what torch predicts for X."""
    torch.manual_seed(seed)
    module = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3), torch.nn.Sigmoid())
    onnx_path = folder.parent / f"{folder.name}-model.onnx"
    folder.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(module, (torch.from_numpy(X[:2]),), onnx_path, ["fingerprints"], ["probabilities"])
    card = {"version": version, "families": ["PF1", "PF2", "PF3"], "metrics": {"accuracy": 0.9}, "params": {"lr": 1}}
    bundle = registry.save_bundle(folder, "tiny", "cnn", {"model": onnx_path}, card)
    with torch.no_grad():
        return bundle, module(torch.from_numpy(X)).numpy()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private shipped registry and per-user folders, and no configured MLflow store."""
    monkeypatch.setenv("PROTFAM_REGISTRY", str(tmp_path / "shipped"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PROTFAM_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path / "shipped"


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), stdout=out)
    return code, out.getvalue()


def test_save_bundle_card_and_verified_files(tmp_path: Path) -> None:
    bundle, _ = tiny_bundle(tmp_path / "b", seed=1)
    card = json.loads((tmp_path / "b" / "model.json").read_text())
    assert (card["name"], card["version"], card["kind"]) == ("tiny", "1", "cnn")
    assert card["families"] == ["PF1", "PF2", "PF3"] and card["metrics"] == {"accuracy": 0.9}
    for key in ("params", "data", "protfam_version", "tool_versions", "created"):
        assert key in card
    assert {"protfam", "torch", "onnxruntime"} <= set(card["tool_versions"])
    path = bundle.file("model")
    assert path.parent == tmp_path / "b" and card["files"]["model"]["sha256"] == sha256_file(path)
    with pytest.raises(ModelError, match="no 'hmm' file"):
        bundle.file("hmm")
    with pytest.raises(ModelError, match="unknown model kind"):
        registry.save_bundle(tmp_path / "c", "tiny", "svm", {"model": path}, {})


def test_bundle_folder_ref_predicts_like_torch(tmp_path: Path) -> None:
    _, want = tiny_bundle(tmp_path / "b", seed=1)
    bundle = registry.resolve(str(tmp_path / "b"), "cnn")
    got = bundle.onnx("model").run({"fingerprints": X})["probabilities"]
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert registry.resolve(str(tmp_path / "b" / "model.json"), None).path == tmp_path / "b"


def test_tampered_artifact_and_missing_card_refused(tmp_path: Path) -> None:
    bundle, _ = tiny_bundle(tmp_path / "b", seed=1)
    with bundle.file("model").open("r+b") as handle:
        handle.seek(40)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(ModelError, match="tampered or corrupt"):
        registry.resolve(str(tmp_path / "b"), "cnn")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no model.json"):
        registry.resolve(str(tmp_path / "empty"), "cnn")
    (tmp_path / "empty" / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match="corrupt model card"):
        registry.resolve(str(tmp_path / "empty"), "cnn")
    with pytest.raises(ModelError, match="no model bundle folder"):
        registry.resolve(str(tmp_path / "absent"), "cnn")


def test_publish_then_resolve_by_default_name_alias_and_version(tmp_path: Path, isolated: Path) -> None:
    with pytest.raises(ModelError, match="no default 'cnn' model is shipped"):
        registry.resolve(None, "cnn")
    _, want1 = tiny_bundle(tmp_path / "b1", seed=1)
    first = registry.publish(tmp_path / "b1")
    assert first.path == isolated / "tiny" / "1"
    # Same version number, other weights: shipped as the next free version, and champion moves there.
    _, want2 = tiny_bundle(tmp_path / "b2", seed=2)
    second = registry.publish(tmp_path / "b2")
    assert second.version == "2" and second.card["version"] == "2"
    manifest = json.loads((isolated / "manifest.json").read_text())
    assert manifest["defaults"]["cnn"] == "tiny"
    cards = {v: registry.Bundle.load(isolated / "tiny" / v).card_sha256() for v in ("1", "2")}
    assert manifest["models"]["tiny"] == {
        "kind": "cnn",
        "versions": ["1", "2"],
        "aliases": {"champion": "2"},
        "cards": cards,  # every shipped model.json pinned by the manifest
    }
    for ref, want in ((None, want2), ("tiny", want2), ("tiny@champion", want2), ("tiny/1", want1)):
        bundle = registry.resolve(ref, "cnn")
        assert bundle.source == "shipped"
        got = bundle.onnx("model").run({"fingerprints": X})["probabilities"]
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert registry.publish(tmp_path / "b1").version == "1"  # identical bundle: no new version, champion moves back
    assert registry.resolve(None, "cnn").ref == "tiny/1"
    # Same weights, another card (a recalibrated threshold): a new version, not silently the old one.
    card = json.loads((tmp_path / "b1" / "model.json").read_text())
    (tmp_path / "b1" / "model.json").write_text(json.dumps({**card, "threshold": 0.25}))
    third = registry.publish(tmp_path / "b1")
    assert third.version == "3" and third.card["threshold"] == 0.25


def test_concurrent_publishing_loses_nothing(tmp_path: Path, isolated: Path) -> None:
    folders = [tiny_bundle(tmp_path / f"b{seed}", seed=seed)[0].path for seed in range(4)]
    with ThreadPoolExecutor(4) as pool:
        shipped = list(pool.map(lambda folder: registry.publish(folder, alias=None), folders))
    assert sorted(b.version for b in shipped) == ["1", "2", "3", "4"]
    assert registry.load_manifest(isolated)["models"]["tiny"]["versions"] == ["1", "2", "3", "4"]
    for bundle in shipped:
        bundle.verify()


def test_unknown_names_aliases_versions_and_kinds(tmp_path: Path) -> None:
    tiny_bundle(tmp_path / "b", seed=1)
    registry.publish(tmp_path / "b")
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        registry.resolve("nope", "cnn")
    with pytest.raises(ModelError, match=r"no alias 'staging'.*aliases: champion"):
        registry.resolve("tiny@staging", "cnn")
    with pytest.raises(ModelError, match=r"no version '9'.*versions: 1"):
        registry.resolve("tiny/9", "cnn")
    with pytest.raises(ModelError, match="is a 'cnn' model, a 'vae' model is needed"):
        registry.resolve("tiny", "vae")
    with pytest.raises(ModelError, match="no default 'vae' model"):
        registry.resolve(None, "vae")
    with pytest.raises(ModelError, match="invalid alias"):
        registry.resolve("tiny@", "cnn")


def test_repository_manifest_is_consistent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped registry/ in the repo: well-formed, and every listed bundle exists and verifies."""
    monkeypatch.delenv("PROTFAM_REGISTRY")
    root = registry.registry_dir()
    assert root == Path(registry.__file__).resolve().parents[2] / "registry"
    manifest = registry.load_manifest(root)
    assert manifest["format"] == 1 and set(manifest["defaults"]) <= set(registry.KINDS)
    for kind, name in manifest["defaults"].items():
        assert name is None or manifest["models"][name]["kind"] == kind
    for name, entry in manifest["models"].items():
        assert set(entry["aliases"].values()) <= set(entry["versions"])
        for version in entry["versions"]:
            bundle = registry.Bundle.load(root / name / version)
            assert (bundle.name, bundle.kind) == (name, entry["kind"])
            bundle.verify()


def test_cli_list_show_promote_export(tmp_path: Path, isolated: Path) -> None:
    tiny_bundle(tmp_path / "b1", seed=1)
    tiny_bundle(tmp_path / "b2", seed=2, version="2")
    registry.publish(tmp_path / "b1")
    registry.publish(tmp_path / "b2", alias=None)
    code, out = cli("list")
    assert code == 0
    assert out.splitlines() == [
        "source\tname\tversion\tkind\taliases",
        "shipped\ttiny\t1\tcnn\tchampion",
        "shipped\ttiny\t2\tcnn\t",
    ]
    assert cli("promote", "tiny", "2", "--shipped") == (0, "")
    assert cli("list")[1].splitlines()[1:] == ["shipped\ttiny\t1\tcnn\t", "shipped\ttiny\t2\tcnn\tchampion"]
    code, out = cli("show", "tiny")
    assert code == 0 and json.loads(out)["version"] == "2"
    assert cli("show", "tiny@gold")[0] == 2
    dest = tmp_path / "exported"
    assert cli("export", "tiny/1", str(dest)) == (0, "")
    exported = registry.resolve(str(dest), "cnn")
    assert sorted(p.name for p in dest.iterdir()) == ["b1-model.onnx", "model.json"]
    assert exported.card["files"] == registry.resolve("tiny/1", "cnn").card["files"]
    before = sorted(dest.iterdir())
    assert cli("export", "tiny/2", str(dest))[0] == 2  # refuses to overwrite, leaves the folder as it was
    assert sorted(dest.iterdir()) == before
    with pytest.raises(InputError):
        registry.export_bundle("tiny/2", dest)


def test_inference_path_imports_neither_torch_nor_mlflow(tmp_path: Path, isolated: Path) -> None:
    """A CLI path plus an ONNX prediction from the shipped registry, in a fresh interpreter."""
    tiny_bundle(tmp_path / "b", seed=1)
    registry.publish(tmp_path / "b")
    script = (
        "import io, sys, numpy as np\n"
        "from protfam_tools.registry import main\n"
        "assert main(['show', 'tiny@champion'], stdout=io.StringIO()) == 0\n"
        "from protfam_core.registry.bundles import resolve\n"
        "out = resolve(None, 'cnn').onnx('model').run({'fingerprints': np.zeros((2, 6))})\n"
        "assert out['probabilities'].shape == (2, 3)\n"
        "print(sorted(m for m in ('torch', 'mlflow') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
