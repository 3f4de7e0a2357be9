"""The tables `classify-cnn predict` writes: the per-protein calls and the per-domain calls, each under a `#` line
that names the tool's version, the chain's settings used and every model bundle (name/version and the sha256 of its
model.json), so that a table says how it was made."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from protfam_core import __version__
from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.report import UNASSIGNED
from protfam_core.cnn.rule import Call, Domain


def provenance(classifier: FamilyClassifier, domains: bool = False, tool: str = "classify-cnn") -> str:
    """The '#' line: tool version, the chain's settings used (`ChainSettings.provenance`), every bundle used."""
    parts = [f"# {tool} {__version__}", *classifier.settings.provenance(domains)]
    parts += [f"{role}={bundle.ref} sha256={bundle.card_sha256()}" for role, bundle in classifier.bundles()]
    return "\t".join(parts)


def _number(value: float, spec: str) -> str:
    return "NA" if math.isnan(value) else format(value, spec)


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
