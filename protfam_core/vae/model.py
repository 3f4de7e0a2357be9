"""The paper's VAE (section 2.2) in PyTorch and its training loop: one network per feature channel.

Layers as the paper lists them: input (W x k one-hot, flattened) -> dense 128 ReLU -> z_mean, z_log_sigma (30,
linear) -> z = z_mean + exp(z_log_sigma) * eps with eps ~ N(0, 0.1) -> dense 128 ReLU -> sigmoid output (W x k).
Loss = binary cross-entropy summed over the input + KL(N(z_mean, exp(z_log_sigma)^2) || N(0, 1)).

`arch="deep"` (issue 20) is the same VAE with a second hidden layer on each side and a categorical output: a softmax
per frame column over the channel's symbols and cross-entropy per column, since a column holds exactly one symbol and
the paper's independent sigmoids spend capacity on impossible outputs. Its decoder is shared by all families and sees
only z, as the paper's, so z must carry the family too and fingerprints stay comparable across families.
For measurement (benchmarks/vae_hidden_width.py --tell-frame) the deep decoder can also be told each row's frame, as
per-family PCA is: then z need not name the family. The encoder never is told; it reads the row.
Training-only: inference goes through the ONNX export (vae_encode), never through torch.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

HIDDEN = 128
LATENT = 30
EPS_SD = 0.1
ARCHS = ("paper", "deep")


def _extra_layers(hidden: int, depth: int) -> nn.Sequential:
    """The hidden layers after the first (Linear + ReLU each); empty for the paper's depth 1."""
    return nn.Sequential(*(m for _ in range(depth - 1) for m in (nn.Linear(hidden, hidden), nn.ReLU())))


class Encoder(nn.Module):
    """Input one-hot (flattened) -> (z_mean, z_log_sigma); `depth` hidden layers."""

    def __init__(self, in_dim: int, hidden: int = HIDDEN, latent: int = LATENT, depth: int = 1):
        super().__init__()
        self.hidden = nn.Linear(in_dim, hidden)
        self.deeper = _extra_layers(hidden, depth)
        self.z_mean = nn.Linear(hidden, latent)
        self.z_log_sigma = nn.Linear(hidden, latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.deeper(torch.relu(self.hidden(x)))
        return self.z_mean(h), self.z_log_sigma(h)


class Decoder(nn.Module):
    """Latent z -> per-symbol probabilities, flattened like the input: independent sigmoids (the paper's) or, with
    `symbols`, a softmax over each column's `symbols` outputs. With `columns` (frame_columns) it is told each row's
    frame and adds a learned bias per frame column and symbol, so z need not carry the frame's own letters."""

    def __init__(
        self,
        out_dim: int,
        hidden: int = HIDDEN,
        latent: int = LATENT,
        depth: int = 1,
        symbols: int = 0,
        columns: torch.Tensor | None = None,
        frame_rank: int = 0,
    ):
        super().__init__()
        self.symbols = symbols
        self.hidden = nn.Linear(latent, hidden)
        self.deeper = _extra_layers(hidden, depth)
        self.out = nn.Linear(hidden, out_dim)
        self.register_buffer("columns", columns)
        ids = 0 if columns is None else int(columns.max()) + 1
        self.frame_bias = None if columns is None else nn.Parameter(torch.zeros(ids, symbols))
        # frame_rank > 0: also a linear map per frame column from `frame_rank` shared features of h, as per-family
        # PCA has one component per code float for every frame column.
        self.frame_rank = frame_rank if columns is not None else 0
        if self.frame_rank:
            self.to_rank = nn.Linear(hidden, frame_rank)
            self.frame_maps = nn.Parameter(torch.randn(ids, symbols, frame_rank) / math.sqrt(frame_rank))

    def forward(self, z: torch.Tensor, frame: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.logits(z, frame)
        if not self.symbols:
            return torch.sigmoid(logits)
        return torch.softmax(logits.unflatten(1, (-1, self.symbols)), dim=2).flatten(1)

    def logits(self, z: torch.Tensor, frame: torch.Tensor | None = None) -> torch.Tensor:
        """Pre-sigmoid (pre-softmax) output: the loss uses it for a numerically stable cross-entropy."""
        h = self.deeper(torch.relu(self.hidden(z)))
        out = self.out(h)
        if frame is None:
            return out
        ids = self.columns[frame]  # (n, W)
        out = out + self.frame_bias[ids].flatten(1)
        if self.frame_rank:
            g = self.to_rank(h)
            pad = self.frame_maps.shape[0] - 1
            maps = torch.zeros(len(z), ids.shape[1], self.symbols, dtype=out.dtype)
            frames = torch.unique(frame)
            own = [self.columns[f][self.columns[f] != pad] for f in frames]
            # one gather for the batch's frames (its backward fills the table once), one small product per frame
            tables = self.frame_maps[torch.cat(own)].split([len(o) for o in own])
            for f, table in zip(frames, tables, strict=True):
                rows = (frame == f).nonzero().squeeze(1)
                maps[rows, : len(table)] = torch.einsum("wsr,nr->nws", table, g[rows])
            out = out + maps.flatten(1)
        return out


def frame_columns(widths: list[int], width: int) -> torch.Tensor:
    """(frames, width) column ids: frame f's column j gets its own id, every padded position one shared id."""
    pad = sum(widths)
    table = torch.full((len(widths), width), pad, dtype=torch.long)
    start = 0
    for f, w in enumerate(widths):
        table[f, :w] = torch.arange(start, start + w)
        start += w
    return table


class ChannelVAE(nn.Module):
    """One VAE for one channel (aa, ss or sa) at a fixed input width; `symbols` per column for arch "deep"."""

    def __init__(
        self,
        in_dim: int,
        hidden: int = HIDDEN,
        latent: int = LATENT,
        eps_sd: float = EPS_SD,
        arch: str = "paper",
        symbols: int = 0,
        frame_widths: list[int] | None = None,
        frame_rank: int = 0,
    ):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown VAE architecture {arch!r} (known: {', '.join(ARCHS)})")
        if arch == "deep" and symbols < 1:
            raise ValueError("the deep VAE needs the channel's symbols per column")
        self.in_dim = in_dim
        self.eps_sd = eps_sd
        self.arch = arch
        self.symbols = symbols if arch == "deep" else 0  # the paper's sigmoid outputs ignore the column structure
        depth = 2 if arch == "deep" else 1
        self.encoder = Encoder(in_dim, hidden, latent, depth)
        if frame_widths is not None and arch != "deep":
            raise ValueError("only the deep VAE can be told the frame")
        columns = None if frame_widths is None else frame_columns(frame_widths, in_dim // symbols)
        self.decoder = Decoder(in_dim, hidden, latent, depth, self.symbols, columns, frame_rank)

    def forward(
        self, x: torch.Tensor, frame: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction logits, z_mean, z_log_sigma); sampling only in training mode. `frame` (family index per
        row) only for a decoder told the frame."""
        z_mean, z_log_sigma = self.encoder(x)
        z = z_mean + torch.exp(z_log_sigma) * torch.randn_like(z_mean) * self.eps_sd if self.training else z_mean
        return self.decoder.logits(z, frame), z_mean, z_log_sigma


def vae_loss(
    logits: torch.Tensor, x: torch.Tensor, z_mean: torch.Tensor, z_log_sigma: torch.Tensor, symbols: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-batch mean of (reconstruction loss summed over the input, KL summed over the latent): binary
    cross-entropy per output, or with `symbols` categorical cross-entropy per column."""
    if symbols:
        logp = torch.log_softmax(logits.unflatten(1, (-1, symbols)), dim=2).flatten(1)
        rec = -(x * logp).sum() / x.shape[0]
    else:
        rec = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    kl = -0.5 * torch.sum(1 + 2 * z_log_sigma - z_mean.pow(2) - torch.exp(2 * z_log_sigma)) / x.shape[0]
    return rec, kl


@dataclass
class TrainConfig:
    """Knobs of one channel's training run; seeded so a rerun gives the same network."""

    epochs: int = 200
    batch_size: int = 128
    lr: float = 2e-3
    patience: int = 8
    seed: int = 0
    max_seconds: float = 300.0
    threads: int = 1  # measured: 2 threads are ~10x slower than 1 on the shared 2-core machine
    kl_weight: float = 1.0
    hidden: int = HIDDEN  # the paper's 128
    arch: str = "paper"  # or "deep" (module docstring)
    frame_rank: int = 0  # a decoder told the frame: linear maps per frame column of this rank (Decoder)
    input_dropout: float = 0.0  # share of input columns blanked in training (_drop_columns)
    weight_decay: float = 0.0  # AdamW's decoupled decay; 0 is the paper's plain Adam


@dataclass
class TrainResult:
    """The best network (by validation loss) and its history."""

    model: ChannelVAE
    best_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    stopped: str = ""


def _batches(n: int, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _drop_columns(x: torch.Tensor, p: float, symbols: int) -> torch.Tensor:
    """The input with each column blanked (all its symbols 0) with probability p: the network must reconstruct the
    whole row from the rest (denoising), so it cannot copy what it reads."""
    if not p:
        return x
    k = max(symbols, 1)  # the paper's sigmoid input: one feature per "column"
    keep = torch.rand(len(x), x.shape[1] // k, 1) >= p
    return (x.unflatten(1, (-1, k)) * keep).flatten(1)


def _frame(frames: np.ndarray | None, idx: np.ndarray) -> torch.Tensor | None:
    return None if frames is None else torch.from_numpy(frames[idx]).long()


def evaluate(
    model: ChannelVAE,
    data: np.ndarray,
    batch_size: int = 1024,
    kl_weight: float = 1.0,
    frames: np.ndarray | None = None,
) -> dict[str, float]:
    """Mean BCE, KL and the training loss (BCE + kl_weight * KL) per row on `data` (uint8 or float), z = z_mean;
    `frames` (family index per row) for a decoder told the frame."""
    model.eval()
    totals = np.zeros(2)
    with torch.no_grad():
        for idx in _batches(len(data), batch_size, None):
            x = torch.from_numpy(data[idx].astype(np.float32))
            logits, zm, zl = model(x, _frame(frames, idx))
            bce, kl = vae_loss(logits, x, zm, zl, model.symbols)
            totals += np.array([bce.item(), kl.item()]) * len(idx)
    bce, kl = totals / max(len(data), 1)
    return {"bce": float(bce), "kl": float(kl), "loss": float(bce + kl_weight * kl)}


def train_channel(
    train: np.ndarray,
    valid: np.ndarray,
    config: TrainConfig,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    symbols: int = 0,
    frames: tuple[np.ndarray, np.ndarray, list[int]] | None = None,
) -> TrainResult:
    """Adam on the train rows; keep the epoch with the lowest validation loss; stop after `patience` epochs without
    improvement, after `epochs`, or when the time budget is spent. `frames` = (family index per train row, per
    validation row, frame widths) tells the decoder the frame."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    train_frames, valid_frames, widths = frames if frames is not None else (None, None, None)
    model = ChannelVAE(
        train.shape[1],
        hidden=config.hidden,
        arch=config.arch,
        symbols=symbols,
        frame_widths=widths,
        frame_rank=config.frame_rank,
    )
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    # Halve the step size when validation stalls: large steps early, fine ones once the loss flattens.
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    best, best_epoch, best_state, waited = math.inf, 0, copy.deepcopy(model.state_dict()), 0
    history: list[dict[str, float]] = []
    start = time.monotonic()
    stopped = "epochs"
    for epoch in range(1, config.epochs + 1):
        model.train()
        total = np.zeros(2)
        for idx in _batches(len(train), config.batch_size, rng):
            x = torch.from_numpy(train[idx].astype(np.float32))
            logits, zm, zl = model(_drop_columns(x, config.input_dropout, model.symbols), _frame(train_frames, idx))
            bce, kl = vae_loss(logits, x, zm, zl, model.symbols)
            opt.zero_grad()
            (bce + config.kl_weight * kl).backward()
            opt.step()
            total += np.array([bce.item(), kl.item()]) * len(idx)
        tr = total / len(train)
        va = evaluate(model, valid, kl_weight=config.kl_weight, frames=valid_frames)
        metrics = {
            "train_bce": tr[0],
            "train_kl": tr[1],
            "val_bce": va["bce"],
            "val_kl": va["kl"],
            "val_loss": va["loss"],
        }
        history.append({"epoch": epoch, **metrics})
        metrics["lr"] = opt.param_groups[0]["lr"]
        if on_epoch is not None:
            on_epoch(epoch, metrics)
        schedule.step(va["loss"])
        if va["loss"] < best - 1e-4:
            best, best_epoch, best_state, waited = va["loss"], epoch, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
        if waited >= config.patience:
            stopped = "early-stopping"
            break
        if time.monotonic() - start > config.max_seconds:
            stopped = "time-budget"
            break
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model, best_epoch, history, stopped)
