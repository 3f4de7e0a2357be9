"""`encode-vae train`: dataset -> placed rows -> three channel VAEs -> ONNX bundle, tracked in MLflow.

Training rows are train-split members placed into their own family frame; validation rows (same placement) drive
early stopping. All rows are right-padded with gap columns to W = the widest frame of the dataset, recorded in the
model card as "width" so inference pads the same way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from protfam_core.features.cache import FeatureCache
from protfam_core.features.channels import channel_matrix, channel_rows
from protfam_core.io.alphabet import CHANNEL_ORDER, CHANNELS
from protfam_core.registry.onnx_export import export_onnx, parameter_count
from protfam_core.vae.metrics import residue_accuracy
from protfam_core.vae.model import LATENT, ChannelVAE, TrainConfig, train_channel

# Share of the time budget per channel: the amino-acid network has by far the largest input.
TIME_SHARE = {"aa": 0.6, "ss": 0.2, "sa": 0.2}


def decode_torch(
    model: ChannelVAE, x: np.ndarray, symbols: str, batch: int = 2048, frames: np.ndarray | None = None
) -> list[str]:
    """Reconstructed rows (argmax per column over the outputs) from z = z_mean, full model width; `frames` (family
    index per row) for a decoder told the frame."""
    k = len(symbols)
    sym = np.array(list(symbols))
    out: list[str] = []
    model.eval()
    with torch.no_grad():
        for s in range(0, len(x), batch):
            f = None if frames is None else torch.from_numpy(frames[s : s + batch]).long()
            logits, _, _ = model(torch.from_numpy(x[s : s + batch].astype(np.float32)), f)
            idx = logits.numpy().reshape(len(logits), -1, k).argmax(axis=2)
            out.extend("".join(r) for r in sym[idx])
    return out


def train_vae(
    dataset_dir: str | Path,
    out_dir: str | Path,
    config: TrainConfig,
    cache_dir: str | Path | None = None,
    name: str = "vae",
    ss_model: str | None = None,
    publish: bool = False,
    log: Callable[[str], None] = lambda _: None,
):
    """Train, export, bundle (and publish) the three channel VAEs; returns the saved Bundle."""
    from protfam_core.msa.dataset import load_dataset
    from protfam_core.registry.bundles import new_version, resolve, save_bundle
    from protfam_core.registry.bundles import publish as publish_bundle
    from protfam_core.registry.tracking import training_run

    ds = load_dataset(dataset_dir)
    cache = FeatureCache(ds, cache_dir, ss_model)
    log("placing train and validation members into their frames, predicting SS/SA (cached)")
    rows = {split: channel_rows(*cache.own_frame(split)) for split in ("train", "val")}
    width = max(ds.frames.widths.values())
    checksum = ds.card.get("checksum")
    params = {
        **{k: v for k, v in asdict(config).items() if k != "threads"},
        "width": width,
        "latent_dim": LATENT,
        "hidden": config.hidden,
        "eps_sd": 0.1,
        "n_train": len(rows["train"]["aa"]),
        "n_valid": len(rows["val"]["aa"]),
        "families": len(ds.frames.families),
        "dataset": str(dataset_dir),
        "ss_model": resolve(ss_model, "ss").ref,
    }
    metrics: dict[str, float] = {}
    counts: dict[str, int] = {}
    files: dict[str, Path] = {}
    with (
        tempfile.TemporaryDirectory(prefix="vae-export-") as tmpname,
        training_run("encode-vae", params, checksum) as run,
    ):
        tmp = Path(tmpname)
        for ch in CHANNEL_ORDER:
            x_tr = channel_matrix(rows["train"][ch], CHANNELS[ch], width, np.uint8)
            x_va = channel_matrix(rows["val"][ch], CHANNELS[ch], width, np.uint8)
            cfg = replace(config, max_seconds=config.max_seconds * TIME_SHARE[ch])
            log(f"{ch}: training on {len(x_tr)} rows of {x_tr.shape[1]} inputs")

            def on_epoch(epoch: int, m: dict[str, float], ch: str = ch) -> None:
                run.log_epoch(epoch, {f"{ch}_{k}": float(v) for k, v in m.items()})
                log(f"{ch} epoch {epoch}: val_loss {m['val_loss']:.2f} (bce {m['val_bce']:.2f}, kl {m['val_kl']:.2f})")

            result = train_channel(x_tr, x_va, cfg, on_epoch, symbols=len(CHANNELS[ch]))
            recon = decode_torch(result.model, x_va, CHANNELS[ch])
            acc_res, acc_all = residue_accuracy(rows["val"][ch], recon)
            metrics.update(
                {
                    f"{ch}_val_residue_accuracy": acc_res,
                    f"{ch}_val_position_accuracy": acc_all,
                    f"{ch}_val_loss": min(h["val_loss"] for h in result.history),
                    f"{ch}_best_epoch": result.best_epoch,
                    f"{ch}_epochs_run": len(result.history),
                }
            )
            counts[f"{ch}_encoder"] = parameter_count(result.model.encoder)
            counts[f"{ch}_decoder"] = parameter_count(result.model.decoder)
            log(f"{ch}: best epoch {result.best_epoch} ({result.stopped}); validation accuracy {acc_res:.4f}")
            example = torch.from_numpy(x_va[:8].astype(np.float32))
            files[f"{ch}_encoder"] = tmp / f"{ch}_encoder.onnx"
            files[f"{ch}_decoder"] = tmp / f"{ch}_decoder.onnx"
            export_onnx(result.model.encoder, (example,), files[f"{ch}_encoder"], ["x"], ["z_mean", "z_log_sigma"])
            z = result.model.encoder(example)[0].detach()
            export_onnx(result.model.decoder, (z,), files[f"{ch}_decoder"], ["z"], ["reconstruction"])
        counts["total"] = sum(counts.values())
        card = {
            "version": new_version(name),
            "width": width,
            "latent_dim": LATENT,
            "channels": {ch: CHANNELS[ch] for ch in CHANNEL_ORDER},
            "parameters": counts,
            "params": params,
            "metrics": metrics,
            "data": {
                "checksum": checksum,
                "description": f"train/valid members of {Path(dataset_dir).name} placed into their own family frames",
            },
            "families": list(ds.frames.families),
        }
        bundle = save_bundle(Path(out_dir), name, "vae", files, card)
        run.log_bundle(Path(out_dir))
    if publish:
        bundle = publish_bundle(Path(out_dir), alias="champion")
        log(f"published {bundle.name}/{bundle.version} as the shipped default")
    return bundle
