"""`classify-cnn predict --format`: every format read by its reference parser (Biopython SearchIO for the HMMER3
tables, gffutils for GFF3, json for JSON Lines) gives the rows of the TSV of the same run; the stage pipe writes the
same tblout as the one-shot call; `classify-cnn families` lists the shipped model's families."""

import io
import json
import math
import subprocess
from pathlib import Path
from urllib.parse import unquote

import gffutils
import pytest
from Bio import SearchIO
from protfam_tools.classify_cnn import main as classify_main

from protfam_core import __version__
from protfam_core.cnn.report import UNASSIGNED
from protfam_core.frames.frameset import FrameSet
from protfam_core.io.seqio import read_sequences
from protfam_core.registry.bundles import pinned, resolve

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "examples" / "queries.fasta"
MULTIDOMAIN = ROOT / "examples" / "multidomain.fasta"


def _predict(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = classify_main(["predict", *args, "-j", "1"], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _tables(fasta: Path, formats: tuple[str, ...], *extra: str) -> dict[str, str]:
    tables = {}
    for fmt in formats:
        code, text, err = _predict(str(fasta), "--format", fmt, *extra)
        assert code == 0, err
        tables[fmt] = text
    return tables


@pytest.fixture(scope="module")
def calls() -> dict[str, str]:
    """The per-protein calls of examples/queries.fasta in every format that holds them."""
    return _tables(QUERIES, ("tsv", "tblout", "gff3", "jsonl"))


@pytest.fixture(scope="module")
def domains() -> dict[str, str]:
    """The called domains of examples/multidomain.fasta in every format that holds them."""
    return _tables(MULTIDOMAIN, ("tsv", "domtblout", "gff3", "jsonl"), "--domains")


def _tsv(text: str) -> list[dict[str, str]]:
    lines = text.splitlines()
    assert lines[0].startswith("# classify-cnn ")
    head = lines[1].split("\t")
    return [dict(zip(head, line.split("\t"), strict=True)) for line in lines[2:]]


def _called(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in rows if r["family"] != UNASSIGNED]


def _jsonl(text: str) -> tuple[dict, list[dict]]:
    records = [json.loads(line) for line in text.splitlines()]
    return records[0], records[1:]


def test_tblout_read_by_biopython_is_the_tsv(calls: dict[str, str]) -> None:
    """One hit per called protein (target = family), with the TSV's E-value and the CNN score in the description;
    the bit score is the one of the hit behind the call (the JSON record's)."""
    tsv, (_, records) = _called(_tsv(calls["tsv"])), _jsonl(calls["jsonl"])
    bits = {r["query_id"]: r["bits"] for r in records}
    hits = [(q.id, hit) for q in SearchIO.parse(io.StringIO(calls["tblout"]), "hmmer3-tab") for hit in q]
    assert len(tsv) >= 8 and len(hits) == len(tsv)
    for row, (query, hit) in zip(tsv, hits, strict=True):
        assert (query, hit.id) == (row["query_id"], row["family"])
        assert hit.evalue == float(row["evalue"]) and hit.hsps[0].evalue == hit.evalue
        assert hit.bitscore == pytest.approx(bits[query], abs=0.05) and hit.bitscore > 0
        assert hit.description == f"cnn_score={row['score']}"
    assert calls["tblout"].startswith(calls["tsv"].splitlines()[0] + "\n")  # the provenance line


def test_domtblout_read_by_biopython_is_the_tsv(domains: dict[str, str]) -> None:
    """One HSP per called domain: query, family, ali/env coordinates and i-Evalue are the TSV's; the HMM length is
    the frame's width, the hmm coordinates lie in it and the query length is the sequence's; repeats are numbered
    within their family."""
    tsv = _called(_tsv(domains["tsv"]))
    lengths = {r.id: len(r.seq) for r in read_sequences(MULTIDOMAIN)}
    widths = pinned(resolve(None, "cnn").card, "frames", None).card["widths"]
    rows, numbers = [], {}
    queries = list(SearchIO.parse(io.StringIO(domains["domtblout"]), "hmmscan3-domtab"))
    for query in queries:
        assert query.seq_len == lengths[query.id]
        for hit in query:
            assert hit.seq_len == widths[hit.id]
            numbers[query.id, hit.id] = [hsp.domain_index for hsp in hit]
            for hsp in hit:
                assert 0 <= hsp.hit_start < hsp.hit_end <= widths[hit.id]
                assert (hsp.env_start, hsp.env_end) == (hsp.query_start, hsp.query_end)
                rows.append((query.id, hit.id, hsp.query_start + 1, hsp.query_end, hsp.evalue))
    expected = [(r["query_id"], r["family"], int(r["start"]), int(r["end"]), float(r["evalue"])) for r in tsv]
    assert len(expected) >= 8 and sorted(rows) == sorted(expected)
    assert numbers["ANK_repeat", "ANK"] == [1, 2, 3]
    assert any(hsp.hit_start > 0 for q in queries for hit in q for hsp in hit)  # partial: hmm from is not always 1


def _gff(text: str) -> list[tuple[str, str, int, int, float, float]]:
    assert text.startswith("##gff-version 3\n# classify-cnn ")
    db = gffutils.create_db(text, ":memory:", from_string=True)
    features = sorted(db.all_features(featuretype="protein_match"), key=lambda f: int(f.id.removeprefix("match")))
    return [(unquote(f.seqid), f.attributes["Name"][0], f.start, f.end, float(f.attributes["evalue"][0]),
             float(f.attributes["cnn_score"][0])) for f in features]  # fmt: skip


def test_gff3_read_by_gffutils_is_the_tsv(calls: dict[str, str], domains: dict[str, str]) -> None:
    """A protein_match per called domain (the TSV's span) or per called protein (the span of the hit behind it, as
    the JSON record has it), with the TSV's family, E-value and CNN score."""
    tsv = _called(_tsv(domains["tsv"]))
    expected = [(r["query_id"], r["family"], int(r["start"]), int(r["end"]), float(r["evalue"]), float(r["score"]))
                for r in tsv]  # fmt: skip
    assert _gff(domains["gff3"]) == expected
    proteins, (_, records) = _called(_tsv(calls["tsv"])), _jsonl(calls["jsonl"])
    spans = {r["query_id"]: (r["start"], r["end"]) for r in records}
    expected = [(r["query_id"], r["family"], *spans[r["query_id"]], float(r["evalue"]), float(r["score"]))
                for r in proteins]  # fmt: skip
    assert _gff(calls["gff3"]) == expected and all(row[2] >= 1 for row in expected)


@pytest.mark.parametrize("table", ["calls", "domains"])
def test_jsonl_is_the_tsv_after_its_metadata(table: str, calls: dict[str, str], domains: dict[str, str]) -> None:
    """The metadata record holds the provenance line's settings and bundles; then one object per TSV row."""
    tables = calls if table == "calls" else domains
    meta, records = _jsonl(tables["jsonl"])
    provenance = tables["tsv"].splitlines()[0].split("\t")
    assert meta["record"] == "metadata" and meta["table"] == table
    assert provenance[0] == f"# {meta['tool']} {meta['version']}"
    n = len(meta["settings"])  # the rule's four numbers
    assert n == 4 and [f"{k}={v:.6g}" for k, v in meta["settings"].items()] == provenance[1 : 1 + n]
    assert [f"{role}={b['ref']} sha256={b['sha256']}" for role, b in meta["bundles"].items()] == provenance[1 + n :]
    rows = _tsv(tables["tsv"])
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        assert (record["query_id"], record["family"], f"{record['score']:.6f}") == (
            row["query_id"], row["family"], row["score"])  # fmt: skip
        assert ("NA" if record["evalue"] is None else f"{record['evalue']:.3g}") == row["evalue"]
        if "start" in row:
            assert str(record["start"] or "NA") == row["start"] and str(record["end"] or "NA") == row["end"]


def test_pipe_tblout_is_the_one_shot_tblout(calls: dict[str, str]) -> None:
    """The bit score and span travel through the stage files: the pipe writes the one-shot call's tblout."""
    pipe = f"prep-msa place {QUERIES} -j 1 | predict-ss predict - -j 1 | encode-vae encode - -j 1 | "
    result = subprocess.run(["bash", "-o", "pipefail", "-c", pipe + "classify-cnn predict - -j 1 --format tblout"],
                            capture_output=True, text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == calls["tblout"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "domtblout"], "--format domtblout is the per-domain table: add --domains"),
        (["--format", "tblout", "--domains"], "--format tblout is the per-protein table"),
        (["--format", "gff3", "--top-k", "2"], "--top-k lists candidates in tsv and jsonl"),
        (["--format", "bed"], "unknown format 'bed'"),
    ],
)
def test_bad_combinations_are_one_line_errors(args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "calls.out"
    code, text, err = _predict(str(QUERIES), *args, "-o", str(out))
    assert code == 2 and not text and not out.exists()
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_fingerprints_without_frames(tmp_path: Path) -> None:
    """Calls of fingerprints without frames (every family a candidate, no search): tblout still reads, with nan
    E-values and bit scores; GFF3 has no span to place them on, a one-line error and no file."""
    rows = str(ROOT / "galaxy_wrappers" / "test-data" / "placed_il8_fingerprints.tsv")
    code, text, err = _predict(rows, "--format", "tblout")
    hits = [hit for q in SearchIO.parse(io.StringIO(text), "hmmer3-tab") for hit in q]
    assert code == 0 and hits and all(math.isnan(h.evalue) and math.isnan(h.bitscore) for h in hits), err
    out = tmp_path / "calls.gff3"
    code, text, err = _predict(rows, "--format", "gff3", "-o", str(out))
    assert code == 2 and "needs the span of a placement" in err and err.count("\n") == 1 and not out.exists()


def test_families_lists_the_shipped_model() -> None:
    """Every family of the shipped CNN in its output order, with the frames card's width and the frame HMM's
    sequence count; the shipped frames give no accession or description (NA)."""
    out, err = io.StringIO(), io.StringIO()
    assert classify_main(["families"], stdout=out, stderr=err) == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    cnn = resolve(None, "cnn")
    frames = pinned(cnn.card, "frames", None)
    assert lines[0] == (f"# classify-cnn families {__version__}\tmodel={cnn.ref} sha256={cnn.card_sha256()}\t"
                        f"frames={frames.ref} sha256={frames.card_sha256()}")  # fmt: skip
    assert lines[1].split("\t") == ["family", "frame_length", "frame_sequences", "accession", "description"]
    rows = [line.split("\t") for line in lines[2:]]
    hmms = FrameSet.load(frames.file("hmm"))
    assert [r[0] for r in rows] == cnn.card["families"] and len(rows) == 96
    for family, width, nseq, accession, description in rows:
        assert int(width) == frames.card["widths"][family] == hmms.widths[family]
        assert int(nseq) == hmms.hmm(family).nseq > 0 and (accession, description) == ("NA", "NA")
