"""The paper's family CNN (section 2.3) and its training loop: torch, used by `classify-cnn train` only.

Input: the 3 x 30 fingerprint matrix (rows aa, ss, sa) as a 1-channel image. Two blocks of Conv2D 7x7 ('same',
stride 1) -> BatchNorm -> Dropout 0.3 -> ReLU with 20 then 120 filters; flatten; one dense unit per family with a
sigmoid. Loss: binary cross-entropy, so a row placed in a foreign frame can carry an all-zero target.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from protfam_core.registry.onnx_export import export_onnx

INPUT_NAME = "fingerprints"
OUTPUT_NAME = "probabilities"


class FamilyCNN(nn.Module):
    """Paper CNN; `forward` gives sigmoid probabilities (exported), `logits` feeds the numerically stable loss."""

    def __init__(self, n_families: int, height: int = 3, width: int = 30, filters: tuple[int, int] = (20, 120)):
        super().__init__()
        blocks: list[nn.Module] = []
        channels = 1
        # A 7 x 7 'same' kernel on a 1-row input (the fast path's aa row) multiplies zero padding with 6 of its 7 rows:
        # a 1 x 7 kernel is the same function at a seventh of the cost.
        kernel = (7 if height > 1 else 1, 7)
        for n in filters:
            blocks += [
                nn.Conv2d(channels, n, kernel, stride=1, padding="same"),
                nn.BatchNorm2d(n),
                nn.Dropout(0.3),
                nn.ReLU(),
            ]
            channels = n
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.dense = nn.Linear(channels * height * width, n_families)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


@dataclass(frozen=True)
class TrainConfig:
    """Training knobs; every run is seeded and bounded by epochs and wall time."""

    seed: int = 0
    epochs: int = 40
    patience: int = 5
    batch_size: int = 512
    learning_rate: float = 1e-3
    max_minutes: float = 8.0
    epoch_rows: int = 20000  # rows sampled per epoch (0 = all): keeps an epoch short on 2 CPU cores
    val_rows: int = 5000  # validation rows used for early stopping (0 = all)
    positive_weight: float = 1.0


def as_images(fingerprints: np.ndarray) -> np.ndarray:
    """(n, 3, 30) fingerprints -> (n, 1, 3, 30) float32 images, the CNN's input layout."""
    x = np.asarray(fingerprints, dtype=np.float32)
    return x[:, None, :, :] if x.ndim == 3 else x


def _loss(model: FamilyCNN, x: torch.Tensor, y: torch.Tensor, pos_weight: torch.Tensor) -> torch.Tensor:
    return nn.functional.binary_cross_entropy_with_logits(model.logits(x), y, pos_weight=pos_weight)


def _evaluate(model: FamilyCNN, x: np.ndarray, y: np.ndarray, batch: int, pos_weight: torch.Tensor) -> dict:
    """Validation loss, and the share of rows whose 0.5-thresholded outputs equal the target exactly."""
    model.eval()
    loss, exact = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb, yb = torch.from_numpy(x[i : i + batch]), torch.from_numpy(y[i : i + batch])
            logits = model.logits(xb)
            loss += float(nn.functional.binary_cross_entropy_with_logits(logits, yb, pos_weight=pos_weight)) * len(xb)
            exact += int(torch.all((logits >= 0) == (yb >= 0.5), dim=1).sum())
    n = max(len(x), 1)
    return {"val_loss": loss / n, "val_accuracy": exact / n}


def train_cnn(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: TrainConfig | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[FamilyCNN, list[dict[str, float]]]:
    """Train on (n, 3, 30) fingerprints with multi-hot targets (all-zero rows allowed); early stopping on val loss.

    Each epoch is a fresh seeded sample of `epoch_rows` training rows; early stopping watches a fixed seeded sample
    of `val_rows` validation rows.

    Returns the model with the best validation loss restored, in eval mode, and the per-epoch history.
    """
    config = config or TrainConfig()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    xt, yt = as_images(x_train), np.asarray(y_train, dtype=np.float32)
    xv, yv = as_images(x_val), np.asarray(y_val, dtype=np.float32)
    if config.val_rows and len(xv) > config.val_rows:
        keep = np.sort(rng.choice(len(xv), config.val_rows, replace=False))
        xv, yv = xv[keep], yv[keep]
    model = FamilyCNN(yt.shape[1], height=xt.shape[2], width=xt.shape[3])
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    pos_weight = torch.full((yt.shape[1],), config.positive_weight)
    best, best_state, stale, history = float("inf"), copy.deepcopy(model.state_dict()), 0, []
    deadline = time.monotonic() + 60 * config.max_minutes
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = rng.permutation(len(xt))[: config.epoch_rows or None]
        running = 0.0
        for i in range(0, len(order), config.batch_size):
            idx = order[i : i + config.batch_size]
            if len(idx) < 2:  # BatchNorm needs two rows in training mode
                continue
            optimiser.zero_grad()
            loss = _loss(model, torch.from_numpy(xt[idx]), torch.from_numpy(yt[idx]), pos_weight)
            loss.backward()
            optimiser.step()
            running += loss.item() * len(idx)
        metrics = {"train_loss": running / len(order), **_evaluate(model, xv, yv, 1024, pos_weight)}
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(epoch, metrics)
        if metrics["val_loss"] < best - 1e-6:
            best, best_state, stale = metrics["val_loss"], copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
        if stale >= config.patience or time.monotonic() > deadline:
            break
    model.load_state_dict(best_state)
    return model.eval(), history


def predict(model: FamilyCNN, fingerprints: np.ndarray, batch: int = 2048) -> np.ndarray:
    """Sigmoid outputs (n, families) from torch, for checks against the ONNX export."""
    x = as_images(fingerprints)
    model.eval()
    with torch.no_grad():
        parts = [model(torch.from_numpy(x[i : i + batch])).numpy() for i in range(0, len(x), batch)]
    return np.concatenate(parts) if parts else np.zeros((0, model.dense.out_features), np.float32)


def export(model: FamilyCNN, path: str | Path, example: np.ndarray) -> str:
    """ONNX export with a dynamic batch axis and a numeric check against torch; returns the file's sha256."""
    example_t = torch.from_numpy(as_images(example[:8]))
    return export_onnx(model.eval(), (example_t,), path, [INPUT_NAME], [OUTPUT_NAME])
