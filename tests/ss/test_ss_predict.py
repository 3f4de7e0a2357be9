"""The shipped SS/SA model through onnxruntime and the predict-ss tool: checksums, batching, formats, --msa, errors."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from protfam_tools.predict_ss import main

from protfam_core.errors import InputError, ModelError
from protfam_core.io.seqio import read_sequences
from protfam_core.registry import bundles as registry
from protfam_core.ss.data import read_cb513
from protfam_core.ss.predict import SSPredictor

DATA = Path(__file__).resolve().parents[1] / "data" / "ss"
FASTA = DATA / "scratch" / "test.fasta"


@pytest.fixture(scope="module")
def predictor() -> SSPredictor:
    return SSPredictor()


def test_shipped_default_is_verified_and_names_itself(predictor):
    bundle = registry.resolve(None, "ss")
    assert bundle.name == "ss-predictor" and predictor.model_id == bundle.ref
    assert predictor.model.input_names == ["tokens"]
    assert predictor.model.output_names == ["ss_prob", "sa_prob"]
    card = bundle.card
    assert card["data"]["checksum"] and card["metrics"]["cb513_q3"] > 0.7  # the floor of the issue


def test_inference_path_does_not_import_torch():
    code = (
        "import sys; from protfam_core.ss.predict import SSPredictor; "
        "print(SSPredictor().predict(['MKTAYIAKQRQISFVKSHFSRQ'])[0][0]); print('torch' in sys.modules)"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert len(out[0]) == 22 and out[1] == "False"


def test_predictions_have_sequence_lengths_and_probabilities(predictor):
    seqs = [r.seq for r in read_sequences(FASTA)]
    probs = predictor.predict_proba(seqs)
    for seq, (ss, sa) in zip(seqs, probs, strict=True):
        assert ss.shape == (len(seq), 3) and sa.shape == (len(seq), 2)
        assert np.allclose(ss.sum(1), 1, atol=1e-5) and np.allclose(sa.sum(1), 1, atol=1e-5)
    strings = predictor.predict(seqs)
    assert all(len(s) == len(a) == len(q) and set(s) <= set("HEC") and set(a) <= set("eb") for (s, a), q in
               zip(strings, seqs, strict=True))  # fmt: skip


def test_a_padded_batch_predicts_exactly_like_single_sequences(predictor):
    seqs = [r.seq for r in read_sequences(FASTA)] + ["MKV", "W"]
    together = predictor.predict_proba(seqs)
    for seq, (ss, sa) in zip(seqs, together, strict=True):
        ((ss1, sa1),) = predictor.predict_proba([seq])
        assert np.abs(ss - ss1).max() < 1e-5 and np.abs(sa - sa1).max() < 1e-5


def test_q3_on_real_cb513_chains_is_well_above_chance(predictor):
    """CB513 is never trained on; the 3 fixture chains (first rows of the csv) must be predicted sensibly."""
    chains = read_cb513(DATA / "cb513_head.csv")
    preds = predictor.predict([c.seq for c in chains])
    pairs = [
        (t, g) for c, (ss, _) in zip(chains, preds, strict=True) for t, g in zip(c.ss, ss, strict=True) if t != "?"
    ]
    q3 = sum(t == g for t, g in pairs) / len(pairs)
    assert q3 > 0.6


def test_tampered_model_is_refused(tmp_path):
    bundle = registry.resolve(None, "ss")
    copy = tmp_path / "bundle"
    shutil.copytree(bundle.path, copy)
    onnx = copy / bundle.card["files"]["model"]["path"]
    data = bytearray(onnx.read_bytes())
    data[-10] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="tampered"):
        SSPredictor(str(copy))


def test_bad_sequences_are_clear_errors(predictor, capsys):
    with pytest.raises(InputError, match="empty"):
        predictor.predict(["MKV", ""])
    with pytest.raises(InputError, match="non-amino-acid character '1'"):
        predictor.predict(["MK1V"])
    assert main(["predict", "-"], stdin=io.StringIO(">a\nMKVJ1Q*\n"), stdout=io.StringIO()) == 2
    assert "non-amino-acid character '1'" in capsys.readouterr().err
    assert main(["predict", "-"], stdin=io.StringIO(">a\n\n>b\nMKV\n"), stdout=io.StringIO()) == 2
    assert "empty" in capsys.readouterr().err


def test_unknown_model_is_a_clear_error(capsys):
    assert main(["predict", str(FASTA), "--model", "no-such-model"], stdout=io.StringIO()) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


def _run(args: list[str], stdin: str | None = None) -> str:
    out = io.StringIO()
    assert main(args, stdin=io.StringIO(stdin) if stdin is not None else None, stdout=out) == 0
    return out.getvalue()


def test_scratch_formats_tsv_and_json(predictor):
    records = read_sequences(FASTA)
    ss_text = _run(["predict", str(FASTA)])
    acc_text = _run(["predict", str(FASTA), "--format", "acc"])
    ss_lines, acc_lines = ss_text.splitlines(), acc_text.splitlines()
    assert ss_lines[0::2] == [f">{r.id}" for r in records] == acc_lines[0::2]
    expected = predictor.predict([r.seq for r in records])
    assert ss_lines[1::2] == [s for s, _ in expected]
    assert acc_lines[1::2] == [a.replace("b", "-") for _, a in expected]  # SCRATCH .acc: 'e' or '-'
    tsv = _run(["predict", "-", "--format", "tsv"], stdin=f">q\n{records[3].seq}\n").splitlines()
    assert tsv[0] == f"# predict-ss model: {predictor.model_id}"
    assert tsv[1].split("\t") == ["id", "pos", "aa", "ss", "p_H", "p_E", "p_C", "sa", "p_exposed"]
    assert len(tsv) == 2 + len(records[3].seq)
    row = tsv[2].split("\t")
    assert row[:3] == ["q", "1", records[3].seq[0]] and abs(sum(map(float, row[4:7])) - 1) < 1e-3
    doc = json.loads(_run(["predict", str(FASTA), "--format", "json"]))
    assert doc["model"] == predictor.model_id and len(doc["sequences"]) == 4
    first = doc["sequences"][0]
    assert len(first["p_ss"]) == len(first["sequence"]) == len(first["p_exposed"])


def test_msa_mode_keeps_the_alignment_width_and_gaps(predictor):
    aln = ">a\n--MKTAYIAKQ-RQISFVKSHFSRQ--\n>b\nGSHMLEDPVD---AFQ-----------\n"
    ss = _run(["predict", "-", "--msa", "--format", "ss"], stdin=aln).splitlines()
    sa = _run(["predict", "-", "--msa", "--format", "sa"], stdin=aln).splitlines()
    rows = [line for line in aln.splitlines() if not line.startswith(">")]
    for gapped, row in zip(ss[1::2] + sa[1::2], rows + rows, strict=True):
        assert len(gapped) == len(row)
        assert [c == "-" for c in gapped] == [c == "-" for c in row]
    ungapped = predictor.predict([r.replace("-", "") for r in rows])
    assert ss[1].replace("-", "") == ungapped[0][0] and sa[3].replace("-", "") == ungapped[1][1]
    tsv = _run(["predict", "-", "--msa", "--format", "tsv"], stdin=aln).splitlines()
    assert len(tsv) == 2 + 2 * len(rows[0]) and tsv[2].split("\t")[1:5] == ["1", "-", "-", "-"]


def test_msa_mode_refuses_the_acc_layout(capsys):
    assert (
        main(["predict", "-", "--msa", "--format", "acc"], stdin=io.StringIO(">a\nMK-V\n"), stdout=io.StringIO()) == 2
    )
    assert "clashes with alignment gaps" in capsys.readouterr().err
