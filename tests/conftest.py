"""Fixtures shared by several test modules."""

from pathlib import Path

import pytest
from protfam_tools.encode_vae import main as encode_vae

MINI = Path(__file__).resolve().parent / "data" / "mini"


@pytest.fixture(scope="session")
def tiny_vae(tmp_path_factory) -> Path:
    """A tiny VAE trained once for two epochs through `encode-vae train` on the mini dataset.

    Folder layout: bundle/ (the model), cache/ (placements + SS/SA features), mlflow.db (its tracked run).
    """
    tmp = tmp_path_factory.mktemp("tiny_vae")
    mp = pytest.MonkeyPatch()
    mp.setenv("PROTFAM_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    try:
        args = ["train", "--dataset", str(MINI), "--out", str(tmp / "bundle"), "--cache", str(tmp / "cache")]
        assert encode_vae([*args, "--epochs", "2", "--batch-size", "32", "--threads", "1"]) == 0
    finally:
        mp.undo()
    return tmp
