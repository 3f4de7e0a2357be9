"""Table 1 of the paper (per-family F1, precision, recall, accuracy and their averages) and a confusion-matrix plot.

Predictions may be `unassigned`: such a call is a false negative for the true family and a false positive for no one,
so open-set abstentions cost recall but never precision, as in a real annotation run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from protfam_core.io.atomic import atomic_path, write_text

UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class FamilyScore:
    """One row of Table 1."""

    family: str
    support: int
    precision: float
    recall: float
    f1: float
    accuracy: float


def table1(truth: Sequence[str], calls: Sequence[str], families: Sequence[str]) -> list[FamilyScore]:
    """Per-family metrics exactly as defined in the paper's section 3.2 (TP/FP/FN/TN per family over all calls)."""
    t, c = np.asarray(truth, dtype=object), np.asarray(calls, dtype=object)
    rows = []
    for fam in families:
        tp = int(np.sum((t == fam) & (c == fam)))
        fp = int(np.sum((t != fam) & (c == fam)))
        fn = int(np.sum((t == fam) & (c != fam)))
        tn = len(t) - tp - fp - fn
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(FamilyScore(fam, tp + fn, precision, recall, f1, (tp + tn) / len(t) if len(t) else 0.0))
    return rows


def macro_average(rows: Sequence[FamilyScore]) -> FamilyScore:
    """Unweighted mean over families with test sequences (the paper's 'Average' row)."""
    used = [r for r in rows if r.support] or list(rows)
    mean = {k: float(np.mean([getattr(r, k) for r in used])) for k in ("precision", "recall", "f1", "accuracy")}
    return FamilyScore("Average (macro)", sum(r.support for r in used), **mean)


def overall_accuracy(truth: Sequence[str], calls: Sequence[str]) -> float:
    """Share of sequences whose call equals the label (unassigned counts as wrong)."""
    return float(np.mean(np.asarray(truth, dtype=object) == np.asarray(calls, dtype=object))) if truth else 0.0


def confusion(truth: Sequence[str], calls: Sequence[str], families: Sequence[str]) -> np.ndarray:
    """Counts (true family x called family), with a last column for `unassigned` (and any unknown call)."""
    index = {f: i for i, f in enumerate(families)}
    m = np.zeros((len(families), len(families) + 1), dtype=np.int64)
    for t, c in zip(truth, calls, strict=True):
        if t in index:
            m[index[t], index.get(c, len(families))] += 1
    return m


def plot_confusion(matrix: np.ndarray, families: Sequence[str], path: str | Path, title: str) -> None:
    """Log-scaled heat map of the confusion matrix, saved as PNG (written via temp + rename)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(families)
    size = max(6.0, 0.16 * n + 3)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(np.log10(matrix + 1), cmap="viridis", aspect="auto")
    labels = list(families) + [UNASSIGNED]
    font = max(3, min(9, int(400 / max(n, 1))))
    ax.set_xticks(range(n + 1), labels, rotation=90, fontsize=font)
    ax.set_yticks(range(n), list(families), fontsize=font)
    ax.set_xlabel("called family")
    ax.set_ylabel("true family")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="log10(count + 1)")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def markdown(rows: Sequence[FamilyScore], title: str, protocol: str, extra: dict[str, str] | None = None) -> str:
    """Table 1 as Markdown with the protocol spelled out above it."""
    lines = [f"# {title}", "", f"Protocol: {protocol}", ""]
    for key, value in (extra or {}).items():
        lines.append(f"- {key}: {value}")
    if extra:
        lines.append("")
    lines += ["| family | n | F1 | precision | recall | accuracy |", "|---|---:|---:|---:|---:|---:|"]
    for r in [*rows, macro_average(rows)]:
        lines.append(
            f"| {r.family} | {r.support} | {r.f1:.4f} | {r.precision:.4f} | {r.recall:.4f} | {r.accuracy:.4f} |"
        )
    return "\n".join(lines) + "\n"


def write_report(
    out_dir: str | Path,
    truth: Sequence[str],
    calls: Sequence[str],
    families: Sequence[str],
    title: str,
    protocol: str,
    extra: dict[str, str] | None = None,
) -> tuple[Path, Path]:
    """Write table1.md and confusion.png into out_dir; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = table1(truth, calls, families)
    info = {"sequences": str(len(truth)), "overall accuracy": f"{overall_accuracy(truth, calls):.4f}"}
    info["unassigned"] = str(sum(c == UNASSIGNED for c in calls))
    md, png = out / "table1.md", out / "confusion.png"
    write_text(markdown(rows, title, protocol, {**info, **(extra or {})}), md)
    plot_confusion(confusion(truth, calls, families), families, png, title)
    return md, png
