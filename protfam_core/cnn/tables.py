"""The tables `classify-cnn` writes: the per-protein calls and the per-domain calls, in the formats the field already
parses (TSV, HMMER3 --tblout and --domtblout, GFF3, JSON Lines), each saying how it was made: the tool's version, the
chain's settings used and every model bundle (name/version and the sha256 of its model.json), as `#` lines or, in
JSON Lines, a first metadata record; and the family list of a model (`classify-cnn families`)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from protfam_core import __version__
from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.report import UNASSIGNED
from protfam_core.cnn.rule import Call, Domain
from protfam_core.errors import InputError

FORMATS = ("tsv", "tblout", "domtblout", "gff3", "jsonl")
GFF_SOURCE = "protfam"
GFF_SEQID_SAFE = ".:^*$@!+_?-|"  # what GFF3 leaves unescaped in a seqid besides letters and digits


@dataclass(frozen=True)
class Provenance:
    """How a table was made: tool and version, the chain's settings (`key=value`) and (role, ref, sha256) per bundle."""

    tool: str
    settings: tuple[str, ...]
    bundles: tuple[tuple[str, str, str], ...]
    version: str = __version__

    @classmethod
    def of(cls, classifier: FamilyClassifier, tool: str = "classify-cnn") -> Provenance:
        bundles = tuple((role, b.ref, b.card_sha256()) for role, b in classifier.bundles())
        return cls(tool, tuple(classifier.settings.provenance()), bundles)

    def comment(self) -> str:
        """The '#' line: tool version, the settings used (`ChainSettings.provenance`), every bundle used."""
        parts = [f"# {self.tool} {self.version}", *self.settings]
        return "\t".join(parts + [f"{role}={ref} sha256={sha}" for role, ref, sha in self.bundles])

    def record(self) -> dict[str, Any]:
        """The same as JSON: settings as numbers where they are, bundles by role."""
        settings = {k: _json_value(v) for k, _, v in (s.partition("=") for s in self.settings)}
        bundles = {role: {"ref": ref, "sha256": sha} for role, ref, sha in self.bundles}
        return {"record": "metadata", "tool": self.tool, "version": self.version, "settings": settings,
                "bundles": bundles}  # fmt: skip


@dataclass(frozen=True)
class Families:
    """What a table says of each family beyond its name: frame length (the HMM's match states) and accession."""

    widths: dict[str, int]
    accessions: dict[str, str]

    @classmethod
    def of(cls, classifier: FamilyClassifier) -> Families:
        frames = classifier.frames
        return cls(dict(frames.widths), {f: frames.hmm(f).accession or "-" for f in frames.families})


def _json_value(text: str) -> Any:
    """A setting's number as a JSON number; text where it is none (or infinite: JSON has no infinity)."""
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):
        return text
    return int(value) if text.lstrip("-").isdigit() else value


def _number(value: float, spec: str) -> str:
    return "NA" if math.isnan(value) else format(value, spec)


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value


def format_calls(calls: Iterable[Call], top_k: int, header: str) -> str:
    """TSV: '#' provenance line, column header, one row per query in input order.

    `evalue` is the E-value of the frame-search hit behind the best candidate (its family when assigned), so a call
    can be judged the way a HMMER user judges a hit; NA when there is no candidate or the input was fingerprints."""
    columns = ["query_id", "family", "score", "evalue"]
    for k in range(1, top_k + 1):
        columns += [f"candidate_{k}", f"score_{k}"]
    lines = [header, "\t".join(columns)]
    for call in calls:
        row = [call.query_id, call.family, f"{call.score:.6f}", _number(call.evalue, ".3g")]
        for k in range(top_k):
            fam, score = call.candidates[k][:2] if k < len(call.candidates) else ("-", math.nan)
            row += [fam, _number(score, ".6f")]
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


def format_domains(domains: Sequence[Domain], header: str) -> str:
    """TSV of called domains: '#' provenance line, header, one row per domain (input order, then by start)."""
    lines = [header, "query_id\tfamily\tstart\tend\tscore\tevalue"]
    for d in domains:
        span = ["NA", "NA"] if d.family == UNASSIGNED else [str(d.start), str(d.end)]
        lines.append("\t".join([d.query_id, d.family, *span, f"{d.score:.6f}", _number(d.evalue, ".3g")]))
    return "\n".join(lines) + "\n"


def as_domain(call: Call) -> Domain:
    """A per-protein call as the one domain behind it: the best candidate's hit (span, E-value, bits), which is the
    call's family when it is assigned."""
    best = call.candidates[0] if call.candidates else None
    if best is None:
        return Domain(call.query_id, call.family, 0, 0, call.score, math.nan)
    return Domain(call.query_id, call.family, best.start, best.end, call.score, best.evalue, best.bits)


_TBLOUT_HEAD = [
    "#                                                               --- full sequence ---- --- best 1 domain ---- "
    "--- domain number estimation ----",
    "# target name        accession  query name           accession    E-value  score  bias   E-value  score  bias"
    "   exp reg clu  ov env dom rep inc description of target",
    "#------------------- ---------- -------------------- ---------- --------- ------ ----- --------- ------ -----"
    "   --- --- --- --- --- --- --- --- ---------------------",
]
_DOMTBLOUT_HEAD = [
    "#                                                                            --- full sequence --- "
    "-------------- this domain -------------   hmm coord   ali coord   env coord",
    "# target name        accession   tlen query name           accession   qlen   E-value  score  bias   #  of"
    "  c-Evalue  i-Evalue  score  bias  from    to  from    to  from    to  acc description of target",
    "#------------------- ---------- ----- -------------------- ---------- ----- --------- ------ ----- --- ---"
    " --------- --------- ------ ----- ----- ----- ----- ----- ----- ----- ---- ---------------------",
]


def _called(rows: Iterable[Domain]) -> list[Domain]:
    return [d for d in rows if d.family != UNASSIGNED]


def format_tblout(calls: Iterable[Call], prov: Provenance, families: Families) -> str:
    """HMMER3 --tblout as hmmscan writes it (target = family, query = protein): one line per called protein, its hit
    behind the call (full sequence and best domain: the same placement); bias 0 and the domain-number columns 1 (one
    placement per hit, no bias computed); the CNN score as `cnn_score=` in the description; `nan` where no search
    made the hit (fingerprints without frames). Unassigned proteins get no line, as HMMER reports no hit."""
    lines = [prov.comment(), *_TBLOUT_HEAD]
    for d in _called(as_domain(c) for c in calls):
        e, bits = format(d.evalue, "9.3g"), format(d.bits, "6.1f")  # nan where unknown: a float to every reader
        lines.append(f"{d.family:<20} {families.accessions[d.family]:<10} {d.query_id:<20} {'-':<10} {e} {bits}"
                     f"   0.0 {e} {bits}   0.0   1.0   1   0   0   1   1   1   1 cnn_score={d.score:.6f}")  # fmt: skip
    return "\n".join(lines) + "\n"


def _by_family(domains: Sequence[Domain]) -> list[tuple[Domain, int, int]]:
    """(domain, its number, the family's count) per called domain: a query's domains grouped by family (families in
    order of their first domain), as HMMER groups a target's domains."""
    out: list[tuple[Domain, int, int]] = []
    by_query: dict[str, dict[str, list[Domain]]] = {}
    for d in _called(domains):
        by_query.setdefault(d.query_id, {}).setdefault(d.family, []).append(d)
    for per_family in by_query.values():
        for hits in per_family.values():
            out += [(d, i, len(hits)) for i, d in enumerate(hits, 1)]
    return out


def format_domtblout(domains: Sequence[Domain], prov: Provenance, families: Families) -> str:
    """HMMER3 --domtblout as hmmscan writes it (target = family, query = protein): one line per called domain with
    its independent E-value and bit score (also in the full-sequence and c-Evalue columns: each domain is placed and
    scored alone), hmm coords the first and last frame column the placement fills, ali and env coords the domain's
    span, acc and bias unknown (nan, 0); tlen the frame's width; the CNN score as `cnn_score=` in the description."""
    lines = [prov.comment(), *_DOMTBLOUT_HEAD]
    for d, n, of in _by_family(domains):
        e, bits, width = format(d.evalue, "9.3g"), format(d.bits, "6.1f"), families.widths[d.family]
        coords = " ".join(f"{x:5d}" for x in (d.hmm_from, d.hmm_to, d.start, d.end, d.start, d.end))
        lines.append(f"{d.family:<20} {families.accessions[d.family]:<10} {width:5d} {d.query_id:<20} {'-':<10} "
                     f"{d.length:5d} {e} {bits}   0.0 {n:3d} {of:3d} {e} {e} {bits}   0.0 {coords}  nan "
                     f"cnn_score={d.score:.6f}")  # fmt: skip
    return "\n".join(lines) + "\n"


def format_gff3(rows: Sequence[Domain], prov: Provenance, families: Families) -> str:
    """GFF3: one `protein_match` feature per called domain (or per called protein: the span of the hit behind the
    call) on the protein, score column the bit score, attributes Name (the family), evalue, bits, cnn_score."""
    lines = ["##gff-version 3", prov.comment()]
    for i, d in enumerate(_called(rows), 1):
        if d.start < 1:
            raise InputError(f"{d.query_id}: a GFF3 feature needs the span of a placement; these calls have none")
        seqid = quote(d.query_id, safe=GFF_SEQID_SAFE)
        attrs = {"ID": f"match{i}", "Name": d.family, "evalue": _number(d.evalue, ".3g"),
                 "bits": _number(d.bits, ".1f"), "cnn_score": f"{d.score:.6f}"}  # fmt: skip
        if families.accessions[d.family] != "-":
            attrs["accession"] = families.accessions[d.family]
        column9 = ";".join(f"{k}={quote(v, safe=' /:|')}" for k, v in attrs.items())
        lines.append("\t".join([seqid, GFF_SOURCE, "protein_match", str(d.start), str(d.end),
                                _number(d.bits, ".1f").replace("NA", "."), ".", ".", column9]))  # fmt: skip
    return "\n".join(lines) + "\n"


def _domain_json(d: Domain) -> dict[str, Any]:
    span = d.family != UNASSIGNED and d.start > 0
    return {"query_id": d.query_id, "family": d.family, "start": d.start if span else None,
            "end": d.end if span else None, "score": d.score, "evalue": _json_number(d.evalue),
            "bits": _json_number(d.bits)}  # fmt: skip


def format_jsonl(results: Sequence, domains: bool, top_k: int, prov: Provenance) -> str:
    """JSON Lines: the metadata record (the provenance), then one object per call (as `as_domain`, plus its first
    `top_k` candidates) or per domain row of the TSV, in the TSV's order; unknown numbers are null."""
    records = [{**prov.record(), "table": "domains" if domains else "calls"}]
    for r in results:
        row = _domain_json(r if domains else as_domain(r))
        if not domains and top_k:
            row["candidates"] = [{"family": c.family, "score": c.score, "evalue": _json_number(c.evalue),
                                  "bits": _json_number(c.bits)} for c in r.candidates[:top_k]]  # fmt: skip
        records.append(row)
    return "".join(json.dumps(r, allow_nan=False) + "\n" for r in records)


def check_format(fmt: str, domains: bool, top_k: int) -> None:
    """A format that cannot hold these calls is a one-line error, before any work."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r} ({', '.join(FORMATS)})")
    if fmt == "domtblout" and not domains:
        raise InputError("--format domtblout is the per-domain table: add --domains (or use --format tblout)")
    if fmt == "tblout" and domains:
        raise InputError("--format tblout is the per-protein table: drop --domains (or use --format domtblout)")
    if top_k and fmt not in ("tsv", "jsonl"):
        raise InputError(f"--top-k lists candidates in tsv and jsonl, not in {fmt}")


def format_table(
    fmt: str, results: Iterable, domains: bool, top_k: int, classifier: FamilyClassifier, tool: str = "classify-cnn"
) -> str:
    """The calls (`domains`: the called domains) of `classifier` in format `fmt` (refused by `check_format` where it
    cannot hold them)."""
    check_format(fmt, domains, top_k)
    prov, rows = Provenance.of(classifier, tool), list(results)
    if fmt == "tsv":
        return format_domains(rows, prov.comment()) if domains else format_calls(rows, top_k, prov.comment())
    if fmt == "jsonl":
        return format_jsonl(rows, domains, top_k, prov)
    if fmt == "gff3" and not domains:
        rows = [as_domain(c) for c in rows]
    writers: dict[str, Callable[..., str]] = {"tblout": format_tblout, "domtblout": format_domtblout,
                                              "gff3": format_gff3}  # fmt: skip
    return writers[fmt](rows, prov, Families.of(classifier))


FAMILY_COLUMNS = ("family", "frame_length", "frame_sequences", "accession", "description")


def format_families(model: str | None = None) -> str:
    """TSV of every family of a CNN bundle, in its output order: the frame's length (the frames card's `widths`), the
    number of sequences its frame HMM was built from (NSEQ: the family's training members in its frame alignment),
    and the HMM's accession and description where the frames file gives them (NA otherwise)."""
    from protfam_core.frames.frameset import FrameSet
    from protfam_core.registry.bundles import pinned, resolve

    cnn = resolve(model, "cnn")
    frames_bundle = pinned(cnn.card, "frames", None)
    frames, widths = FrameSet.load(frames_bundle.file("hmm")), frames_bundle.card.get("widths", {})
    bundles = tuple((role, b.ref, b.card_sha256()) for role, b in (("model", cnn), ("frames", frames_bundle)))
    lines = [Provenance("classify-cnn families", (), bundles).comment(), "\t".join(FAMILY_COLUMNS)]
    for family in cnn.card["families"]:
        hmm = frames.hmm(family)
        values = [family, widths.get(family, hmm.M), hmm.nseq, hmm.accession, hmm.description]
        lines.append("\t".join("NA" if v is None else str(v) for v in values))
    return "\n".join(lines) + "\n"
