"""The paper's VAE in torch: layer sizes, a few real training steps, ONNX export equal to torch."""

from pathlib import Path

import numpy as np
import pytest
import torch

from protfam_core.features.channels import channel_matrix
from protfam_core.frames.frameset import FrameSet, build_hmm
from protfam_core.io.alphabet import AA_SYMBOLS
from protfam_core.io.seqio import Record, read_alignment
from protfam_core.registry.onnx_export import export_onnx, parameter_count
from protfam_core.registry.onnx_runtime import OnnxModel
from protfam_core.vae.metrics import residue_accuracy
from protfam_core.vae.model import (
    ChannelVAE,
    TrainConfig,
    _drop_columns,
    frame_columns,
    train_channel,
    vae_loss,
)
from protfam_core.vae.train import decode_torch

TUTORIAL = Path(__file__).resolve().parents[1] / "data" / "hmmer_tutorial"


@pytest.fixture(scope="module")
def rows():
    """Real globin, fn3 and kinase members placed into their own tutorial frames, padded to the widest frame; rows,
    one-hots, width and each row's family."""
    alns = {f: read_alignment(TUTORIAL / f"{f}.sto.gz") for f in ("globins4", "fn3", "Pkinase")}
    frames = FrameSet([build_hmm(f, rows) for f, rows in alns.items()])
    placed = []
    for fam, aln in alns.items():
        placed += frames.place([Record(r.id, r.seq.replace("-", "")) for r in aln[:20]], fam)
    width = max(frames.widths.values())
    x = channel_matrix([p.row for p in placed], AA_SYMBOLS, width, np.uint8)
    return [p.row for p in placed], x, width, [p.family for p in placed]


def test_layers_and_parameter_count_follow_the_paper():
    vae = ChannelVAE(100 * 21)
    assert vae.encoder.hidden.out_features == 128 and vae.encoder.z_mean.out_features == 30
    assert vae.encoder.z_log_sigma.out_features == 30 and vae.decoder.out.out_features == 2100
    d = 2100
    assert parameter_count(vae.encoder) == d * 128 + 128 + 2 * (128 * 30 + 30)
    assert parameter_count(vae.decoder) == 30 * 128 + 128 + 128 * d + d


def test_few_steps_of_training_lower_the_loss_and_are_seeded(rows):
    texts, x, _, _ = rows
    cfg = TrainConfig(epochs=6, batch_size=16, patience=10, seed=3, threads=1)
    first = train_channel(x, x, cfg)
    assert first.history[-1]["val_loss"] < first.history[0]["val_loss"]
    again = train_channel(x, x, cfg)
    assert [h["val_loss"] for h in again.history] == [h["val_loss"] for h in first.history]
    res, allpos = residue_accuracy(texts, decode_torch(first.model, x, AA_SYMBOLS))
    assert 0.0 < res <= 1.0 and 0.0 < allpos <= 1.0


def test_training_builds_the_hidden_width_it_is_given(rows):
    _, x, _, _ = rows
    model = train_channel(x, x, TrainConfig(epochs=1, batch_size=16, threads=1, hidden=16)).model
    assert model.encoder.hidden.out_features == 16 and model.decoder.hidden.out_features == 16
    assert TrainConfig().hidden == 128  # the paper's width stays the default


def test_onnx_encoder_and_decoder_match_torch(tmp_path, rows):
    _, x, _, _ = rows
    model = train_channel(x, x, TrainConfig(epochs=2, batch_size=16, threads=1)).model
    xb = torch.from_numpy(x[:9].astype(np.float32))
    export_onnx(model.encoder, (xb,), tmp_path / "enc.onnx", ["x"], ["z_mean", "z_log_sigma"])
    z = model.encoder(xb)[0].detach()
    export_onnx(model.decoder, (z,), tmp_path / "dec.onnx", ["z"], ["reconstruction"])
    enc, dec = OnnxModel(tmp_path / "enc.onnx"), OnnxModel(tmp_path / "dec.onnx")
    batch = x[9:40].astype(np.float32)  # another batch size than at export
    with torch.no_grad():
        zm, zl = model.encoder(torch.from_numpy(batch))
        recon = model.decoder(zm)
    got = enc.run({"x": batch})
    assert np.max(np.abs(got["z_mean"] - zm.numpy())) < 1e-4
    assert np.max(np.abs(got["z_log_sigma"] - zl.numpy())) < 1e-4
    out = dec.run({"z": got["z_mean"]})["reconstruction"]
    assert out.shape == batch.shape and np.max(np.abs(out - recon.numpy())) < 1e-4
    assert out.min() >= 0.0 and out.max() <= 1.0  # sigmoid output


def test_deep_arch_is_categorical_per_column_and_exports(tmp_path, rows):
    texts, x, width, _ = rows
    k = len(AA_SYMBOLS)
    cfg = TrainConfig(epochs=4, batch_size=16, patience=10, threads=1, hidden=32, arch="deep")
    result = train_channel(x, x, cfg, symbols=k)
    model = result.model
    assert len(model.encoder.deeper) == 2 and len(model.decoder.deeper) == 2  # one more Linear + ReLU each side
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
    batch = x[3:30].astype(np.float32)
    with torch.no_grad():
        logits, zm, zl = model(torch.from_numpy(batch))
        rec, _ = vae_loss(logits, torch.from_numpy(batch), zm, zl, k)
        probs = model.decoder(zm).numpy().reshape(len(batch), width, k)
    assert np.allclose(probs.sum(axis=2), 1.0, atol=1e-5)  # one distribution per frame column
    logp = np.log(probs)  # the loss is the mean over rows of -log p(true symbol), summed over columns
    assert float(rec) == pytest.approx(-(batch.reshape(len(batch), width, k) * logp).sum() / len(batch), rel=1e-4)
    xb = torch.from_numpy(x[:9].astype(np.float32))
    export_onnx(model.decoder, (model.encoder(xb)[0].detach(),), tmp_path / "dec.onnx", ["z"], ["reconstruction"])
    out = OnnxModel(tmp_path / "dec.onnx").run({"z": zm.numpy()})["reconstruction"]
    assert out.shape == batch.shape and np.max(np.abs(out - probs.reshape(len(batch), -1))) < 1e-4
    res, _ = residue_accuracy(texts, decode_torch(model, x, AA_SYMBOLS))
    assert 0.0 < res <= 1.0


def test_frame_columns_give_each_frame_column_its_own_id_and_padding_one():
    table = frame_columns([2, 3], 4)
    assert table.tolist() == [[0, 1, 5, 5], [2, 3, 4, 5]]


def test_a_decoder_told_the_frame_reads_it(rows):
    texts, x, width, families = rows
    k = len(AA_SYMBOLS)
    names = sorted(set(families))
    frames = np.array([names.index(f) for f in families])
    widths = [len(texts[families.index(f)]) for f in names]
    cfg = TrainConfig(epochs=3, batch_size=16, patience=10, threads=1, hidden=32, arch="deep")
    model = train_channel(x, x, cfg, symbols=k, frames=(frames, frames, widths)).model
    assert model.decoder.frame_bias.shape == (sum(widths) + 1, k)  # one row per frame column, one for all padding
    z = model.encoder(torch.from_numpy(x[:1].astype(np.float32)))[0].detach().repeat(3, 1)
    with torch.no_grad():
        out = model.decoder(z, torch.arange(3)).numpy()
    assert not np.allclose(out[0], out[1]) and not np.allclose(out[1], out[2])  # same code, other frame
    decoded = decode_torch(model, x, AA_SYMBOLS, frames=frames)
    assert len(decoded) == len(texts) and {len(r) for r in decoded} == {width}


def test_maps_per_frame_column_are_one_linear_code_per_frame(rows):
    texts, x, width, families = rows
    names = sorted(set(families))
    frames = np.array([names.index(f) for f in families])
    widths = [len(texts[families.index(f)]) for f in names]
    cfg = TrainConfig(epochs=2, batch_size=16, threads=1, hidden=32, arch="deep", frame_rank=3)
    model = train_channel(x, x, cfg, symbols=len(AA_SYMBOLS), frames=(frames, frames, widths)).model
    dec = model.decoder
    assert dec.frame_maps.shape == (sum(widths) + 1, len(AA_SYMBOLS), 3)
    z = torch.randn(2, 30)
    with torch.no_grad():
        h = dec.deeper(torch.relu(dec.hidden(z)))
        got = dec.logits(z, torch.tensor([1, 1])) - dec.logits(z)
        g = dec.to_rank(h)
    ids = dec.columns[1]
    want = dec.frame_bias[ids][None] + torch.einsum("wsr,nr->nws", dec.frame_maps[ids], g)
    want[:, widths[1] :] = dec.frame_bias[ids[widths[1] :]]  # padding: the shared bias only, no map
    assert torch.allclose(got.unflatten(1, (width, -1)), want, atol=1e-5)


def test_input_dropout_blanks_whole_columns_in_training_only(rows):
    _, x, width, _ = rows
    k = len(AA_SYMBOLS)
    torch.manual_seed(0)
    xb = torch.from_numpy(x.astype(np.float32))
    dropped = _drop_columns(xb, 0.3, k).unflatten(1, (width, k))
    blank = dropped.sum(dim=2) == 0
    assert 0.25 < float(blank.float().mean()) < 0.35  # every column held one symbol before
    assert torch.equal(dropped[~blank], xb.unflatten(1, (width, k))[~blank])
    assert _drop_columns(xb, 0.0, k) is xb
    cfg = TrainConfig(epochs=2, batch_size=16, threads=1, hidden=32, arch="deep", input_dropout=0.3)
    model = train_channel(x, x, cfg, symbols=k).model
    with torch.no_grad():  # evaluation reads the whole row: same input, same code
        assert torch.equal(model(xb[:5])[1], model(xb[:5])[1])


def test_unknown_arch_is_refused():
    with pytest.raises(ValueError, match="unknown VAE architecture"):
        ChannelVAE(21 * 10, arch="conv")
    with pytest.raises(ValueError, match="needs the channel's symbols"):
        ChannelVAE(21 * 10, arch="deep")
    with pytest.raises(ValueError, match="only the deep VAE can be told the frame"):
        ChannelVAE(21 * 10, frame_widths=[10])
