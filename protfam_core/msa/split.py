"""Balanced sampling and train/validation/test splits: random (stratified per family) or by identity clusters.

A random split of real families puts near-identical members on both sides and overstates accuracy, so the cluster
mode clusters the sampled sequences with MMseqs2 (easy-cluster at 40% identity by default) and sends whole clusters
to one split; a cluster shared by two families gets the same split in both.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from protfam_core.errors import InputError, ToolMissingError
from protfam_core.io.seqio import Record, format_fasta

SPLITS = ("train", "val", "test")
MODES = ("random", "cluster")


@dataclass
class FamilySplit:
    """One family's members per split; `train` is the training pool (may hold spares beyond the target)."""

    train: list[Record] = field(default_factory=list)
    val: list[Record] = field(default_factory=list)
    test: list[Record] = field(default_factory=list)


MIN_SPLIT_FAMILY = 5  # the smallest trainable family: four members for its frame and one validation member
SMALL_FAMILY = 10  # a smaller family gets no test member: a test member only measures (the user's summary), but
# at 5 members it would leave the frame (the HMM that finds the family's members) 3; hmmbuild profiles of 3 members
# classify 0.897 of the 96 families' test members, of 4 0.921 (benchmarks/small_families.py). Its val member stays:
# calibration needs every family validated


def split_counts(n: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> tuple[int, int, int]:
    """Per-family (train, val, test) targets; val and test are rounded, train takes the rest. A family of at least
    MIN_SPLIT_FAMILY members gets at least one val member where its fraction is not 0 (a 5-member Pfam seed would
    otherwise round to none), so that every family is validated; from SMALL_FAMILY members on it gets at least one
    test member likewise, and below it none (its members go to its frame instead)."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise InputError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    val = max(round(n * fractions[1]), 1 if fractions[1] and n >= MIN_SPLIT_FAMILY else 0)
    test = max(round(n * fractions[2]), 1 if fractions[2] else 0) if n >= SMALL_FAMILY else 0
    return n - val - test, val, test


def shuffled(records: list[Record], seed: int, key: str) -> list[Record]:
    """A seeded permutation that depends only on the seed and a key (the family), not on processing order."""
    out = list(records)
    random.Random(f"{seed}:{key}").shuffle(out)
    return out


def random_split(members: list[Record], n_val: int, n_test: int, seed: int, key: str) -> FamilySplit:
    """Stratified random split of one family: seeded shuffle, then val, test, and the rest as training pool."""
    order = shuffled(members, seed, key)
    return FamilySplit(train=order[n_val + n_test :], val=order[:n_val], test=order[n_val : n_val + n_test])


def cluster_split(
    members: list[Record],
    clusters: dict[str, str],
    n_val: int,
    n_test: int,
    seed: int,
    key: str,
    assigned: dict[str, str],
) -> FamilySplit:
    """Whole identity clusters to one split: biggest clusters first, each to the split furthest below its target.

    `assigned` (cluster -> split) is shared across families so a cluster spanning families lands in one split.
    """
    groups: dict[str, list[Record]] = defaultdict(list)
    for rec in shuffled(members, seed, key):
        groups[clusters[rec.id]].append(rec)
    order = list(groups)
    random.Random(f"{seed}:{key}:clusters").shuffle(order)
    order.sort(key=lambda c: -len(groups[c]))
    targets = {"train": len(members) - n_val - n_test, "val": n_val, "test": n_test}
    out = FamilySplit()
    for cluster in order:
        split = assigned.get(cluster)
        if split is None:
            split = max(SPLITS, key=lambda s: (targets[s] - len(getattr(out, s)), -SPLITS.index(s)))
            assigned[cluster] = split
        getattr(out, split).extend(groups[cluster])
    return out


def _mmseqs(command: str, args: list[str], output: Path, threads: int) -> str:
    """Run `mmseqs <command> <args>` and return its `output` file's text; one-line errors."""
    if shutil.which("mmseqs") is None:
        raise ToolMissingError("mmseqs not found on PATH (install the Debian package 'mmseqs2')")
    proc = subprocess.run(
        ["mmseqs", command, *args, "--threads", str(threads), "-v", "1"], capture_output=True, text=True
    )
    if proc.returncode != 0 or not output.exists():
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InputError(f"mmseqs {command} failed (exit {proc.returncode}): {last[0]}")
    return output.read_text()


def _numbered(records: list[Record], path: Path, prefix: str) -> None:
    """FASTA of `records` named prefix + index, so that MMseqs2's ids map back whatever the original ids are."""
    path.write_text(format_fasta([Record(f"{prefix}{i}", r.seq) for i, r in enumerate(records)], width=0))


def mmseqs_clusters(
    records: list[Record], min_seq_id: float = 0.4, coverage: float = 0.8, threads: int = 2
) -> dict[str, str]:
    """Cluster representative id of every record (MMseqs2 easy-cluster, greedy set cover)."""
    if not records:
        return {}
    with tempfile.TemporaryDirectory(prefix="protfam-mmseqs-") as tmp:
        src, prefix = Path(tmp) / "in.fasta", Path(tmp) / "clu"
        _numbered(records, src, "s")
        args = [str(src), str(prefix), str(Path(tmp) / "work"), "--min-seq-id", str(min_seq_id), "-c", str(coverage)]
        table = _mmseqs("easy-cluster", args, Path(f"{prefix}_cluster.tsv"), threads)
    out = {}
    for line in table.splitlines():
        rep, member = line.split("\t")
        out[records[int(member[1:])].id] = records[int(rep[1:])].id
    if len(out) != len(records):
        raise InputError(f"mmseqs clustered {len(out)} of {len(records)} sequences")
    return out


def mmseqs_hits(
    queries: list[Record], targets: list[Record], evalue: float = 1e-3, threads: int = 2
) -> list[tuple[int, int]]:
    """(query index, target index) of every MMseqs2 easy-search hit with E <= `evalue` (default sensitivity)."""
    if not queries or not targets:
        return []
    with tempfile.TemporaryDirectory(prefix="protfam-mmseqs-") as tmp:
        q, t, res = Path(tmp) / "q.fasta", Path(tmp) / "t.fasta", Path(tmp) / "hits.m8"
        _numbered(queries, q, "q")
        _numbered(targets, t, "t")
        table = _mmseqs(
            "easy-search", [str(q), str(t), str(res), str(Path(tmp) / "work"), "-e", str(evalue)], res, threads
        )
    return [(int(a[1:]), int(b[1:])) for a, b, *_ in (line.split("\t") for line in table.splitlines())]


def mmseqs_version() -> str:
    """MMseqs2 version for dataset cards."""
    if shutil.which("mmseqs") is None:
        raise ToolMissingError("mmseqs not found on PATH (install the Debian package 'mmseqs2')")
    return "mmseqs " + subprocess.run(["mmseqs", "version"], capture_output=True, text=True).stdout.strip()
