"""Issue 19 items 6 and 9: malformed cards and artifact paths outside a bundle are refused; the shipped defaults
resolve with no store contacted, and a sqlite URI naming a folder fails at once."""

import json
import shutil
import time
from pathlib import Path

import pytest

from protfam_core.errors import ModelError
from protfam_core.registry import tracking
from protfam_core.registry.bundles import Bundle, chain_bundle, resolve


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "b"
    shutil.copytree(resolve(None, "vae").path, folder)
    return folder


def _edit(folder: Path, change) -> None:
    card = json.loads((folder / "model.json").read_text())
    change(card)
    (folder / "model.json").write_text(json.dumps(card))


@pytest.mark.parametrize("bad", ["../outside.onnx", "/etc/passwd", "a/../../x"])
def test_artifact_paths_outside_the_bundle_are_refused(bundle: Path, bad: str):
    _edit(bundle, lambda c: next(iter(c["files"].values())).__setitem__("path", bad))
    with pytest.raises(ModelError, match="points outside the bundle"):
        Bundle.load(bundle)


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.__setitem__("name", 3),
        lambda c: c.__setitem__("version", [1]),
        lambda c: c["files"].__setitem__("aa", "x.onnx"),
        lambda c: c["files"].__setitem__("aa", {"path": "x.onnx"}),
    ],
)
def test_malformed_card_fields_are_refused(bundle: Path, change):
    _edit(bundle, change)
    with pytest.raises(ModelError, match="malformed model card"):
        Bundle.load(bundle)


def test_shipped_defaults_resolve_without_contacting_the_store(monkeypatch):
    monkeypatch.setenv("PROTFAM_TRACKING_URI", "http://192.0.2.1:5000")  # TEST-NET: unreachable

    def no_store(*args, **kwargs):
        raise AssertionError("the store was contacted for a shipped default")

    monkeypatch.setattr(tracking, "client", no_store)
    for role in ("frames", "vae", "ss"):
        assert chain_bundle(role).source == "shipped"


def test_a_sqlite_uri_at_a_folder_fails_at_once(tmp_path: Path):
    start = time.monotonic()
    with pytest.raises(ModelError, match="is a folder, not a database file"):
        tracking.client(f"sqlite:///{tmp_path}")
    assert time.monotonic() - start < 10


def test_a_shipped_card_edited_after_publishing_is_refused(tmp_path: Path, monkeypatch):
    """The manifest pins every shipped model.json, the CNN's too: a changed threshold cannot slip in unnoticed."""
    shipped = resolve(None, "cnn")
    copy = tmp_path / "registry"
    shutil.copytree(shipped.path.parents[1], copy)
    monkeypatch.setenv("PROTFAM_REGISTRY", str(copy))
    assert resolve(None, "cnn").card_sha256() == shipped.card_sha256()  # the intact copy resolves
    _edit(copy / shipped.name / shipped.version, lambda card: card.update(threshold=0.0))
    with pytest.raises(ModelError, match="model.json is tampered or corrupt"):
        resolve(None, "cnn")


def test_the_repository_manifest_pins_every_shipped_card():
    from protfam_core.registry.bundles import load_manifest, registry_dir

    manifest = load_manifest()
    for name, entry in manifest["models"].items():
        assert set(entry["cards"]) == set(entry["versions"]), name
        for version, sha in entry["cards"].items():
            assert Bundle.load(registry_dir() / name / version).card_sha256() == sha, (name, version)
