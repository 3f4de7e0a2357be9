"""The SS/SA network (a dilated residual 1-D CNN with two heads) and its training.

Single-sequence input: a learned residue embedding next to the fixed BLOSUM62 row of each residue. Ten residual
dilated convolutions (after a width-5 input conv) see 129 residues; padding is zeroed before every convolution, so a
sequence gets the same prediction alone or in a padded batch. Outputs are probabilities: SS (H, E, C) and SA
(exposed, buried).
"""

from __future__ import annotations

import hashlib
import math
import random
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from protfam_core.errors import InputError, ModelError, ToolMissingError
from protfam_core.io.alphabet import AMINO_ACIDS
from protfam_core.io.atomic import sha256_file
from protfam_core.registry.onnx_export import export_onnx, parameter_count
from protfam_core.registry.onnx_runtime import OnnxModel
from protfam_core.ss.data import EXPOSED_RSA, SA2, SS3, SSChain, read_cath_dssp, read_cb513, read_flip
from protfam_core.ss.tokens import N_TOKENS, PAD, UNKNOWN_TOKEN, tokenize

IGNORE = -100


def blosum62_rows(path: str | Path) -> np.ndarray:
    """(N_TOKENS, 20) BLOSUM62 scores / 4 per token (the NCBI matrix file); PAD is zero, unknown uses the X row."""
    lines = [ln.split() for ln in Path(path).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    header = lines[0]
    scores = {row[0]: dict(zip(header, map(float, row[1:]), strict=True)) for row in lines[1:]}
    table = np.zeros((N_TOKENS, len(AMINO_ACIDS)), dtype=np.float32)
    for i, aa in enumerate(AMINO_ACIDS):
        table[i + 1] = [scores[aa][b] for b in AMINO_ACIDS]
    table[UNKNOWN_TOKEN] = [scores["X"][b] for b in AMINO_ACIDS]
    return table / 4.0


class ResidualBlock(nn.Module):
    """BatchNorm -> GELU -> dilated conv -> dropout, added back; padding is zeroed before the conv reads it, so it
    cannot leak into real residues (a padded batch predicts exactly like one sequence alone)."""

    def __init__(self, channels: int, dilation: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(channels)
        self.conv = nn.Conv1d(channels, channels, kernel, padding=dilation * (kernel // 2), dilation=dilation)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (x + self.drop(self.conv(nn.functional.gelu(self.norm(x)) * mask))) * mask


class SSNet(nn.Module):
    """tokens (B, L) int64 -> (ss_prob (B, L, 3), sa_prob (B, L, 2))."""

    def __init__(
        self,
        blosum: np.ndarray,
        channels: int = 96,
        embed: int = 32,
        dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1, 2, 4, 8, 16),
        kernel: int = 3,
        dropout: float = 0.15,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(N_TOKENS, embed, padding_idx=PAD)
        self.register_buffer("blosum", torch.as_tensor(blosum))
        self.inp = nn.Conv1d(embed + blosum.shape[1], channels, 5, padding=2)
        self.blocks = nn.ModuleList(ResidualBlock(channels, d, kernel, dropout) for d in dilations)
        self.norm = nn.BatchNorm1d(channels)
        self.ss_head = nn.Conv1d(channels, len(SS3), 1)
        self.sa_head = nn.Conv1d(channels, len(SA2), 1)

    def logits(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = (tokens != PAD).unsqueeze(1).to(torch.float32)
        x = torch.cat([self.embed(tokens), self.blosum[tokens]], dim=-1).transpose(1, 2)
        x = self.inp(x) * mask
        for block in self.blocks:
            x = block(x, mask)
        x = nn.functional.gelu(self.norm(x))
        return self.ss_head(x).transpose(1, 2), self.sa_head(x).transpose(1, 2)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ss, sa = self.logits(tokens)
        return torch.softmax(ss, dim=-1), torch.softmax(sa, dim=-1)


class SSEnsemble(nn.Module):
    """Networks trained alike (same data and split, other train seeds), their probabilities averaged: independently
    trained networks err in partly different places, so their mean is right more often than any one of them."""

    def __init__(self, members: list[SSNet]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ss, sa = zip(*(member(tokens) for member in self.members), strict=True)
        return torch.stack(ss).mean(0), torch.stack(sa).mean(0)


# ---------------------------------------------------------------------------------------------------------- data


def label_indices(text: str, states: str) -> np.ndarray:
    """Class index per residue, IGNORE where the label is unknown ('?')."""
    lookup = {s: i for i, s in enumerate(states)}
    return np.array([lookup.get(c, IGNORE) for c in text], dtype=np.int64)


def near_identical(
    queries: list[SSChain],
    references: list[SSChain],
    min_identity: float = 0.9,
    min_coverage: float = 0.5,
    threads: int = 1,
) -> set[str]:
    """Ids of queries with an MMseqs2 hit to any reference at >= min_identity over >= min_coverage of either chain.

    Coverage counts for the query or the reference, so a full chain that contains a reference domain is caught too.
    """
    with tempfile.TemporaryDirectory() as tmp:
        qpath, rpath, out = Path(tmp, "q.fasta"), Path(tmp, "r.fasta"), Path(tmp, "hits.tsv")
        qpath.write_text("".join(f">{c.id}\n{c.seq}\n" for c in queries))
        rpath.write_text("".join(f">r{i}\n{c.seq}\n" for i, c in enumerate(references)))
        cmd = ["mmseqs", "easy-search", str(qpath), str(rpath), str(out), str(Path(tmp, "work"))]
        cmd += ["--min-seq-id", str(min_identity), "--format-output", "query,target,fident,qcov,tcov"]
        cmd += ["--threads", str(threads), "-v", "1"]
        try:
            subprocess.run(cmd, check=True, capture_output=True)
        except FileNotFoundError:
            raise ToolMissingError("mmseqs (MMseqs2) is not on PATH; install the Debian package mmseqs2") from None
        hits = set()
        for line in out.read_text().splitlines():
            q, _, ident, qcov, tcov = line.split("\t")
            if float(ident) >= min_identity and max(float(qcov), float(tcov)) >= min_coverage:
                hits.add(q)
    return hits


@dataclass
class TrainingData:
    """The chains of every role, plus how the training set was cleaned (for the model card)."""

    train: list[SSChain]
    valid: list[SSChain]
    tests: dict[str, list[SSChain]]
    removed: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        def res(chains: list[SSChain]) -> int:
            return sum(len(c.seq) for c in chains)

        out = {"train_chains": len(self.train), "train_residues": res(self.train), "valid_chains": len(self.valid)}
        out.update({f"{k}_chains": len(v) for k, v in self.tests.items()})
        out.update({f"removed_{k}": v for k, v in self.removed.items()})
        return out


def split_dssp(chains: list[SSChain], seed: int = 0, test: float = 0.1, valid: float = 0.05) -> dict[str, list]:
    """Seeded random test / valid / train split of the DSSP chains (the same for the same seed and chains)."""
    order = sorted(chains, key=lambda c: c.id)
    random.Random(seed).shuffle(order)
    n_test, n_valid = round(len(order) * test), round(len(order) * valid)
    return {"test": order[:n_test], "valid": order[n_test : n_test + n_valid], "train": order[n_test + n_valid :]}


def prepare_data(
    dssp_chains: list[SSChain],
    flip: list[tuple[SSChain, str]],
    cb513: list[SSChain],
    seed: int = 0,
    dssp_test: float = 0.1,
    dssp_valid: float = 0.05,
    min_identity: float = 0.9,
    min_coverage: float = 0.5,
    threads: int = 1,
) -> TrainingData:
    """Training, validation and test chains; no training or validation chain is near-identical to a test chain.

    DSSP chains are split at random (seeded) into test / valid / train; FLIP keeps its own train / validation / test
    sets. Every training and validation chain with an MMseqs2 hit at >= min_identity over >= min_coverage to a CB513,
    FLIP-test or DSSP-test chain is removed (see near_identical).
    """
    dssp = split_dssp(dssp_chains, seed, dssp_test, dssp_valid)
    tests = {"cb513": cb513, "flip_test": [c for c, s in flip if s == "test"], "dssp_test": dssp["test"]}
    valid = dssp["valid"] + [c for c, s in flip if s == "valid"]
    train = dssp["train"] + [c for c, s in flip if s == "train"]
    removed = {}
    references = [c for chains in tests.values() for c in chains]
    for name, chains in (("train", train), ("valid", valid)):
        hits = near_identical(chains, references, min_identity, min_coverage, threads)
        removed[name] = len(hits)
        chains[:] = [c for c in chains if c.id not in hits]
    removed["train_vs_cb513"] = len(near_identical(dssp_chains + [c for c, _ in flip], cb513, threads=threads))
    return TrainingData(train, valid, tests, removed)


def batches(chains: list[SSChain], max_tokens: int, crop: int, rng: random.Random | None) -> list[tuple]:
    """Length-sorted batches of (tokens, ss, sa) arrays; with rng, long chains are cropped at random and the batch
    order is shuffled (training), else chains are kept whole (evaluation)."""
    items = []
    for c in chains:
        seq, ss, sa = c.seq, c.ss, c.sa
        if rng is not None and len(seq) > crop:
            start = rng.randrange(len(seq) - crop + 1)
            seq, ss, sa = seq[start : start + crop], ss[start : start + crop], sa[start : start + crop]
        items.append((seq, ss, sa))
    if rng is not None:
        rng.shuffle(items)
    items.sort(key=lambda t: len(t[0]))
    out, current = [], []
    for item in items:
        if current and (len(current) + 1) * len(item[0]) > max_tokens:
            out.append(current)
            current = []
        current.append(item)
    if current:
        out.append(current)
    if rng is not None:
        rng.shuffle(out)
    result = []
    for group in out:
        width = max(len(s) for s, _, _ in group)
        ss = np.full((len(group), width), IGNORE, dtype=np.int64)
        sa = np.full((len(group), width), IGNORE, dtype=np.int64)
        for i, (s, h, a) in enumerate(group):
            ss[i, : len(s)] = label_indices(h, SS3)
            sa[i, : len(s)] = label_indices(a, SA2)
        result.append((tokenize([s for s, _, _ in group], width), ss, sa))
    return result


# ---------------------------------------------------------------------------------------------------------- training


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (all logged)."""

    channels: int = 96
    embed: int = 32
    kernel: int = 3
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1, 2, 4, 8, 16)
    dropout: float = 0.15
    lr: float = 2e-3
    weight_decay: float = 1e-2
    epochs: int = 8
    patience: int = 3
    max_tokens: int = 16384
    crop: int = 512
    sa_weight: float = 1.0
    seed: int = 0  # the DSSP split, and training too unless train_seed is given
    train_seed: int | None = None  # initialisation and batch order; ensemble members differ only in it
    threads: int = 1  # torch and MMseqs2 threads (the tool resolves --threads once)
    time_limit_s: float = 1200.0

    def params(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


ARCHITECTURE = ("channels", "embed", "kernel", "dilations", "dropout")  # the TrainConfig fields that shape SSNet


def build_model(config: TrainConfig, blosum: np.ndarray) -> SSNet:
    return SSNet(blosum, config.channels, config.embed, tuple(config.dilations), config.kernel, config.dropout)


def with_architecture(config: TrainConfig, bundle) -> TrainConfig:
    """`config` with the network of an SS bundle (its card's layers), to load that bundle's weights into."""
    params = bundle.card.get("params", {})
    if "members" in params:
        raise ModelError(f"{bundle.ref} is an ensemble of {len(params['members'])} networks; name one of its members")
    arch = {k: params[k] for k in ARCHITECTURE}
    return replace(config, **{**arch, "dilations": tuple(arch["dilations"])})


def load_network(bundle, blosum: np.ndarray) -> SSNet:
    """The torch network of a trained (single-network) SS bundle, in eval mode."""
    model = build_model(with_architecture(TrainConfig(), bundle), blosum)
    load_onnx_weights(model, bundle.file("model"))
    return model.eval()


@torch.no_grad()
def evaluate(model: nn.Module, chains: list[SSChain], max_tokens: int = 32768) -> dict[str, float]:
    """Q3 and 2-state SA accuracy over residues with a known label; nan when a set has no such residue."""
    model.eval()
    counts = np.zeros(4)
    for tokens, ss, sa in batches(chains, max_tokens, 0, None):
        ss_p, sa_p = model(torch.as_tensor(tokens))
        ss_hat, sa_hat = ss_p.argmax(-1).numpy(), sa_p.argmax(-1).numpy()
        counts += [(ss_hat == ss).sum(), (ss != IGNORE).sum(), (sa_hat == sa).sum(), (sa != IGNORE).sum()]
    q3 = counts[0] / counts[1] if counts[1] else math.nan
    sa_acc = counts[2] / counts[3] if counts[3] else math.nan
    return {"q3": float(q3), "sa_acc": float(sa_acc), "ss_residues": float(counts[1]), "sa_residues": float(counts[3])}


def load_onnx_weights(model: SSNet, onnx_path: Path) -> None:
    """Start from an exported model: its ONNX initializers carry every parameter and BatchNorm statistic by name."""
    import onnx
    from onnx import numpy_helper

    weights = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(onnx_path)).graph.initializer}
    state = model.state_dict()
    needed = [k for k in state if not k.endswith("num_batches_tracked")]
    bad = [k for k in needed if k not in weights or weights[k].shape != tuple(state[k].shape)]
    if bad:
        raise ModelError(f"{onnx_path}: not the same network as this configuration (e.g. {bad[0]})")
    model.load_state_dict({k: torch.as_tensor(weights[k].copy()) for k in needed}, strict=False)


def train(
    config: TrainConfig,
    train_chains: list[SSChain],
    valid_chains: list[SSChain],
    blosum: np.ndarray,
    log_epoch: Callable[[int, dict[str, float]], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    init: Path | None = None,
) -> tuple[SSNet, dict[str, float]]:
    """Train with early stopping on validation Q3 + SA accuracy; returns the best model and its validation metrics.

    `init` (an exported ONNX model of the same network) continues training from those weights.
    """
    import time

    if not train_chains or not valid_chains:
        raise InputError("training needs non-empty training and validation sets")
    seed = config.seed if config.train_seed is None else config.train_seed
    torch.manual_seed(seed)
    rng = random.Random(seed)
    torch.set_num_threads(config.threads)
    model = build_model(config, blosum)
    if init is not None:
        load_onnx_weights(model, init)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = len(batches(train_chains, config.max_tokens, config.crop, random.Random(0)))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch + 1, pct_start=0.1
    )
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)
    best, best_state, best_metrics, stale = -1.0, None, {}, 0
    started = time.monotonic()
    for epoch in range(1, config.epochs + 1):
        model.train()
        total, n = 0.0, 0
        epoch_batches = batches(train_chains, config.max_tokens, config.crop, rng)
        for step, (tokens, ss, sa) in enumerate(epoch_batches[:steps_per_epoch]):
            ss_logits, sa_logits = model.logits(torch.as_tensor(tokens))
            loss = loss_fn(ss_logits.reshape(-1, 3), torch.as_tensor(ss).reshape(-1))
            sa_t = torch.as_tensor(sa).reshape(-1)
            if (sa_t != IGNORE).any():
                loss = loss + config.sa_weight * loss_fn(sa_logits.reshape(-1, 2), sa_t)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total, n = total + loss.item(), n + 1
            if progress is not None:
                progress(step + 1, steps_per_epoch)
        metrics = {f"valid_{k}": v for k, v in evaluate(model, valid_chains).items() if not k.endswith("residues")}
        metrics["train_loss"] = total / max(n, 1)
        metrics["elapsed_s"] = time.monotonic() - started
        score = metrics["valid_q3"] + (metrics["valid_sa_acc"] if not math.isnan(metrics["valid_sa_acc"]) else 0)
        if log_epoch is not None:
            log_epoch(epoch, metrics)
        if score > best:
            best, stale = score, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_metrics = dict(metrics, best_epoch=epoch)
        else:
            stale += 1
        if stale >= config.patience or time.monotonic() - started > config.time_limit_s:
            break
    model.load_state_dict(best_state)
    model.eval()
    return model, best_metrics


# ---------------------------------------------------------------------------------------------------------- export


@dataclass(frozen=True)
class Sources:
    """The real data files a model is trained and tested on."""

    cath_tar: Path
    cath_info: Path
    flip: Path
    cb513: Path
    blosum: Path

    def checksum(self) -> str:
        """One sha256 over every source file: the training data's identity in the run and the card."""
        digest = hashlib.sha256()
        for path in (self.cath_tar, self.cath_info, self.flip, self.cb513, self.blosum):
            for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
                if file.is_file():
                    digest.update(sha256_file(file).encode())
        return digest.hexdigest()

    def training_data(self, seed: int = 0, threads: int = 1) -> TrainingData:
        """Every chain in its role, cleaned against the test sets (prepare_data): what `predict-ss train` uses."""
        return prepare_data(
            read_cath_dssp(self.cath_tar, self.cath_info), read_flip(self.flip), read_cb513(self.cb513),
            seed=seed, threads=threads,
        )  # fmt: skip


def export_model(model: SSNet, path: Path) -> str:
    """ONNX with dynamic batch and length axes; checked against torch on two lengths. Returns the sha256."""
    model.eval()
    example = torch.as_tensor(tokenize(["MKTAYIAKQRQISFVKSHFSRQ", "GSHMLEDPVDAFQ"]))
    axes = {"tokens": {1: "length"}, "ss_prob": {1: "length"}, "sa_prob": {1: "length"}}
    sha = export_onnx(model, (example,), path, ["tokens"], ["ss_prob", "sa_prob"], 1e-4, axes)
    other = torch.as_tensor(tokenize(["ACDEFGHIKLMNPQRSTVWYX" * 7]))
    got = OnnxModel(path, sha).run({"tokens": other.numpy()})
    with torch.no_grad():
        want = model(other)
    diff = max(float(np.abs(got[k] - w.numpy()).max()) for k, w in zip(("ss_prob", "sa_prob"), want, strict=True))
    if diff > 1e-4:
        raise ModelError(f"ONNX SS model differs from torch by {diff:.3g} on another sequence length")
    return sha


def train_and_export(
    sources: Sources,
    out: Path,
    config: TrainConfig,
    name: str = "ss-predictor",
    publish: bool = False,
    log: Callable[[str], None] = print,
    progress: Callable[[int, int], None] | None = None,
    init: str | None = None,
) -> tuple[Path, dict[str, float]]:
    """The whole `predict-ss train`: data, near-identity cleaning, tracked training, tests, ONNX bundle, publish.

    `init` names an SS bundle (registry reference or folder) to continue training from.
    """
    from protfam_core.registry import bundles as registry
    from protfam_core.registry import tracking

    init_bundle = registry.resolve(init, "ss") if init else None
    if init_bundle is not None:  # the network to continue is the bundle's, whatever --channels says
        config = with_architecture(config, init_bundle)

    log("reading DSSP, FLIP and CB513 chains")
    data = sources.training_data(config.seed, config.threads)
    summary = data.summary()
    log(f"data: {summary}")
    blosum = blosum62_rows(sources.blosum)
    checksum = sources.checksum()
    params = dict(config.params(), **{f"data.{k}": v for k, v in summary.items()})
    if init_bundle is not None:
        params["init"] = init_bundle.ref
    with tracking.training_run("predict-ss", params, checksum) as run:

        def log_epoch(epoch: int, metrics: dict[str, float]) -> None:
            run.log_epoch(epoch, metrics)
            log(f"epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))

        init_onnx = init_bundle.file("model") if init_bundle is not None else None
        model, best = train(config, data.train, data.valid, blosum, log_epoch, progress, init_onnx)
        metrics = {k: v for k, v in best.items() if k.startswith("valid_") and not math.isnan(v)}
        metrics["best_epoch"] = best["best_epoch"]
        card_params = {k: v for k, v in params.items() if not k.startswith("data.")}
        bundle = _test_and_save(model, data, out, name, card_params, metrics, checksum, log)
        run.log_bundle(bundle.path)
    return _finish(bundle, publish, log)


def _finish(bundle, publish: bool, log: Callable[[str], None]) -> tuple[Path, dict[str, float]]:
    """The end of `train` and `ensemble`: publish the bundle where asked; its folder and metrics."""
    if publish:
        from protfam_core.registry import bundles as registry

        shipped = registry.publish(bundle.path)
        log(f"published {shipped.ref} to {shipped.path}")
    return bundle.path, bundle.card["metrics"]


def _test_and_save(
    model: nn.Module,
    data: TrainingData,
    out: Path,
    name: str,
    params: dict,
    metrics: dict[str, float],
    checksum: str,
    log: Callable[[str], None],
):
    """Score `model` on every test set, export it to ONNX and write the bundle with its card; returns the bundle."""
    from protfam_core.registry import bundles as registry

    metrics = dict(metrics)
    for test_name, chains in data.tests.items():
        result = evaluate(model, chains)
        for key in ("q3", "sa_acc"):
            if not math.isnan(result[key]):
                metrics[f"{test_name}_{key}"] = result[key]
    log("test: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp, "ss_model.onnx")
        export_model(model, onnx_path)
        card = {
            "version": registry.new_version(name),
            "params": params | {"n_parameters": parameter_count(model)},
            "metrics": metrics,
            "data": {
                "checksum": checksum,
                "description": (
                    "cath_dssp chains (DSSP 8->3 states; RSA = ACC / Tien 2013 theoretical max ASA, exposed if "
                    ">= 25%) and FLIP secondary-structure train split; training/validation chains with an "
                    "MMseqs2 hit at >= 90% identity over >= 50% coverage to any CB513, FLIP-test or DSSP-test "
                    "chain removed"
                ),
                **data.summary(),
            },
            "inputs": {"tokens": "int64 (batch, length); 0 = padding, 1-20 = ACDEFGHIKLMNPQRSTVWY, 21 = other"},
            "outputs": {"ss_prob": "(batch, length, 3) over H, E, C", "sa_prob": "(batch, length, 2) over e, b"},
            "sa_threshold": EXPOSED_RSA,
        }
        return registry.save_bundle(out, name, "ss", {"model": onnx_path}, card)


def ensemble_and_export(
    sources: Sources,
    members: list[str],
    out: Path,
    name: str = "ss-predictor",
    publish: bool = False,
    threads: int = 1,
    log: Callable[[str], None] = print,
) -> tuple[Path, dict[str, float]]:
    """The whole `predict-ss ensemble`: trained SS bundles averaged into one ONNX model, scored like a trained one.

    Every member must come from these sources and the same DSSP split (its card's data checksum and seed), so that
    no member has seen a test or validation chain of the others.
    """
    from protfam_core.registry import bundles as registry
    from protfam_core.registry import tracking

    bundles = [registry.resolve(m, "ss") for m in members]
    if len(bundles) < 2:
        raise InputError("an ensemble needs at least two SS models")
    shas = [b.card["files"]["model"]["sha256"] for b in bundles]
    if len(set(shas)) < len(shas):
        raise InputError("the same SS model is named twice")
    checksum = sources.checksum()
    seeds = {int(b.card.get("params", {}).get("seed", 0)) for b in bundles}
    for b in bundles:
        if b.card.get("data", {}).get("checksum") != checksum:
            raise ModelError(f"{b.ref} ({b.path}) was trained on other data than these sources")
    if len(seeds) > 1:
        raise ModelError(f"the members were trained on different DSSP splits (seeds {sorted(seeds)}): retrain one")
    (seed,) = seeds
    torch.set_num_threads(threads)
    blosum = blosum62_rows(sources.blosum)
    model = SSEnsemble([load_network(b, blosum) for b in bundles]).eval()
    log(f"reading DSSP, FLIP and CB513 chains (split seed {seed})")
    data = sources.training_data(seed, threads)
    # a folder's card version is only the one it would get if published, so only registry members keep their ref
    described = [
        ({"ref": b.ref} if b.source != "folder" else {})
        | {"model_sha256": sha, "params": b.card["params"], "metrics": b.card["metrics"]}
        for b, sha in zip(bundles, shas, strict=True)
    ]
    params = {"members": described, "seed": seed}
    names = [b.ref if b.source != "folder" else str(b.path) for b in bundles]
    with tracking.training_run("predict-ss", {"members": names, "seed": seed}, checksum) as run:
        metrics = {f"valid_{k}": v for k, v in evaluate(model, data.valid).items() if not k.endswith("residues")}
        log("valid: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        bundle = _test_and_save(model, data, out, name, params, metrics, checksum, log)
        run.log_bundle(bundle.path)
    return _finish(bundle, publish, log)
