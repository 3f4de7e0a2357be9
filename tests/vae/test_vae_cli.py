"""encode-vae end to end on the small real dataset: train (MLflow-tracked), encode, reconstruct, report, errors."""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from protfam_tools.encode_vae import main

from protfam_core.features.cache import FeatureCache
from protfam_core.io.fingerprints import read_directory
from protfam_core.io.seqio import Record, format_fasta, read_alignment
from protfam_core.msa.dataset import load_dataset
from protfam_core.ss.project import project
from protfam_core.vae.encode import Fingerprinter

MINI = Path(__file__).resolve().parents[1] / "data" / "mini"


@pytest.fixture(scope="module")
def trained(tiny_vae):
    """The session's tiny VAE (tests/conftest.py): bundle/, cache/ and its sqlite MLflow store."""
    return tiny_vae


@pytest.fixture(scope="module")
def rows(trained):
    """Test-split members of the mini dataset placed in their own frame, as an aligned FASTA of one family."""
    ds = load_dataset(MINI)
    placements, ss_sa = FeatureCache(ds, trained / "cache").own_frame("test")
    family = placements[0].family
    keep = [(p, s) for p, s in zip(placements, ss_sa, strict=True) if p.family == family]
    return family, [p for p, _ in keep], [s for _, s in keep]


def test_train_writes_a_verified_bundle_and_an_mlflow_run(trained):
    card = json.loads((trained / "bundle" / "model.json").read_text())
    ds = load_dataset(MINI)
    assert card["kind"] == "vae" and card["latent_dim"] == 30
    assert card["width"] == max(ds.frames.widths.values())
    assert set(card["files"]) == {f"{c}_{p}" for c in ("aa", "ss", "sa") for p in ("encoder", "decoder")}
    assert card["data"]["checksum"] == ds.card["checksum"]
    assert card["parameters"]["total"] == sum(v for k, v in card["parameters"].items() if k != "total")
    assert 0 < card["metrics"]["aa_val_residue_accuracy"] <= 1
    from mlflow import MlflowClient

    uri = f"sqlite:///{trained / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("encode-vae").experiment_id])
    assert runs[0].data.params["dataset_checksum"] == ds.card["checksum"]
    assert [m.step for m in client.get_metric_history(runs[0].info.run_id, "aa_val_loss")] == [1, 2]
    assert len(client.search_model_versions("name='vae'")) == 1


def test_encode_formats_agree(trained, rows, tmp_path):
    family, placements, ss_sa = rows
    model = str(trained / "bundle")
    afa = tmp_path / "rows.afa"
    afa.write_text(format_fasta([Record(p.query_id, p.row) for p in placements]))
    # SS aligned to the rows (projected through the placement), SA per residue of the row in SCRATCH's ACCpro style
    ss = tmp_path / "rows.ss"
    sa = tmp_path / "rows.acc"
    ss.write_text(
        "".join(f">{p.query_id}\n{project(s, p.positions)}\n" for p, (s, _) in zip(placements, ss_sa, strict=True))
    )
    acc = [
        project(a, p.positions).replace("-", "").replace("b", "-") for p, (_, a) in zip(placements, ss_sa, strict=True)
    ]
    sa.write_text("".join(f">{p.query_id}\n{a}\n" for p, a in zip(placements, acc, strict=True)))
    base = ["encode", str(afa), "--ss", str(ss), "--sa", str(sa), "--model", model]
    out = io.StringIO()
    assert main(base, stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert (
        lines[0].startswith("# protfam-fingerprints 2; model vae/")
        and lines[-1] == f"# end: {len(lines) - 3} rows"
        and lines[1].split("\t")[:2] == ["id", "aa1"]
    )
    table = [line.split("\t") for line in lines[2:-1]]
    assert len(table) == len(placements) and all(len(r) == 91 for r in table)
    tsv = np.array([[float(x) for x in r[1:]] for r in table]).reshape(-1, 3, 30)
    # the CLI (raw SS/SA projected through the row's gaps) equals the library on the placements
    expected = Fingerprinter(model).transform(placements, ss_sa)
    assert np.max(np.abs(tsv - expected)) < 1e-5
    assert main([*base, "--format", "npy", "--out", str(tmp_path / "fp.npy")]) == 0
    npy = np.load(tmp_path / "fp.npy")
    assert npy.shape == (len(placements), 3, 30) and npy.dtype == np.float32
    assert (tmp_path / "fp.ids").read_text().split() == [p.query_id for p in placements]
    assert np.allclose(npy, tsv, atol=1e-6)
    assert main([*base, "--format", "txt", "--out", str(tmp_path / "latent")]) == 0
    aa = read_directory(tmp_path / "latent" / "aa", 30)  # the authors' Latent_spaces layout, 30 floats per file
    assert len(aa) == len(placements)
    first = placements[0].query_id.replace("/", "_")
    assert np.allclose(aa.vectors[aa.ids.index(first)], tsv[0, 0], atol=1e-6)


def test_reconstruct_from_tsv_gives_rows_of_the_frame_width(trained, rows, tmp_path):
    family, placements, ss_sa = rows
    model = str(trained / "bundle")
    fp = Fingerprinter(model)
    z = fp.transform(placements, ss_sa)
    tsv = tmp_path / "fp.tsv"
    from protfam_core.io.fingerprints import write_fingerprints

    write_fingerprints([p.query_id for p in placements], z, "tsv", tsv, fp.model_id)
    width = len(placements[0].row)
    out = io.StringIO()
    assert main(["reconstruct", str(tsv), "--width", str(width), "--model", model], stdout=out) == 0
    back = read_alignment(io.StringIO(out.getvalue()))
    assert [r.id for r in back] == [p.query_id for p in placements]
    assert {len(r.seq) for r in back} == {width}
    assert [r.seq for r in back] == [a for a, _, _ in fp.reconstruct(placements, ss_sa)]


def test_report_writes_markdown_and_plots(trained, tmp_path):
    out = tmp_path / "report"
    args = ["report", "--dataset", str(MINI), "--out", str(out), "--model", str(trained / "bundle")]
    assert main([*args, "--cache", str(trained / "cache")]) == 0
    text = (out / "report.md").read_text()
    assert "k-means" in text and "89%" in text
    for png in ("blosum_per_position.png", "blosum_consensus.png", "tsne.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    m = json.loads((out / "metrics.json").read_text())
    assert 0 <= m["aa_residue_accuracy"] <= 1 and m["rows"] == len(load_dataset(MINI).records("test"))
    assert 0 < m["kmeans_input_pca_mean"] <= 1 and "PCA of the input rows" in text


def test_too_wide_alignment_is_refused(trained, tmp_path, capsys):
    width = json.loads((trained / "bundle" / "model.json").read_text())["width"]
    afa = tmp_path / "wide.afa"
    afa.write_text(f">a\n{('MKVL' * width)[: width + 1]}\n")
    assert main(["encode", str(afa), "--model", str(trained / "bundle")]) == 2
    assert "columns wide" in capsys.readouterr().err


def test_corrupt_model_file_is_refused(trained, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(trained / "bundle", bad)
    onnx = bad / "aa_encoder.onnx"
    onnx.write_bytes(onnx.read_bytes()[:-100])
    afa = tmp_path / "x.afa"
    afa.write_text(">a\nAC-D\n")
    out = io.StringIO()
    assert main(["encode", str(afa), "--model", str(bad)], stdout=out) == 2
    assert "tampered or corrupt" in capsys.readouterr().err and out.getvalue() == ""


def test_unknown_model_name_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PROTFAM_TRACKING_URI", f"sqlite:///{tmp_path / 'empty.db'}")
    afa = tmp_path / "x.afa"
    afa.write_text(">a\nAC-D\n")
    assert main(["encode", str(afa), "--model", "no-such-vae"]) == 2
    assert "unknown model 'no-such-vae'" in capsys.readouterr().err


def test_deep_arch_trains_a_bundle_that_encodes_and_reconstructs(trained, rows, tmp_path, monkeypatch):
    monkeypatch.setenv("PROTFAM_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    args = ["train", "-d", str(MINI), "--out", str(tmp_path / "deep"), "--cache", str(trained / "cache")]
    assert main([*args, "--arch", "deep", "--hidden", "16", "--epochs", "1", "--threads", "1"]) == 0
    card = json.loads((tmp_path / "deep" / "model.json").read_text())
    assert card["params"]["arch"] == "deep" and card["params"]["hidden"] == 16
    _, placements, ss_sa = rows
    fp = Fingerprinter(str(tmp_path / "deep"))
    assert fp.transform(placements, ss_sa).shape == (len(placements), 3, 30)
    probs = fp.decode(fp.transform(placements, ss_sa))
    assert all(np.allclose(p.sum(axis=2), 1.0, atol=1e-5) for p in probs.values())  # a softmax per column
    aa = [a for a, _, _ in fp.reconstruct(placements, ss_sa)]
    assert [len(a) for a in aa] == [len(p.row) for p in placements]


def test_unknown_arch_is_one_line(tmp_path, capsys):
    assert main(["train", "-d", str(MINI), "--out", str(tmp_path / "x"), "--arch", "conv"]) == 2
    err = capsys.readouterr().err
    assert "--arch must be one of paper, deep" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()
