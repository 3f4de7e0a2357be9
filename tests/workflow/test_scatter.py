"""`classify-cnn chain` steps on the 6-family fixture: the dataset assembled from one align task per family is the one
`easy-train` builds (same checksum), the SS/SA chunks cover the train and validation members, and bad input stops
at the prepare step. (The training and publishing steps run under Nextflow: tests/test_nextflow_run.py.)"""

import io
import json
from pathlib import Path

from protfam_tools.classify_cnn import main

from protfam_core.msa.dataset import build_dataset, load_dataset
from protfam_core.workflow.train_chain import TrainSettings, build_options

DATA = Path(__file__).resolve().parents[1] / "data" / "easy_train"


def cli(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert main(["chain", *args], stdout=out, stderr=err) == 0, err.getvalue()
    return out.getvalue()


def test_scattered_dataset_is_easy_trains(tmp_path: Path) -> None:
    prepared = tmp_path / "prepared"
    parts = cli("prepare", str(DATA), "--name", "demo", "--epochs", "1", "-o", str(prepared)).split()
    plan = json.loads((prepared / "plan.json").read_text())
    assert len(parts) == 4 and plan["settings"]["epochs"] == 1 and len(plan["roles"]["held_out"]) == 2
    for part in parts:  # each as its own task would: its own output folder
        cli("align", part, "-o", str(tmp_path / "aligned" / Path(part).stem))
    folders = sorted(str(p) for p in (tmp_path / "aligned").iterdir())
    chunks = tmp_path / "chunks.tsv"
    cli("assemble", str(prepared), *folders, "-o", str(tmp_path / "dataset"), "--chunks", str(chunks),
        "--chunk-size", "20")  # fmt: skip
    whole = build_dataset(str(prepared / "input" / "families"), tmp_path / "whole", build_options(TrainSettings("x")))
    scattered = load_dataset(tmp_path / "dataset")
    assert scattered.card["checksum"] == whole["checksum"]
    assert scattered.card["counts"] == whole["counts"]
    rows = [line.split("\t") for line in chunks.read_text().splitlines()]
    for split in ("train", "val"):
        spans = [(int(a), int(b)) for s, a, b in rows if s == split]
        assert spans[0][0] == 0 and spans[-1][1] == len(scattered.records(split))
        assert all(b - a <= 20 for a, b in spans)
        assert all(b == c for (_, b), (c, _) in zip(spans, spans[1:], strict=False))  # contiguous
    split, start, end = rows[0]
    shard = tmp_path / f"{split}.{start}.npz"
    assert cli("annotate", str(tmp_path / "dataset"), "--split", split, "--start", start, "--end", end,
               "-o", str(shard)).split() == [str(shard), end]  # fmt: skip


def test_prepare_refuses_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    lonely = tmp_path / "fams"
    lonely.mkdir()
    (lonely / "lonely.fasta").write_text(">a\nMKVLAAGIVGLLLAQSPAHA\n")
    err = io.StringIO()
    rc = main(["chain", "prepare", str(lonely), "--name", "x", "-o", str(tmp_path / "p")], stderr=err)
    assert rc != 0 and "family 'lonely' has one sequence" in err.getvalue()
    assert not (tmp_path / "p").exists()
