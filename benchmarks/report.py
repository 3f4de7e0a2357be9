"""Write BENCHMARKS.md and its plots from the records in benchmarks/results/ (the only place a figure is kept).

One section per question, in the order of QUESTIONS; in each, the newest record of every variant of its benchmark,
with its command, date, machine, source and a link to the record, and its figures as tables. Plots (matplotlib, the
[report] extra) where a curve says more than a table: the speed ratios to pyhmmer, the cost against the number of
families, the accuracy on short families.

Usage: python benchmarks/report.py [--out BENCHMARKS.md] [--no-plots]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PLOTS = HERE / "plots"
COMMAND = "python benchmarks/report.py"


@dataclass(frozen=True)
class Question:
    """A section of BENCHMARKS.md: the benchmark whose records answer it, and what it asks."""

    title: str
    benchmark: str
    asks: str
    plot: str = ""


QUESTIONS = [
    Question(
        "Single-domain accuracy against pyhmmer",
        "classify_accuracy",
        "Blind calls of the test split (raw sequences through `classify-cnn predict`), the paper protocol (the label "
        "picks the frame), the open set (families never used for any choice) and the short families, against pyhmmer "
        "on HMMs of the same training alignments, its E-value cut chosen by the same rule on the same validation sets.",
        "short_families",
    ),
    Question(
        "Small families: n members per family against HMMER profiles of the same members",
        "small_families",
        "`classify-cnn easy-train` on 5, 10 or 25 members per family of the 96 (drawn from their train split), then "
        "`classify-cnn predict --model NAME` on the test split and the open set's test half, against hmmbuild "
        "profiles of the same members (FAMSA, hmmscan best hit, E-value cut chosen on validation data), one run per "
        "size.",
    ),
    Question(
        "Scale: training and prediction at hundreds to thousands of families",
        "scale",
        "`classify-cnn easy-train` on a family set (all the real families the data offers, or synthetic families "
        "emitted from perturbed real frame HMMs, which measure cost, not accuracy) as one process: each stage's wall "
        "time and peak RSS, the size of each published bundle; then `classify-cnn predict --model NAME` against the "
        "`hmmsearch` and `hmmscan` binaries on the same frames, whole processes, on held-out members and on "
        "non-members: throughput, protfam's accuracy and rejection, HMMER's best hit at E <= 1e-3.",
    ),
    Question(
        "Whole proteins: domain calls against hmmscan",
        "domain_accuracy",
        "`--domains` on proteins constructed from held-out members (multi-domain, repeats, unknown segments) against "
        "hmmscan's domains on the same frames; every rule chosen on validation proteins built the same way.",
    ),
    Question(
        "False calls on non-members against HMMER",
        "false_calls",
        "The test split's members reversed and shuffled (Pfam's check), and generated low-complexity, coiled-coil and "
        "transmembrane proteins, through the default chain and through hmmsearch of the same frames at E <= 1e-3; the "
        "test members each calls right, and a real bacterial proteome (pyhmmer's packaged 938293.PRJEB85.HG003687).",
    ),
    Question(
        "What a looser rule could still recover",
        "recall_ceiling",
        "Validation members of each chain's dataset by their own family's best hit: within the chain's E-value cut, "
        "above it up to E = 10 (with the CNN scores there and the reversed/shuffled members' hits in the same range), "
        "or none; for those without a hit, how often the 3-mer prefilter names their family (validation data only).",
    ),
    Question(
        "Can the 3-mer prefilter shortlist the frame search, or skip the fallback?",
        "prefilter_reach",
        "For the shipped chain: the prefilter rank of every family the plain frame search finds a candidate in (what "
        "a search of each query's top-k frames only would lose), and the prefilter's top score of the queries "
        "without a candidate (those the sensitive fallback calls right against the non-members'): on validation "
        "members, constructed validation proteins and the open set's validation half, with the test split and a "
        "real proteome beside them.",
    ),
    Question(
        "The fast path: `classify-cnn predict --fast`",
        "fast_path",
        "Accuracy of the cascade (3-mer prefilter, forced placement, aa CNN) against the full chain on the test split "
        "and the open set's test half; how many queries the fast path answers itself.",
    ),
    Question(
        "Speed against pyhmmer, whole processes",
        "classify_speed",
        "`classify-cnn predict` (and `--fast`) against pyhmmer hmmsearch and hmmscan as whole processes on the same "
        "queries and frames: wall time, throughput, accuracy, peak RSS and the ratios of the same run (only same-run "
        "ratios compare across machines).",
        "speed_ratios",
    ),
    Question(
        "Cost against the number of families",
        "family_scaling",
        "Search time on nested subsets of the shipped frames, the same queries for every subset, and a straight line "
        "through it extrapolated to Pfam's size (read with care: a 200-fold extrapolation).",
        "family_scaling",
    ),
    Question(
        "What the SS/SA channels add",
        "cnn_ablation",
        "The CNN trained twice on the same rows and budget, on the full fingerprints and with the ss and sa parts "
        "zeroed.",
    ),
    Question(
        "Chains on the same held-out sequences",
        "compare_chains",
        "Shipped chains (registry folders from git) on the test members of one dataset that the other never trained "
        "or validated on.",
    ),
    Question(
        "The stage pipe against the one-shot classifier",
        "pipe_overhead",
        "`prep-msa place | predict-ss predict - | encode-vae encode - | classify-cnn predict -` against "
        "`classify-cnn predict` on the same input, whole processes, alternating; the rows must be identical.",
    ),
    Question(
        "Model registry: time to a verified model",
        "registry_latency",
        "A cold CLI process, an in-process resolve with onnxruntime session from the shipped registry, and the same "
        "from an MLflow sqlite store (first download, cached).",
    ),
    Question(
        "Package and install sizes",
        "package_size",
        "sdist, wheel and the inference-only virtualenv built by `.ci/package`.",
    ),
    Question(
        "Peak memory on frame-less fingerprints",
        "peak_memory",
        "`classify-cnn predict` on 50,000 fingerprint rows, before and after batching.",
    ),
    Question(
        "fingerprint-search: the authors' tool, FAISS, family search",
        "fingerprint_search",
        "Agreement with compbiolab-CLI on the published fingerprints, FAISS against exact search at 1 million "
        "fingerprints, and top-1 family search with the VAE's fingerprints.",
    ),
    Question(
        "prep-msa: aligner accuracy and speed",
        "alignment_accuracy",
        "SP and TC of each aligner backend against the HOMSTRAD structure alignments, and wall time on one "
        "500-member family.",
    ),
    Question(
        "prep-msa: held-out placement, the HMM-only baseline",
        "alignment_placement",
        "Held-out members searched against all training-only family frames: top-1 own family, no-hit rate, "
        "candidates per query.",
    ),
    Question(
        "encode-vae: phase-1 reconstruction and separability",
        "vae_phase1",
        "The shipped VAE on the test split, each member placed into its own frame: reconstruction, column consensus, "
        "k-means and 1-NN separability of the fingerprints and of the gap pattern alone.",
    ),
    Question(
        "encode-vae: what the test rows allow without a VAE",
        "vae_reconstruction_bounds",
        "Family consensus, the nearest training row (oracle) and PCA codes of 30-240 floats per family, scored like "
        "the VAE.",
    ),
    Question(
        "encode-vae: wider and deeper shared networks (not shipped)",
        "vae_hidden_width",
        "The shared aa VAE with other hidden widths, the deep categorical architecture, a decoder told the frame, "
        "and regularisation; k-means separability of the aa codes.",
    ),
    Question(
        "encode-vae: per-family networks, the authors' setup",
        "vae_per_family",
        "The aa-channel VAE trained per family at the family's own frame width against the shared shipped one, on "
        "the same test rows.",
    ),
    Question(
        "encode-vae: encoding speed",
        "vae_encode_speed",
        "Placed rows to fingerprints through the three ONNX encoders, onnxruntime CPU.",
    ),
    Question(
        "predict-ss: SS/SA accuracy and speed",
        "ss_accuracy",
        "Q3 and 2-state SA of the shipped `ss-predictor` through onnxruntime on CB513, FLIP test and the held-out "
        "DSSP chains; residues per second.",
    ),
    Question(
        "predict-ss: family-jury pseudo-labels (not shipped)",
        "ss_pseudo_labels",
        "SS/SA training continued with the shipped network's majority vote per family column, against the same "
        "continuation without them.",
    ),
]

PREAMBLE = """\
Each section answers one question with the newest record of every variant of its benchmark (`benchmarks/*.py`);
the record names the command, the date, the code (protfam version, git commit), the machine, and its source:
`measured` when the script wrote it, or `transcribed from BENCHMARKS.md at commit ...` for figures measured before
benchmarks wrote records (their commands and dates are the ones that text gave; benchmarks/README.md lists them).
Older figures and the reasoning of each session are in the git history of this file and of `benchmarks/results/`.
Shares are fractions (0.0016 = 0.16%), times in seconds unless a key says otherwise."""


def load_records(results: Path = RESULTS) -> list[tuple[Path, dict]]:
    """Every record under results/, oldest first (by its date, then its file name)."""
    out = []
    for path in sorted(results.glob("*/*.json")):
        out.append((path, json.loads(path.read_text())))
    return sorted(out, key=lambda pr: (pr[1].get("date") or "", pr[0].name))


def newest_per_variant(records: list[tuple[Path, dict]], benchmark: str) -> list[tuple[Path, dict]]:
    """The newest record of each variant of `benchmark`, in the order the variants first appeared."""
    latest: dict[str, tuple[Path, dict]] = {}
    for path, rec in records:
        if rec.get("benchmark") == benchmark:
            latest.pop(rec.get("variant", ""), None)
            latest[rec.get("variant", "")] = (path, rec)
    return list(latest.values())


def fmt(value: object) -> str:
    """A figure as a table cell: floats to 4 significant digits (no trailing zeros), big numbers grouped, lists
    joined."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, float):
        if abs(value) >= 10_000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, list):
        shown = ", ".join(fmt(v) for v in value[:12])
        return shown + (f", ... ({len(value)} in all)" if len(value) > 12 else "")
    return str(value).replace("|", "\\|").replace("\n", " ")


def _is_scalar(value: object) -> bool:
    return not isinstance(value, dict) and not (isinstance(value, list) and value and isinstance(value[0], dict))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _columns(rows: list[dict]) -> list[str]:
    cols: list[str] = []
    for row in rows:
        cols += [k for k in row if k not in cols]
    return cols


def _is_matrix(value: dict) -> bool:
    """A non-empty dict of dicts of scalars: one table row per key."""
    return bool(value) and all(isinstance(v, dict) and all(_is_scalar(x) for x in v.values()) for v in value.values())


def split_figures(figures: dict, path: str = "", matrices: bool = True) -> tuple[dict[str, object], list]:
    """A figures dict as (scalars by key path, tables): a list of rows is a table, and with `matrices` a dict of
    same-shaped dicts of scalars is a table with one row per key; other dicts are walked, their key joined to the path
    (so that the scalars of several runs line up in one table)."""
    flat: dict[str, object] = {}
    tables: list[tuple[str, list[str], list[list]]] = []
    for key, value in figures.items():
        here = f"{path} / {key}" if path else key
        if _is_scalar(value):
            flat[here] = value
        elif isinstance(value, list):
            cols = _columns(value)
            tables.append((here, cols, [[r.get(c) for c in cols] for r in value]))
        elif matrices and _is_matrix(value):
            cols = _columns(list(value.values()))
            tables.append((here, ["", *cols], [[k, *(v.get(c) for c in cols)] for k, v in value.items()]))
        else:
            inner_flat, inner_tables = split_figures(value, here, matrices)
            flat |= inner_flat
            tables += inner_tables
    return flat, tables


def _machine(m: dict | str) -> str:
    if isinstance(m, str):
        return m
    parts = [f"{m['cores']} cores" if m.get("cores") else "", m.get("cpu_model", ""),
             f"{m['memory_gib']} GiB" if m.get("memory_gib") else "",
             f"load {m['load_average']}" if m.get("load_average") is not None else ""]  # fmt: skip
    return ", ".join(p for p in parts if p)


def _name(rec: dict) -> str:
    return rec.get("variant") or "run"


def provenance(path: Path, rec: dict) -> list[str]:
    """Where a record's figures come from: command, date, machine, source, notes, a link to the record."""
    commit = (rec.get("git_commit") or "")[:7]
    source = rec.get("source", "?") + (f" (commit {commit})" if commit and rec.get("source") == "measured" else "")
    lines = [
        f"- **{_name(rec)}**, {rec.get('date') or 'date not stated'}, {source}; "
        f"[record]({path.relative_to(ROOT).as_posix()})",
        f"  - command: `{rec.get('command', '?')}`",
        f"  - machine: {_machine(rec.get('machine', ''))}",
    ]
    return lines + ([f"  - notes: {rec['notes']}"] if rec.get("notes") else [])


def render_question(found: list[tuple[Path, dict]]) -> list[str]:
    """The runs of one question, newest first: their provenance, one table of every scalar figure with a column per
    run, then each run's tables of rows."""
    found = sorted(found, key=lambda pr: pr[1].get("date") or "", reverse=True)
    parts = [(rec, *split_figures(rec.get("figures", {}))) for _, rec in found]
    lines = [line for path, rec in found for line in provenance(path, rec)] + [""]
    keys: list[str] = []
    for _, flat, _ in parts:
        keys += [k for k in flat if k not in keys]
    if keys:
        header = ["figure", *(_name(rec) for rec, _, _ in parts)] if len(parts) > 1 else ["figure", "value"]
        rows = [[k, *(fmt(flat.get(k)) for _, flat, _ in parts)] for k in keys]
        lines += _table(header, rows) + [""]
    for rec, _, tables in parts:
        for title, header, rows in tables:
            label = f"{_name(rec)}: {title}" if len(parts) > 1 else title
            lines += [f"*{label}*", "", *_table(header, [[fmt(v) for v in r] for r in rows]), ""]
    return lines


def _axes(title: str, ylabel: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def plot_speed_ratios(records: list[tuple[Path, dict]], out: Path) -> bool:
    """Throughput of protfam over each peer's (pyhmmer hmmsearch and hmmscan, the hmmsearch binary where measured),
    per setting, of the newest classify_speed record of each variant; one row per setting, the newest at the top."""
    peers = (
        ("hmmsearch", "/ pyhmmer hmmsearch"),
        ("hmmscan", "/ pyhmmer hmmscan"),
        ("hmmsearch_bin", "/ hmmsearch binary"),
    )
    rows: list[tuple[str, dict[str, float]]] = []
    for _, rec in newest_per_variant(records, "classify_speed"):
        fig = rec["figures"]
        kind = fig.get("input", "members")
        settings = [(k.removeprefix("threads_") + " thr", v) for k, v in fig.items() if k.startswith("threads_")]
        if "rss_run" in fig:
            settings.append((f"{fig['rss_run'].get('sequences', 0):,} seq", fig["rss_run"]))
        for label, per in settings:
            for name, shown in (("protfam", "chain"), ("protfam_fast", "--fast")):
                ratios = {m: per[name][f"ratio_to_{m}"] for m, _ in peers if f"ratio_to_{m}" in per.get(name, {})}
                if ratios:
                    rows.append((f"{shown}, {kind}, {label}, {(rec.get('date') or '')[:10]}", ratios))
    if not rows:
        return False
    fig, ax = _axes("protfam throughput / the peer's, same run (right of 1: faster)", "")
    fig.set_size_inches(8, 1.2 + 0.45 * len(rows))
    height = 0.8 / len(peers)
    for i, (m, legend) in enumerate(peers):
        ys = [y + (i - 1) * height for y in range(len(rows))]
        ax.barh(ys, [r[1].get(m, 0.0) for r in rows], height, label=legend)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
    ax.set_xlabel("ratio")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    return True


def plot_family_scaling(records: list[tuple[Path, dict]], out: Path) -> bool:
    """Search seconds against families known, with the fitted lines, newest family_scaling record."""
    found = newest_per_variant(records, "family_scaling")
    if not found:
        return False
    rows = found[-1][1]["figures"]["subsets"]
    fig, ax = _axes("search time against the number of families known (same queries)", "seconds")
    for key, label in (("protfam_placement_s", "protfam frame search"), ("hmmsearch_s", "hmmsearch"),
                       ("hmmscan_s", "hmmscan")):  # fmt: skip
        ax.plot([r["families"] for r in rows], [r[key] for r in rows], "o-", label=label)
    ax.set_xlabel("families known")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    return True


def plot_short_families(records: list[tuple[Path, dict]], out: Path) -> bool:
    """Blind accuracy on the short families (frames under 50 columns) against the anchor's, per split."""
    bars = []
    for _, rec in newest_per_variant(records, "classify_accuracy"):
        short = rec["figures"].get("short_families") or {}
        if "blind_accuracy" in short:
            bars.append((rec.get("variant") or "test split", short["blind_accuracy"], short["anchor_hmmscan_accuracy"]))
    if not bars:
        return False
    fig, ax = _axes("accuracy on the short families (frames < 50 columns)", "blind accuracy")
    xs = range(len(bars))
    ax.bar([x - 0.2 for x in xs], [b[1] for b in bars], 0.4, label="protfam")
    ax.bar([x + 0.2 for x in xs], [b[2] for b in bars], 0.4, label="pyhmmer hmmscan")
    ax.set_ylim(min(b for bar in bars for b in bar[1:]) - 0.05, 1.0)
    ax.set_xticks(list(xs), [b[0] for b in bars], fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    return True


PLOTTERS = {"speed_ratios": plot_speed_ratios, "family_scaling": plot_family_scaling,
            "short_families": plot_short_families}  # fmt: skip


def _anchor(title: str) -> str:
    """GitHub's heading anchor."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def build(plots: bool, results: Path = RESULTS) -> str:
    """The whole BENCHMARKS.md text (and the PNGs when `plots`; without, the existing ones are linked)."""
    records = load_records(results)
    lines = [
        "# Benchmarks",
        "",
        f"<!-- Generated by `{COMMAND}` from benchmarks/results/: edit the records or the script, not this file. -->",
        f"Generated by `{COMMAND}` from the records in [`benchmarks/results/`](benchmarks/results/).",
        "",
        PREAMBLE,
        "",
        *(f"- [{q.title}](#{_anchor(q.title)})" for q in QUESTIONS),
        "",
    ]
    for q in QUESTIONS:
        found = newest_per_variant(records, q.benchmark)
        lines += [f"## {q.title}", "", q.asks, ""]
        lines += [f"Records: [`benchmarks/results/{q.benchmark}/`](benchmarks/results/{q.benchmark}/).", ""]
        png = PLOTS / f"{q.plot}.png"
        if plots and q.plot:
            PLOTS.mkdir(exist_ok=True)
            png.unlink(missing_ok=True)
            PLOTTERS[q.plot](records, png)
        if q.plot and png.exists():  # --no-plots keeps the committed plots, so the text is the same either way
            lines += [f"![{q.plot}]({png.relative_to(ROOT).as_posix()})", ""]
        lines += render_question(found) if found else ["No record yet.", ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    ap.add_argument("--no-plots", action="store_true", help="tables only (no matplotlib needed)")
    ap.add_argument("--results", type=Path, default=RESULTS, help="the records' folder")
    args = ap.parse_args()
    if not args.no_plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("report.py: plots need matplotlib (pip install 'protfam[report]'); or --no-plots", file=sys.stderr)
            return 1
    try:
        text = build(plots=not args.no_plots, results=args.results)
    except (OSError, ValueError, KeyError) as exc:
        print(f"report.py: {exc}", file=sys.stderr)
        return 1
    tmp = args.out.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
