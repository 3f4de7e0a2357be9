"""The paper's CNN (section 2.3): layers, size, sigmoid outputs, and an ONNX export that matches torch."""

from pathlib import Path

import numpy as np
import torch
from torch import nn

from protfam_core.cnn.model import FamilyCNN, as_images, export, predict
from protfam_core.registry.onnx_export import parameter_count
from protfam_core.registry.onnx_runtime import OnnxModel

COMPBIOLAB = Path(__file__).resolve().parents[1] / "data" / "fingerprints" / "published"


def _real_fingerprints(n: int) -> np.ndarray:
    """(n, 3, 30) stacks of the authors' published 30-float fingerprints (real values, real scale)."""
    files = sorted(COMPBIOLAB.glob("*.txt"))[: 3 * n]
    vectors = np.array([np.loadtxt(f) for f in files], dtype=np.float32)
    return vectors.reshape(n, 3, 30)


def test_layers_follow_the_paper():
    model = FamilyCNN(7)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [20, 120]
    assert all(c.kernel_size == (7, 7) and c.stride == (1, 1) and c.padding == "same" for c in convs)
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 2
    assert model.dense.in_features == 120 * 3 * 30 and model.dense.out_features == 7
    conv = (49 * 1 * 20 + 20) + (49 * 20 * 120 + 120)
    assert parameter_count(model) == conv + 2 * (20 + 120) + 120 * 90 * 7 + 7


def test_outputs_are_independent_sigmoids_and_onnx_matches_torch(tmp_path: Path):
    torch.manual_seed(0)
    x = _real_fingerprints(12)
    model = FamilyCNN(5).eval()
    p = predict(model, x)
    assert p.shape == (12, 5) and np.all((p > 0) & (p < 1))
    assert not np.allclose(p.sum(axis=1), 1.0)  # one sigmoid per family, not a softmax
    sha = export(model, tmp_path / "cnn.onnx", x)
    onnx = OnnxModel(tmp_path / "cnn.onnx", sha)
    for batch in (x[:1], x):  # dynamic batch axis
        got = onnx.run({"fingerprints": as_images(batch)})["probabilities"]
        assert np.max(np.abs(got - predict(model, batch))) < 1e-4
