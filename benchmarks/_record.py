"""The one place a benchmark's figures become data: a JSON record under benchmarks/results/<benchmark>/.

Every benchmark script calls `write_record` once with its figures; `benchmarks/report.py` turns the newest record of
each benchmark (and variant) into BENCHMARKS.md's tables and plots, so a figure lives in one file and its command,
code version and machine stay beside it. Record fields: benchmark, variant, command, date, protfam_version,
git_commit, git_dirty, machine, source ("measured", or where a transcribed figure came from), notes, figures.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from protfam_core import __version__

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parent.parent


def _git(*args: str) -> str:
    """Output of a git command in the checkout ('' outside one: a benchmark also runs from an unpacked sdist)."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine() -> dict:
    """What the figures were measured on: cores (those this process may use), CPU model, memory, load at the end."""
    return {
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "load_average": round(os.getloadavg()[0], 2),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def command_line(argv: list[str] | None = None) -> str:
    """The command as a user would retype it from the repository root."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else Path(argv[0])
    return shlex.join(["python", str(shown), *argv[1:]])


def _plain(value: object) -> object:
    """NumPy scalars as Python numbers, anything else JSON lacks (paths) as text."""
    return value.item() if hasattr(value, "item") else str(value)


def write_record(benchmark: str, figures: dict, *, variant: str = "", notes: str = "", results: Path = RESULTS) -> Path:
    """Write one measured record and return its path: results/<benchmark>/<date>T<time>Z-<commit>.json.

    `variant` names a setup that answers its own row of the question (another dataset, another option set); the
    report keeps the newest record of every variant."""
    now = datetime.now(UTC)
    commit = _git("rev-parse", "HEAD")
    record = {
        "benchmark": benchmark,
        "variant": variant,
        "command": command_line(),
        "date": now.strftime("%Y-%m-%dT%H:%MZ"),
        "protfam_version": __version__,
        "git_commit": commit,
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "machine": machine(),
        "source": "measured",
        "notes": notes,
        "figures": figures,
    }
    folder = results / benchmark
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{now.strftime('%Y-%m-%dT%H%M%SZ')}-{commit[:7] or 'nogit'}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, default=_plain) + "\n")
    tmp.replace(path)
    print(f"record: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", file=sys.stderr)
    return path


def without_command(res: dict) -> dict:
    """A benchmark's result dict as figures: its "command" entry is the record's own field."""
    return {k: v for k, v in res.items() if k != "command"}
