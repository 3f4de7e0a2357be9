"""Issue 19 item 10: the project's own fuzz corpus. Hypothesis makes FASTA-like inputs, each with one defect a
hostile or careless user brings (deterministic: derandomized, so every run tries the same cases); every command
runs on them in a subprocess and must exit non-zero with one line on stderr, no traceback and no file left behind."""

import gzip
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
