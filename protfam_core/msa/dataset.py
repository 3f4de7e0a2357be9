"""The benchmark dataset: family sequence sets in, aligned + filtered + split family frames out.

Pipeline (paper section 2.1, plus what real Pfam-derived data needs): upper-case; length filter (default 20..1200, a
window for domains: ANK repeats are 33 residues, zinc fingers 30; the paper's full-length filter is `min_length=50,
min_family_size=500`); merge source families that are the same family under several names; drop sequences whose
residues or ids occur under two labels and exact duplicates within a label; drop families below `min_family_size`
members (default 100, at least 5); sample up to `per_family` per family (seeded; smaller families keep all); split
80/10/10 (random, stratified per family, or by MMseqs2 identity clusters; a small family keeps a val and a test member
all the same); align the TRAINING members only; apply the paper's two gap steps; build one hand-architecture HMM per
family (the frame). Validation and test members are never aligned: they are placed into frames later, exactly like
unlabelled queries.

The folder holds manifest.tsv, sequences.fasta, frames.hmm, alignments/<family>.afa and card.json, which is written
last (the folder appears by an atomic rename, so a reader that sees card.json sees a complete dataset).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import pyhmmer

from protfam_core import __version__
from protfam_core.errors import InputError
from protfam_core.frames.frameset import FrameSet, build_hmm
from protfam_core.io.atomic import atomic_dir, sha256_file, write_text
from protfam_core.io.seqio import (
    Record,
    format_fasta,
    parse_sequences,
    read_alignment,
    read_sequences,
    read_text,
    sniff_format,
)
from protfam_core.msa.aligners import DEFAULT_BACKEND, align, check_backend, tool_version
from protfam_core.msa.gaps import COLUMN_GAP_THRESHOLD, SEQUENCE_GAP_THRESHOLD, select_with_gap_rules
from protfam_core.msa.split import (
    MIN_SPLIT_FAMILY,
    MODES,
    SPLITS,
    FamilySplit,
    cluster_split,
    mmseqs_clusters,
    mmseqs_version,
    random_split,
    shuffled,
    split_counts,
)

Progress = Callable[[str, int, int], None]
PER_FAMILY = 500  # members sampled per family at most: the paper's dataset; easy-train's default too
_BASE_SUFFIXES = (".fasta", ".fa", ".faa", ".fas", ".afa", ".a2m", ".sto", ".stk", ".sth", ".seed", ".pir", ".ali")
_SUFFIXES = tuple(s + gz for s in _BASE_SUFFIXES for gz in (".gz", ""))


@dataclass
class BuildOptions:
    """Every parameter of a dataset build; all of it goes into the card."""

    min_length: int = 20
    max_length: int = 1200
    min_family_size: int = 100
    per_family: int = PER_FAMILY
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    split: str = "random"
    backend: str = DEFAULT_BACKEND
    seed: int = 0
    oversample: float = 1.5
    merge_overlap: float = 0.5
    min_seq_id: float = 0.4
    coverage: float = 0.8
    sequence_gap_threshold: float = SEQUENCE_GAP_THRESHOLD
    column_gap_threshold: float = COLUMN_GAP_THRESHOLD
    families: list[str] | None = None
    threads: int = 2

    @classmethod
    def parsed(cls, fractions: str, **options: object) -> BuildOptions:
        """The options of a command line (fractions as 'train,val,test'), checked before any work starts."""
        try:
            split = tuple(float(x) for x in fractions.split(","))
        except ValueError:
            raise InputError(f"--fractions must be three numbers like 0.8,0.1,0.1, got {fractions!r}") from None
        opts = cls(fractions=split, **options)  # type: ignore[arg-type]
        opts.check()
        return opts

    def check(self) -> None:
        """InputError for inconsistent options, before any work starts."""
        check_backend(self.backend)
        if self.split not in MODES:
            raise InputError(f"unknown split mode {self.split!r} (choose from {', '.join(MODES)})")
        if self.min_length < 1 or self.max_length < self.min_length:
            raise InputError(f"bad length range {self.min_length}..{self.max_length}")
        if self.min_family_size < MIN_SPLIT_FAMILY or self.per_family < self.min_family_size:
            raise InputError(
                f"need min_family_size >= {MIN_SPLIT_FAMILY} (four members for its frame and one validation member) "
                "and per_family >= it"
            )
        if self.oversample < 1.0:
            raise InputError("oversample must be >= 1")
        split_counts(self.per_family, self.fractions)


@dataclass
class Cleaning:
    """What the cleaning steps removed, for the card."""

    read: dict[str, int] = field(default_factory=dict)
    length_kept: dict[str, int] = field(default_factory=dict)
    merged: dict[str, list[str]] = field(default_factory=dict)
    conflicting_sequences: int = 0
    duplicate_sequences: int = 0
    too_small: dict[str, int] = field(default_factory=dict)


def family_name(path: Path) -> str:
    """Family name of a source file: the file name without its sequence-file suffix."""
    for suffix in _SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.stem


def family_files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """The family files a source names: a folder's files with a family suffix or with none at all (HOMSTRAD's
    alignments are named by the family alone), one file, or a list of files and folders (a repeatable option's
    values: `easy-train --unknown FOLDER` is a list of one folder)."""
    paths = [Path(source)] if isinstance(source, str | Path) else [Path(p) for p in source]
    if not paths:
        raise InputError("no family files given")
    files = []
    for path in paths:
        if path.is_dir():
            files += _folder_files(path)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: not a folder of family FASTA files (or Stockholm, A2M), nor one such file")
    return files


def _folder_files(folder: Path) -> list[Path]:
    """A folder's family files, by name; InputError where it has none."""
    files = [p for p in sorted(folder.iterdir()) if p.is_file() and (p.name.endswith(_SUFFIXES) or "." not in p.name)]
    if not files:
        raise InputError(
            f"{folder}: no family files ({', '.join(_BASE_SUFFIXES)}, gzipped or not, or a family name alone)"
        )
    return files


def read_family_file(path: Path) -> list[tuple[str, list[Record]]]:
    """(family, records) of one file: one family per file (named by the file), except Stockholm, where every record
    is a family named by its `#=GF ID` (a single record without one is named by the file), as in Pfam-A.seed."""
    name, text = read_text(path)
    if sniff_format(text) != "stockholm":
        return [(family_name(path), parse_sequences(name, text))]
    try:
        with pyhmmer.easel.MSAFile(io.BytesIO(text.encode()), format="stockholm") as msas:
            blocks = [(msa.name, list(zip(msa.names, msa.alignment, strict=True))) for msa in msas]
    except (ValueError, EOFError) as exc:
        raise InputError(
            f"{name}: malformed Stockholm ({str(exc).splitlines()[0] if str(exc) else 'unreadable'})"
        ) from None
    out = []
    for i, (family, rows) in enumerate(blocks, 1):
        if family is None and len(blocks) > 1:
            raise InputError(f"{name}: Stockholm record {i} has no #=GF ID line to name its family")
        where = f"{name} ({family})" if len(blocks) > 1 else name
        fasta = format_fasta([Record(str(r), str(s)) for r, s in rows], width=0)
        out.append((str(family or family_name(path)), parse_sequences(where, fasta, "fasta")))
    return out


def read_families(source: str | Path | Sequence[str | Path], names: list[str] | None = None) -> dict[str, list[Record]]:
    """Every family of a folder of family files, one file or a list of files (FASTA, aligned FASTA, A2M, Stockholm
    with one or many records; gzipped or not), as {family: ungapped upper-case records}. A family name given twice
    is refused: two files would otherwise silently merge or replace one another."""
    families: dict[str, list[Record]] = {}
    origin: dict[str, Path] = {}
    for path in family_files(source):
        for family, records in read_family_file(path):
            if family in families:
                raise InputError(f"family {family!r} is given twice ({origin[family]} and {path})")
            families[family], origin[family] = records, path
    if names:
        missing = sorted(set(names) - set(families))
        if missing:
            raise InputError(f"{source}: no file for families {', '.join(missing)}")
        families = {n: families[n] for n in names}
    return families


def merged_name(names: list[str]) -> str:
    """Name of a merged class: the shared prefix ('Band_41_M' + 'Band_41_N' -> 'Band_41'), else names joined by '+'."""
    prefix = os.path.commonprefix(names).rstrip("_-.")
    return prefix if len(prefix) >= 3 else "+".join(sorted(names))


def merge_duplicate_families(
    families: dict[str, list[Record]], min_overlap: float = 0.5
) -> tuple[dict[str, list[Record]], dict[str, list[str]]]:
    """Merge families sharing more than `min_overlap` of the smaller one's residue strings into one class.

    Groups are transitive (S_100 ~ cbp ~ parv). Members of a merged class are de-duplicated by id.
    """
    owners: dict[str, set[str]] = defaultdict(set)
    for fam, recs in families.items():
        for r in recs:
            owners[r.seq].add(fam)
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for fams in owners.values():
        ordered = sorted(fams)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                shared[a, b] += 1
    parent = {f: f for f in families}

    def root(f: str) -> str:
        while parent[f] != f:
            f = parent[f]
        return f

    for (a, b), n in shared.items():
        smaller = min(len({r.seq for r in families[a]}), len({r.seq for r in families[b]}))
        if smaller and n / smaller > min_overlap:
            parent[root(b)] = root(a)
    groups: dict[str, list[str]] = defaultdict(list)
    for fam in families:
        groups[root(fam)].append(fam)
    out: dict[str, list[Record]] = {}
    merged: dict[str, list[str]] = {}
    for members in groups.values():
        if len(members) == 1:
            out[members[0]] = families[members[0]]
            continue
        name = merged_name(members)
        seen: set[str] = set()
        recs = []
        for fam in members:
            for r in families[fam]:
                if r.id not in seen:
                    seen.add(r.id)
                    recs.append(r)
        out[name] = recs
        merged[name] = sorted(members)
    return out, merged


def drop_conflicts(families: dict[str, list[Record]]) -> tuple[dict[str, list[Record]], int, int]:
    """Drop sequences whose id or residues occur under two labels; keep the first of exact duplicates in a label.

    Returns (families, conflicting sequences dropped, within-family duplicates dropped).
    """
    labels_of_seq: dict[str, set[str]] = defaultdict(set)
    labels_of_id: dict[str, set[str]] = defaultdict(set)
    for fam, recs in families.items():
        for r in recs:
            labels_of_seq[r.seq].add(fam)
            labels_of_id[r.id].add(fam)
    out: dict[str, list[Record]] = {}
    conflicts = duplicates = 0
    for fam, recs in families.items():
        kept = []
        seen_seq: set[str] = set()
        seen_id: set[str] = set()
        for r in recs:
            if len(labels_of_seq[r.seq]) > 1 or len(labels_of_id[r.id]) > 1:
                conflicts += 1
            elif r.seq in seen_seq or r.id in seen_id:
                duplicates += 1
            else:
                seen_seq.add(r.seq)
                seen_id.add(r.id)
                kept.append(r)
        out[fam] = kept
    return out, conflicts, duplicates


def clean_families(families: dict[str, list[Record]], opts: BuildOptions) -> tuple[dict[str, list[Record]], Cleaning]:
    """Length filter, merging, conflicts and duplicates, family-size floor."""
    info = Cleaning(read={f: len(r) for f, r in families.items()})
    families = {
        f: [r for r in recs if opts.min_length <= len(r.seq) <= opts.max_length] for f, recs in families.items()
    }
    info.length_kept = {f: len(r) for f, r in families.items()}
    families, info.merged = merge_duplicate_families(families, opts.merge_overlap)
    families, info.conflicting_sequences, info.duplicate_sequences = drop_conflicts(families)
    info.too_small = {f: len(r) for f, r in families.items() if len(r) < opts.min_family_size}
    kept = {f: r for f, r in sorted(families.items()) if len(r) >= opts.min_family_size}
    if not kept:
        raise InputError(f"no family has {opts.min_family_size} sequences after filtering")
    return kept, info


def family_counts(size: int, opts: BuildOptions) -> tuple[int, int, int]:
    """(train, val, test) targets of a family of `size` members: `per_family` is a cap, smaller families keep all."""
    return split_counts(min(size, opts.per_family), opts.fractions)


def sample_and_split(families: dict[str, list[Record]], opts: BuildOptions) -> tuple[dict[str, FamilySplit], dict]:
    """Per family a seeded sample (val + test + an oversampled training pool) and its split; also the cluster map."""
    counts = {fam: family_counts(len(recs), opts) for fam, recs in families.items()}
    samples = {}
    for fam, recs in families.items():
        n_train, n_val, n_test = counts[fam]
        samples[fam] = shuffled(recs, opts.seed, fam)[: n_val + n_test + math.ceil(n_train * opts.oversample)]
    clusters: dict[str, str] = {}
    splits: dict[str, FamilySplit] = {}
    assigned: dict[str, str] = {}
    if opts.split == "cluster":
        clusters = mmseqs_clusters(
            [r for recs in samples.values() for r in recs], opts.min_seq_id, opts.coverage, opts.threads
        )
    for fam, recs in samples.items():
        _, n_val, n_test = counts[fam]
        if opts.split == "cluster":
            splits[fam] = cluster_split(recs, clusters, n_val, n_test, opts.seed, fam, assigned)
        else:
            splits[fam] = random_split(recs, n_val, n_test, opts.seed, fam)
    return splits, clusters


def dataset_checksum(folder: Path) -> str:
    """One sha256 over manifest.tsv + sequences.fasta + frames.hmm (the contract's dataset checksum)."""
    h = hashlib.sha256()
    for name in ("manifest.tsv", "sequences.fasta", "frames.hmm"):
        h.update((folder / name).read_bytes())
    return h.hexdigest()


class FamilyAlignment(NamedTuple):
    """A family's frame material: the gap-filtered training rows (the frame's columns), the raw members they are,
    how many rows the gap rules dropped, and the frame HMM (`frames.frameset.build_hmm` of the rows before their
    dropped columns went, which are its insert states)."""

    rows: list[Record]
    members: list[Record]
    dropped: int
    hmm: pyhmmer.plan7.HMM


def align_family(family: str, train_pool: list[Record], n_train: int, opts: BuildOptions) -> FamilyAlignment:
    """Align a training pool, keep `n_train` rows that pass the gap rules, and build the family's frame."""
    result = select_with_gap_rules(
        align(train_pool, opts.backend, opts.threads), n_train, opts.sequence_gap_threshold, opts.column_gap_threshold
    )
    by_id = {r.id: r for r in train_pool}
    hmm = build_hmm(family, result.aligned, result.columns)
    return FamilyAlignment(result.rows, [by_id[r.id] for r in result.rows], len(result.dropped), hmm)


def build_dataset(
    source: str | Path | dict[str, list[Record]],
    out: str | Path,
    opts: BuildOptions | None = None,
    progress: Progress | None = None,
) -> dict:
    """Build a dataset folder from a folder of family files (or {family: records}); returns the card."""
    opts = opts or BuildOptions()
    tick = progress or (lambda stage, done, total: None)
    splits, n_train, clusters, extra = plan_dataset(source, opts, tick)
    alignments: dict[str, list[Record]] = {}
    members: dict[str, dict[str, list[Record]]] = {}
    gap_dropped: dict[str, int] = {}
    hmms = []
    for i, (fam, parts) in enumerate(splits.items()):
        tick("aligning training members", i, len(splits))
        alignments[fam], train, gap_dropped[fam], hmm = align_family(fam, parts.train, n_train[fam], opts)
        members[fam] = {"train": train, "val": parts.val, "test": parts.test}
        hmms.append(hmm)
    tick("aligning training members", len(splits), len(splits))
    return write_dataset(out, members, alignments, clusters, gap_dropped, opts, extra, FrameSet(hmms))


def plan_dataset(
    source: str | Path | dict[str, list[Record]], opts: BuildOptions, tick: Progress
) -> tuple[dict[str, FamilySplit], dict[str, int], dict[str, str], dict]:
    """Everything of a build before the per-family alignments: (splits, training rows wanted per family, the
    cluster map, the card's source, parameters and cleaning); a scattered build aligns each family as its own task."""
    opts.check()
    tick("reading families", 0, 1)
    raw = read_families(source, opts.families) if not isinstance(source, dict) else source
    tick("reading families", 1, 1)
    families, info = clean_families(raw, opts)
    tick("splitting", 0, 1)
    splits, clusters = sample_and_split(families, opts)
    tick("splitting", 1, 1)
    n_train = {fam: family_counts(len(families[fam]), opts)[0] for fam in splits}
    cleaning = {
        "read_per_family": info.read,
        "length_filter_kept_per_family": info.length_kept,
        "merged_families": info.merged,
        "conflicting_sequences_dropped": info.conflicting_sequences,
        "duplicate_sequences_dropped": info.duplicate_sequences,
        "families_below_min_size": info.too_small,
    }
    source_text = str(source) if not isinstance(source, dict) else "in-memory records"
    extra = {"source": source_text, "parameters": {**asdict(opts), "fractions": list(opts.fractions)}}
    extra["cleaning"] = cleaning
    return splits, n_train, clusters, extra


def subset_dataset(
    dataset: str | Path,
    out: str | Path,
    families: list[str],
    counts: tuple[int, int, int],
    opts: BuildOptions | None = None,
    progress: Progress | None = None,
) -> dict:
    """A small dataset cut from a built one: same splits (a test member stays a test member), re-aligned frames.

    Per family a seeded choice of `counts` (train, val, test) members of the parent's splits; the remaining parent
    training members are the spares that replace rows the gap rules drop.
    """
    opts = opts or BuildOptions()
    check_backend(opts.backend)
    tick = progress or (lambda stage, done, total: None)
    parent = load_dataset(dataset)
    known = set(parent.labels("train"))
    missing = [f for f in families if f not in known]
    if missing:
        raise InputError(f"{dataset}: no family {', '.join(missing)}")
    alignments: dict[str, list[Record]] = {}
    members: dict[str, dict[str, list[Record]]] = {}
    gap_dropped: dict[str, int] = {}
    hmms = []
    clusters = {sid: parent.clusters[sid] for sid, fam, _ in parent.manifest if fam in families and parent.clusters}
    for i, fam in enumerate(families):
        tick("aligning training members", i, len(families))
        parts = {
            split: shuffled(
                [parent.sequences[sid] for sid, f, s in parent.manifest if f == fam and s == split], opts.seed, fam
            )
            for split in SPLITS
        }
        alignments[fam], train, gap_dropped[fam], hmm = align_family(fam, parts["train"], counts[0], opts)
        members[fam] = {"train": train, "val": parts["val"][: counts[1]], "test": parts["test"][: counts[2]]}
        hmms.append(hmm)
    tick("aligning training members", len(families), len(families))
    extra = {
        "source": f"subset of {dataset} (checksum {parent.card.get('checksum')})",
        "parameters": {"families": families, "counts": list(counts), "backend": opts.backend, "seed": opts.seed},
        "parent": {
            "path": str(dataset),
            "checksum": parent.card.get("checksum"),
            "parameters": parent.card.get("parameters"),
        },
    }
    return write_dataset(out, members, alignments, clusters, gap_dropped, opts, extra, FrameSet(hmms))


def manifest_text(rows: Iterable[tuple[Record, str, str]], clusters: dict[str, str]) -> str:
    """The manifest TSV: seq_id, family, split (and cluster, for a cluster split), one row per (record, family,
    split)."""
    lines = ["\t".join(["seq_id", "family", "split"] + (["cluster"] if clusters else []))]
    lines += ["\t".join([r.id, fam, split] + ([clusters[r.id]] if clusters else [])) for r, fam, split in rows]
    return "\n".join(lines) + "\n"


def write_dataset(
    out: str | Path,
    members: dict[str, dict[str, list[Record]]],
    alignments: dict[str, list[Record]],
    clusters: dict[str, str],
    gap_dropped: dict[str, int],
    opts: BuildOptions,
    extra: dict,
    frames: FrameSet,
) -> dict:
    """Write the dataset folder (frames, manifest, sequences, alignments, card last) and swap it in atomically."""
    out = Path(out)
    with atomic_dir(out) as tmp:
        (tmp / "alignments").mkdir(parents=True)
        rows = [(r, fam, split) for fam, parts in members.items() for split in SPLITS for r in parts[split]]
        write_text(manifest_text(rows, clusters), tmp / "manifest.tsv")
        write_text(format_fasta([Record(r.id, r.seq) for r, _, _ in rows]), tmp / "sequences.fasta")
        frames.save(tmp / "frames.hmm")
        for fam, aln in alignments.items():
            write_text(format_fasta(aln, width=0), tmp / "alignments" / f"{fam}.afa")
        per_family = {
            fam: {
                **{s: len(members[fam][s]) for s in SPLITS},
                "width": frames.widths[fam],
                "gap_rule_dropped": gap_dropped[fam],
            }
            for fam in members
        }
        files = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        tools = {"aligner": tool_version(opts.backend), "pyhmmer": f"pyhmmer {pyhmmer.__version__}"}
        if clusters:
            tools["clustering"] = mmseqs_version()
        card = {
            "name": out.name,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "protfam_version": __version__,
            "description": "Family frames (train-only alignments + hand HMMs) and a seeded split, built by prep-msa",
            **extra,
            "tools": tools,
            "counts": {
                "families": len(members),
                "sequences": len(rows),
                **{s: sum(v[s] for v in per_family.values()) for s in SPLITS},
                "clusters": len({clusters[r.id] for r, _, _ in rows}) if clusters else None,
                "per_family": per_family,
            },
            "files": files,
            "checksum": dataset_checksum(tmp),
        }
        write_text(json.dumps(card, indent=2) + "\n", tmp / "card.json")
        return card


class Dataset:
    """A built dataset folder: manifest, raw sequences, frames and card."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        card_path = self.path / "card.json"
        if not card_path.is_file():
            raise InputError(f"{self.path}: not a protfam dataset (no card.json)")
        self.card: dict = json.loads(card_path.read_text())
        self.manifest: list[tuple[str, str, str]] = []
        self.clusters: dict[str, str] = {}
        lines = (self.path / "manifest.tsv").read_text().splitlines()
        header = lines[0].split("\t")
        if header[:3] != ["seq_id", "family", "split"]:
            raise InputError(f"{self.path}/manifest.tsv: bad header {header}")
        for line in lines[1:]:
            cols = line.split("\t")
            self.manifest.append((cols[0], cols[1], cols[2]))
            if len(cols) > 3:
                self.clusters[cols[0]] = cols[3]
        self.sequences: dict[str, Record] = {r.id: r for r in read_sequences(self.path / "sequences.fasta")}
        self._frames: FrameSet | None = None

    @property
    def frames(self) -> FrameSet:
        """The family frames (loaded on first use)."""
        if self._frames is None:
            self._frames = FrameSet.load(self.path / "frames.hmm")
        return self._frames

    @property
    def families(self) -> list[str]:
        """Family names in frame order."""
        return self.frames.families

    def records(self, split: str) -> list[Record]:
        """Raw (ungapped) sequences of one split, in manifest order."""
        return [self.sequences[sid] for sid, _, s in self.manifest if s == split]

    def labels(self, split: str) -> list[str]:
        """Family labels of one split, aligned with records(split)."""
        return [fam for _, fam, s in self.manifest if s == split]

    def alignment(self, family: str) -> list[Record]:
        """The family's frame alignment (gap-filtered training members)."""
        return read_alignment(self.path / "alignments" / f"{family}.afa")


def load_dataset(path: str | Path) -> Dataset:
    """Open a dataset folder built by `prep-msa build`."""
    return Dataset(path)
