"""The stage tools compose: `prep-msa place | predict-ss predict | encode-vae encode | classify-cnn predict` is the
classification, row for row, as real processes on real data; bad input at every stage gives one line."""

import gzip
import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from protfam_tools.classify_cnn import main as classify_main

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.io.fingerprints import parse_fingerprints
from protfam_core.io.seqio import read_sequences
from protfam_core.msa.open_set import reference_families

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "examples" / "queries.fasta"
DATA = ROOT / "tests" / "data"
# 50 seeded members of each of 8 extHomFam families the model knows (tests/data/pipe/PROVENANCE.md)
KNOWN_FASTA = DATA / "pipe" / "known_8x50.fasta.gz"
KNOWN = ["Fork_head", "kringle", "tln", "DEATH", "cyt3", "ngf", "ghf10", "fbpase"]
REFERENCE = DATA / "homstrad"
UNKNOWN = ["glob", "igvar-l"]  # HOMSTRAD families (41 and 26 sequences) the shipped model does not know
PIPE = "prep-msa place {q} | predict-ss predict - | encode-vae encode - | classify-cnn predict - {extra}"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """467 raw sequences: 50 from each of 8 known families, and every one of 2 families the model does not know."""
    lines = [gzip.decompress(KNOWN_FASTA.read_bytes()).decode()]
    for fam, records in reference_families(REFERENCE):
        lines += [f">{fam}|{r.id}\n{r.seq}\n" for r in records if fam in UNKNOWN]
    path = tmp_path_factory.mktemp("mixed") / "mixed.fasta"
    path.write_text("".join(lines))
    return path


def _sh(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=900)


def _body(tsv: str) -> list[str]:
    lines = tsv.splitlines()
    assert lines[0].startswith("# classify-cnn ")
    return lines[1:]


@pytest.mark.parametrize("extra", ["", "--top-k 3"])
def test_the_pipe_is_predict_on_the_examples(extra: str):
    one = _sh(f"classify-cnn predict {QUERIES} {extra}")
    pipe = _sh(PIPE.format(q=QUERIES, extra=extra))
    assert one.returncode == pipe.returncode == 0, pipe.stderr
    assert _body(pipe.stdout) == _body(one.stdout)
    assert len(_body(one.stdout)) == 1 + len(read_sequences(QUERIES))


def test_the_pipe_is_predict_on_467_sequences_with_unknown_families(mixed: Path):
    one = _sh(f"classify-cnn predict {mixed} --top-k 2")
    pipe = _sh(PIPE.format(q=mixed, extra="--top-k 2"))
    assert one.returncode == pipe.returncode == 0, pipe.stderr
    rows = _body(pipe.stdout)
    assert rows == _body(one.stdout)
    calls = {r.split("\t")[0]: r.split("\t")[1] for r in rows[1:]}
    assert list(calls) == [r.id for r in read_sequences(mixed)]  # input order, every query, no-hit ones too
    unknown = [c for q, c in calls.items() if q.split("|")[0] in UNKNOWN]
    known_right = [c == q.split("|")[0] for q, c in calls.items() if q.split("|")[0] in KNOWN]
    # 5 of the 26 Ig variable domains hit the azurin frame (E ~1e-4, both beta sandwiches): BENCHMARKS.md's open set
    assert len(unknown) == 67 and unknown.count("unassigned") >= 0.9 * 67 and np.mean(known_right) >= 0.95


def test_every_partial_pipe_gives_the_same_rows(mixed: Path):
    one = _body(_sh(f"classify-cnn predict {mixed}").stdout)
    for middle in ("", "| predict-ss predict - ", "| encode-vae encode - "):
        done = _sh(f"prep-msa place {mixed} {middle}| classify-cnn predict -")
        assert done.returncode == 0 and _body(done.stdout) == one, (middle, done.stderr)


def test_the_pipe_fingerprints_are_those_inside_predict(mixed: Path):
    piped = _sh(f"prep-msa place {mixed} | predict-ss predict - | encode-vae encode -")
    assert piped.returncode == 0, piped.stderr
    fps = parse_fingerprints("pipe", piped.stdout)
    inside = FamilyClassifier().fingerprint(read_sequences(mixed))
    assert fps.ids == inside.ids and fps.frames == inside.frames and fps.model == inside.model
    assert np.array_equal(fps.evalues, inside.evalues, equal_nan=True)
    assert np.array_equal(fps.vectors, inside.vectors, equal_nan=True)  # float for float, no-candidate rows NaN
    assert None in fps.frames  # the unknown families leave queries without any placement


def test_fingerprints_of_the_pipe_search_the_shipped_family_index():
    done = _sh(f"prep-msa place {QUERIES} | encode-vae encode - | fingerprint-search search - -k 1")
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()[2:]]
    assert done.stdout.splitlines()[1] == "query_id\tframe\trank\ttarget_id\tdistance"
    assert rows and all(r[2] == "1" for r in rows)
    # the nearest family fingerprint is mostly the frame's own family (chance: 1 in 96)
    assert np.mean([r[1] == r[3] for r in rows]) > 0.5


def _placements() -> str:
    done = _sh(f"prep-msa place {QUERIES} | predict-ss predict -")
    assert done.returncode == 0, done.stderr
    return done.stdout


def _one_line_error(command: str, stdin: str, out: Path) -> str:
    done = subprocess.run(["bash", "-c", command], input=stdin, capture_output=True, text=True, timeout=600)
    err = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(err) == 1 and "Traceback" not in done.stderr, done.stderr
    assert not out.exists() and not list(out.parent.glob(f".{out.name}*"))  # nothing written, no temp left
    return err[0]


def test_bad_input_at_every_stage(tmp_path: Path):
    placed = _placements()
    out = tmp_path / "out.tsv"
    first = placed.split(" family=", 1)[1].split()[0]
    unknown_frame = placed.replace(f"family={first} ", "family=NoSuchFamily ", 1)
    msg = _one_line_error(f"classify-cnn predict - -o {out}", unknown_frame, out)
    assert "'NoSuchFamily'" in msg and "lacks" in msg

    header = placed.splitlines()[0]
    ss = header.split(" ss=")[1].split()[0]
    short_ss = placed.replace(f" ss={ss} ", f" ss={ss[:-3]} ", 1)
    assert "SS of" in _one_line_error(f"encode-vae encode - -o {out}", short_ss, out)

    fps = _sh(f"prep-msa place {QUERIES} | encode-vae encode -").stdout
    lines = fps.splitlines()
    wide = "\n".join([*lines[:2], lines[2] + "\t0.5", *lines[3:]]) + "\n"
    assert "fields, expected" in _one_line_error(f"classify-cnn predict - -o {out}", wide, out)
    narrow = "\n".join(line.rsplit("\t", 1)[0] if not line.startswith("#") else line for line in lines) + "\n"
    assert "values, expected 90" in _one_line_error(f"classify-cnn predict - -o {out}", narrow, out)

    # stage outputs fed to the wrong stage, or out of order
    assert "not FASTA" in _one_line_error(f"predict-ss predict - -o {out}", fps, out)
    assert "not FASTA" in _one_line_error(f"encode-vae encode - -o {out}", fps, out)
    assert "not FASTA" in _one_line_error(f"prep-msa place - -o {out}", fps, out)
    records = [">" + r for r in placed.split(">")[1:]]
    assert records[0].split()[0] != records[1].split()[0]
    again = "".join([records[0], records[1], records[0], *records[2:]])
    assert "out of order" in _one_line_error(f"encode-vae encode - -o {out}", again, out)
    rows = fps.splitlines(keepends=True)
    assert rows[2].split("\t")[0] != rows[3].split("\t")[0]
    again = "".join([*rows[:4], rows[2], *rows[4:]])
    assert "rows are missing or added" in _one_line_error(f"classify-cnn predict - -o {out}", again, out)


def test_placement_input_to_predict_ss_takes_no_format(capsys):
    from protfam_tools.predict_ss import main as ss_main

    rc = ss_main(["predict", "-", "--format", "tsv"], stdin=io.StringIO(_placements()), stdout=io.StringIO())
    assert rc == 2 and "placements in give placements with SS/SA out" in capsys.readouterr().err


def test_fingerprints_of_another_vae_are_refused(capsys):
    vae = FamilyClassifier().vae_bundle.ref
    fps = _sh(f"prep-msa place {QUERIES} | encode-vae encode -").stdout.replace(f"; model {vae};", "; model vae/9;")
    rc = classify_main(["predict", "-"], stdin=io.StringIO(fps), stdout=io.StringIO())
    assert rc != 0 and "made by vae/9" in capsys.readouterr().err
