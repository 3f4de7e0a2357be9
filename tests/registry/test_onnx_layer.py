"""torch -> ONNX export (numeric check, dynamic axes) and the sha256-verified onnxruntime loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from protfam_core.errors import ModelError
from protfam_core.io.atomic import sha256_file
from protfam_core.registry.onnx_export import export_onnx
from protfam_core.registry.onnx_runtime import OnnxModel


class TwoHeads(torch.nn.Module):
    """A small encoder-like module with two outputs, like the VAE encoders."""

    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.Tanh())
        self.mean = torch.nn.Linear(16, 3)
        self.log_sigma = torch.nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mean(h), self.log_sigma(h)


class PerPosition(torch.nn.Module):
    """Per-position scores over a (batch, length) token tensor, like the SS predictor."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(22, 4)
        self.head = torch.nn.Linear(4, 3)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.head(self.embed(tokens)), dim=-1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[TwoHeads, Path, str]:
    torch.manual_seed(1)
    module = TwoHeads()
    path = tmp_path_factory.mktemp("onnx") / "enc.onnx"
    sha = export_onnx(module, (torch.randn(4, 12),), path, ["x"], ["z_mean", "z_log_sigma"])
    return module, path, sha


def test_export_returns_file_sha_and_batch_axis_is_dynamic(exported: tuple[TwoHeads, Path, str]) -> None:
    module, path, sha = exported
    assert sha == sha256_file(path)
    model = OnnxModel(path, sha)
    assert model.input_names == ["x"] and model.output_names == ["z_mean", "z_log_sigma"]
    assert "CPUExecutionProvider" in model.providers
    for batch in (1, 7, 33):  # none of these is the export batch of 4
        x = np.random.default_rng(batch).normal(size=(batch, 12))  # float64: cast to the model's float32
        got = model.run({"x": x})
        with torch.no_grad():
            want = module(torch.as_tensor(x, dtype=torch.float32))
        assert got["z_mean"].shape == (batch, 3)
        np.testing.assert_allclose(got["z_mean"], want[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(got["z_log_sigma"], want[1].numpy(), atol=1e-5)


def test_export_keeps_training_mode_and_leaves_no_temp_files(tmp_path: Path) -> None:
    module = TwoHeads().train()
    export_onnx(module, (torch.randn(1, 12),), tmp_path / "new" / "m.onnx", ["x"], ["a", "b"])
    assert module.training
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["m.onnx"]


def test_extra_dynamic_axes(tmp_path: Path) -> None:
    torch.manual_seed(2)
    module = PerPosition()
    tokens = torch.randint(1, 22, (2, 9))
    sha = export_onnx(module, (tokens,), tmp_path / "ss.onnx", ["tokens"], ["prob"], 1e-5, {"tokens": {1: "length"}})
    model = OnnxModel(tmp_path / "ss.onnx", sha)
    longer = torch.randint(1, 22, (3, 40))
    with torch.no_grad():
        want = module(longer).numpy()
    np.testing.assert_allclose(model.run({"tokens": longer.numpy()})["prob"], want, atol=1e-6)


class ShapeBranch(torch.nn.Module):
    """Python control flow on the batch size: tracing freezes one branch, so ONNX is wrong for other batches."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 if x.shape[0] > 1 else x


def test_export_refused_when_onnx_disagrees_with_torch(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="differs from torch .* on a batch of 1"):
        export_onnx(ShapeBranch(), (torch.randn(4, 3),), tmp_path / "bad.onnx", ["x"], ["y"])
    assert list(tmp_path.iterdir()) == []


def test_tampered_model_refused_before_parsing(exported: tuple[TwoHeads, Path, str], tmp_path: Path) -> None:
    _, path, sha = exported
    copy = tmp_path / "copy.onnx"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="tampered or corrupt"):
        OnnxModel(copy, sha)


def test_corrupt_or_missing_onnx_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelError, match="corrupt or not an ONNX file"):
        OnnxModel(junk)
    with pytest.raises(ModelError, match="not found"):
        OnnxModel(tmp_path / "absent.onnx")


def test_wrong_input_names_are_a_model_error(exported: tuple[TwoHeads, Path, str]) -> None:
    _, path, sha = exported
    with pytest.raises(ModelError, match="takes inputs"):
        OnnxModel(path, sha).run({"tokens": np.zeros((1, 12))})
