"""Issue 19 item 10: the project's own fuzz corpus. Hypothesis makes FASTA-like inputs, each with one defect a
hostile or careless user brings (deterministic: derandomized, so every run tries the same cases); every command
runs on them in a subprocess and must exit non-zero with one line on stderr, no traceback and no file left behind."""

import gzip
import io
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
LETTERS = "ACDEFGHIKLMNPQRSTVWY"
DEFECTS = ("no-id", "inner-stop", "non-ascii", "digit", "nul", "gzip", "latin1", "dna", "duplicate", "empty", "tsv")
# Every command, with where the bad file goes (F) and its output (O, inside the case's folder).
COMMANDS = [
    ["prep-msa", "align", "F", "-o", "O"],
    ["prep-msa", "filter", "F", "-o", "O"],
    ["prep-msa", "place", "F", "-o", "O"],
    ["prep-msa", "split", "F", "-o", "O"],
    ["prep-msa", "build", "F", "O"],
    ["prep-msa", "subset", "F", "O", "--family", "x"],
    ["predict-ss", "predict", "F", "-o", "O"],
    ["encode-vae", "encode", "F", "-o", "O"],
    ["encode-vae", "reconstruct", "F", "-o", "O"],
    ["encode-vae", "train", "--dataset", "F", "--out", "O"],
    ["encode-vae", "report", "--dataset", "F", "--out", "O"],
    ["classify-cnn", "predict", "F", "-o", "O"],
    ["classify-cnn", "train", "--dataset", "F", "--out", "O"],
    ["classify-cnn", "calibrate", "--dataset", "F", "--out", "O"],
    ["classify-cnn", "evaluate", "--dataset", "F", "--out", "O"],
    ["fingerprint-search", "search", "F", "-o", "O"],
    ["fingerprint-search", "compare", "F", "F", "-o", "O"],
    ["fingerprint-search", "list", "F"],
    ["fingerprint-search", "index", "build", "F", "-o", "O"],
    ["protfam-registry", "show", "F"],
    ["protfam-registry", "export", "F", "O"],
]

records = st.lists(
    st.tuples(st.from_regex(r"[A-Za-z0-9_|/.-]{1,12}", fullmatch=True), st.text(LETTERS, min_size=20, max_size=80)),
    min_size=1,
    max_size=4,
    unique_by=lambda r: r[0],
)


def _bad_input(recs: list[tuple[str, str]], defect: str, where: int) -> bytes:
    """FASTA text of `recs` with `defect` put into record `where`."""
    recs = [list(r) for r in recs]
    i = where % len(recs)
    name, seq = recs[i]
    cut = len(seq) // 2
    if defect == "no-id":
        recs[i][0] = ""
    elif defect == "inner-stop":
        recs[i][1] = seq[:cut] + "*" + seq[cut:]
    elif defect == "non-ascii":
        recs[i][1] = seq[:cut] + "\u00e9" + seq[cut:]
    elif defect == "digit":
        recs[i][1] = seq[:cut] + "7" + seq[cut:]
    elif defect == "dna":
        recs = [[n, "ACGT" * 10] for n, _ in recs]
    elif defect == "duplicate":
        recs.append([name, seq])
    text = "".join(f">{n}\n{s}\n" for n, s in recs)
    if defect == "empty":
        return b"\n\n"
    if defect == "nul":
        return text.encode()[:10] + b"\x00\x00" + text.encode()[10:]
    if defect == "latin1":
        return f">{name} caf\xe9\n{seq}\n".encode("latin-1")
    if defect == "gzip":
        packed = gzip.compress(text.encode())
        return packed[:12] + b"\xff" * 8 + packed[20:]
    if defect == "tsv":
        return f"id\tz1\tz2\n{name}\t1.0\tnot-a-number\n".encode()
    return text.encode()


def _corpus() -> list[tuple[list[str], bytes]]:
    """At least 100 (command, input) cases, the same ones every run."""
    cases: list[tuple[list[str], bytes]] = []

    @settings(
        max_examples=105,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(records, st.sampled_from(DEFECTS), st.integers(0, 3))
    def collect(recs, defect, where) -> None:
        cases.append((COMMANDS[len(cases) % len(COMMANDS)], _bad_input(recs, defect, where)))

    collect()
    return cases


def _run(case: tuple[int, list[str], bytes], base: Path) -> str | None:
    """None if the case behaved, else what went wrong."""
    n, command, data = case
    folder = base / f"case{n}"
    folder.mkdir()
    (folder / "in.fa").write_bytes(data)
    args = [str(folder / "in.fa") if a == "F" else str(folder / "out") if a == "O" else a for a in command]
    tool = command[0].replace("-", "_").replace("protfam_registry", "registry")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", f"protfam_tools.{tool}", *args[1:], "--threads", "1"]
        if command[:2] in (["prep-msa", "align"], ["classify-cnn", "predict"], ["predict-ss", "predict"])
        else [sys.executable, "-m", f"protfam_tools.{tool}", *args[1:]],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=120,
    )
    left = sorted(p.name for p in folder.iterdir() if p.name != "in.fa")
    lines = done.stderr.strip().splitlines()
    if done.returncode == 0 or "Traceback" in done.stderr or len(lines) != 1 or left:
        return f"{command} on {data[:60]!r}: rc={done.returncode} stderr={done.stderr[-300:]!r} left={left}"
    return None


def test_bad_inputs_through_every_command(tmp_path: Path):
    corpus = _corpus()
    assert len(corpus) >= 100 and {tuple(c) for c, _ in corpus} == {tuple(c) for c in COMMANDS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [
            f for f in pool.map(lambda c: _run(c, tmp_path), [(n, c, d) for n, (c, d) in enumerate(corpus)]) if f
        ]
    assert not failures, "\n".join(failures[:10])


# ---- Issue 37: the stage formats, mutated ------------------------------------------------------------------------
# Valid stage files made by the formats' own writers (prep-msa place, predict-ss, encode-vae on the README's
# examples), then damaged as a file that travels between tools gets damaged: cut at any byte, a match column dropped
# or its case flipped, a header field or a table cell set to a value the contract forbids, records dropped or
# swapped, two stages mixed. classify-cnn reads every stage: it must give the intact input's calls exactly, or one
# error line and a non-zero exit, never a changed table with exit 0.

STAGES = ("placements", "placements_ss", "fingerprints")
BAD_FIELDS = {
    "start": ("0", "-3", "85", "1000000", "x"),
    "end": ("0", "-1", "100000", "1.5"),
    "evalue": ("-1e-05", "nan", "inf", "-inf", "NaN", "1e400", "x"),
    "score": ("nan", "inf", "x"),
    "len": ("0", "1", "99999", "-5"),
    "record": ("0/13", "14/13", "1/1", "x"),
    "format": ("1", "3", "x"),
    "frames": ("family-frames/1", "vae/2", str(ROOT / "galaxy_wrappers" / "test-data" / "frames.hmm")),
    "family": ("NoSuchFamily", "ANK", "-"),  # ANK: the one frame of 33 columns, the width of no placed example
    "domain": ("x", "-1"),
    "ss": ("HHX", "C"),
    "sa": ("eeE", "b"),
}
FIRST_LINE = (
    (r"fingerprints 2;", "fingerprints 3;"),
    (r"fingerprints 2;", "fingerprints 1;"),
    (r"; model [^;]+;", "; model vae/9;"),
    (r"; frames [^;]+;", "; frames family-frames/1;"),
    (r"; frames [^;]+;", ";"),
)
BAD_CELLS = ("nan", "inf", "-inf", "-1e-05", "x", "", "NoSuchFamily", "1e400")
BAD_FLOATS = ("nan", "inf", "-inf", "x", "", "1e400")  # a fingerprint value: any finite number is one


@pytest.fixture(scope="module")
def stages() -> dict[str, str]:
    """Each stage of the README's pipe on its examples, written by the tools themselves."""
    from protfam_tools.encode_vae import main as encode_main
    from protfam_tools.predict_ss import main as ss_main
    from protfam_tools.prep_msa import main as msa_main

    out: dict[str, str] = {}
    for stage, main, argv, source in (
        ("placements", msa_main, ["place", str(ROOT / "examples" / "queries.fasta"), "-j", "1"], None),
        ("placements_ss", ss_main, ["predict", "-", "-j", "1"], "placements"),
        ("fingerprints", encode_main, ["encode", "-", "-j", "1"], "placements_ss"),
    ):
        stdout = io.StringIO()
        stdin = io.StringIO(out[source]) if source else None
        assert main(argv, stdin=stdin, stdout=stdout, stderr=io.StringIO()) == 0
        out[stage] = stdout.getvalue()
    return out


def _classify(text: str) -> tuple[int, str, str]:
    from protfam_tools.classify_cnn import main as classify_main

    stdout, stderr = io.StringIO(), io.StringIO()
    rc = classify_main(["predict", "-", "-j", "1"], stdin=io.StringIO(text), stdout=stdout, stderr=stderr)
    return rc, stdout.getvalue().split("\n", 1)[-1], stderr.getvalue()  # the calls, after the '#' provenance line


@pytest.fixture(scope="module")
def calls(stages: dict[str, str]) -> str:
    """The calls of the intact stages: the same from each."""
    answers = {_classify(text) for text in stages.values()}
    assert len(answers) == 1 and next(iter(answers))[0] == 0
    return next(iter(answers))[1]


def _replace_field(header: str, key: str, value: str | None) -> str:
    words = header.split()
    kept = [w for w in words if not w.startswith(f"{key}=")]
    if value is None:
        return " ".join(kept)
    at = next((i for i, w in enumerate(words) if w.startswith(f"{key}=")), len(words))
    return " ".join([*words[:at], f"{key}={value}", *words[at + 1 :]])


def _mutate_placements(text: str, data) -> str:
    lines = text.splitlines(keepends=True)
    heads = [i for i, line in enumerate(lines) if line.startswith(">")]
    i = data.draw(st.sampled_from(heads), label="record")
    header, row = lines[i].rstrip("\n"), lines[i + 1].rstrip("\n")
    kind = data.draw(st.sampled_from(("field", "drop-field", "column", "case", "records")), label="kind")
    placed = [k for k, c in enumerate(row) if c.isupper() or c == "-"]
    if kind == "field":
        key = data.draw(st.sampled_from(sorted(BAD_FIELDS)), label="field")
        value = data.draw(st.sampled_from(BAD_FIELDS[key]), label="value")
        if f" {key}={value} " in f"{header} " or ("family=-" in header and key in ("start", "end", "evalue")):
            value = "x"  # the record's own value or a field it lacks: still one it may not have
        lines[i] = _replace_field(header, key, value) + "\n"
    elif kind == "drop-field":
        key = data.draw(st.sampled_from(("family", "len", "record", "format", "frames", "evalue", "ss")), label="key")
        if f" {key}=" not in header:
            key = "len"
        lines[i] = _replace_field(header, key, None) + "\n"
    elif kind in ("column", "case") and placed:
        k = data.draw(st.sampled_from(placed), label="column")
        edited = row[:k] + row[k + 1 :] if kind == "column" else row[:k] + row[k].swapcase() + row[k + 1 :]
        if edited == row:  # a '-' has no case: drop it instead
            edited = row[:k] + row[k + 1 :]
        lines[i + 1] = edited + "\n"
    else:
        j = data.draw(st.sampled_from(heads), label="other record")
        if j == i:
            del lines[i : i + 2]
        else:
            lines[i : i + 2], lines[j : j + 2] = lines[j : j + 2], lines[i : i + 2]
    return "".join(lines)


def _mutate_table(text: str, data) -> str:
    lines = text.splitlines(keepends=True)
    kind = data.draw(st.sampled_from(("cell", "drop-cell", "rows", "first-line")), label="kind")
    rows = list(range(2, len(lines) - 1))
    i = data.draw(st.sampled_from(rows), label="row")
    cells = lines[i].rstrip("\n").split("\t")
    if kind == "cell":
        k = data.draw(st.integers(1, len(cells) - 1), label="cell")
        value = data.draw(st.sampled_from(BAD_CELLS if k < 6 else BAD_FLOATS), label="value")
        if cells[1] == "-" and k > 1:  # a query without a frame: NA everywhere, anything else is a defect
            value = "0.5"
        cells[k] = value if cells[k] != value else "x"
        lines[i] = "\t".join(cells) + "\n"
    elif kind == "drop-cell":
        k = data.draw(st.integers(0, len(cells) - 1), label="cell")
        lines[i] = "\t".join(cells[:k] + cells[k + 1 :]) + "\n"
    elif kind == "rows":  # a row dropped or repeated (rows in another order are the same table, reordered)
        if data.draw(st.booleans(), label="drop"):
            del lines[i]
        else:
            lines.insert(i, lines[i])
    else:
        pattern, value = data.draw(st.sampled_from(FIRST_LINE), label="first line")
        lines[0] = re.sub(pattern, value, lines[0], count=1)
    return "".join(lines)


def _check(text: str, calls: str, what: str) -> None:
    rc, out, err = _classify(text)
    lines = err.strip().splitlines()
    if rc == 0:
        assert out == calls, f"{what}: exit 0 with another table"
    else:
        assert len(lines) == 1 and lines[0].startswith("classify-cnn: error: "), f"{what}: {err!r}"


FUZZ = settings(
    max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_file_cut_at_any_byte_is_an_error_or_the_same_calls(stages, calls, stage: str):
    text = stages[stage]

    @FUZZ
    @given(st.integers(0, len(text) - 1))
    def cut(at: int) -> None:
        _check(text[:at], calls, f"{stage} cut at byte {at}")

    cut()


@pytest.mark.parametrize("stage", STAGES)
def test_a_damaged_stage_file_is_an_error_or_the_same_calls(stages, calls, stage: str):
    text = stages[stage]
    mutate = _mutate_table if stage == "fingerprints" else _mutate_placements

    @FUZZ
    @given(st.data())
    def damaged(data) -> None:
        mutated = mutate(text, data)
        _check(mutated, calls, f"{stage} damaged")

    damaged()


def test_stages_mixed_are_an_error_or_the_same_calls(stages, calls):
    @FUZZ
    @given(st.sampled_from(STAGES), st.sampled_from(STAGES), st.floats(0, 1), st.floats(0, 1))
    def mixed(first: str, second: str, x: float, y: float) -> None:
        a, b = stages[first], stages[second]
        _check(a[: int(x * len(a))] + b[int(y * len(b)) :], calls, f"{first} then {second} at {x:.3f}/{y:.3f}")

    mixed()
