"""The paper's phase-1 evaluation (section 3.1) as a Markdown report with PNG plots.

Everything is measured on the TEST split (members the VAE never saw), each placed into its own family frame, through
the exported ONNX models: per-residue reconstruction, column consensus, BLOSUM62 per position for one family
(Figure 4 A/B), k-means separability with 10-fold cross-validation, a t-SNE map, and two references for it: the
gap/padding pattern alone, and a linear code of the input (PCA) of the fingerprints' size.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from protfam_core.errors import InputError
from protfam_core.features.cache import FeatureCache
from protfam_core.features.channels import channel_matrix, channel_rows
from protfam_core.io.alphabet import CHANNEL_ORDER, CHANNELS, GAP
from protfam_core.io.atomic import atomic_path, write_text
from protfam_core.vae.encode import Fingerprinter
from protfam_core.vae.metrics import GAP_SCORE, blosum_per_position, consensus_by_family, residue_accuracy

PAPER = {"residue": 0.89, "consensus": 0.95, "kmeans": 1.0}
GOAL = {"residue": 0.92, "consensus": 0.97}


def kmeans_cv(x: np.ndarray, labels: Sequence[str], folds: int = 10, seed: int = 0) -> tuple[float, float]:
    """k-means (k = number of families) fitted on the training folds, each cluster named by the majority family of
    its training members; accuracy = share of held-out rows whose nearest cluster carries their family.
    Returns (mean, standard deviation) over the folds (stratified, shuffled with `seed`; fewer folds than 10 only
    when a family has fewer rows than that)."""
    from sklearn.cluster import KMeans
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels)
    k = len(set(labels))
    folds = min(folds, min(Counter(labels).values()))
    if folds < 2:
        raise InputError("k-means cross-validation needs at least 2 rows of every family")
    accs = []
    for tr, te in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y):
        km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x[tr])
        name = {}
        for c in range(k):
            members = y[tr][km.labels_ == c]
            name[c] = Counter(members).most_common(1)[0][0] if len(members) else ""
        pred = np.array([name[c] for c in km.predict(x[te])])
        accs.append(float(np.mean(pred == y[te])))
    return float(np.mean(accs)), float(np.std(accs))


def nearest_neighbour_cv(x: np.ndarray, labels: Sequence[str], folds: int = 10, seed: int = 0) -> float:
    """Supervised counterpart of kmeans_cv: 1-nearest-neighbour (Euclidean) accuracy over stratified folds."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    folds = min(folds, min(Counter(labels).values()))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(KNeighborsClassifier(n_neighbors=1), x, np.asarray(labels), cv=cv)))


def linear_code(rows: dict[str, Sequence[str]], width: int, size: int, seed: int = 0) -> np.ndarray:
    """PCA of the concatenated one-hot input rows, `size` floats per row: what a linear code of the fingerprints'
    size gives, so the k-means figure can be read against it."""
    from sklearn.decomposition import PCA

    x = np.hstack([channel_matrix(rows[ch], CHANNELS[ch], width) for ch in CHANNEL_ORDER])
    return PCA(n_components=min(size, *x.shape), random_state=seed).fit_transform(x)


def gap_pattern(rows: Sequence[str], width: int) -> np.ndarray:
    """(n, width) 1 where a row has a residue, 0 at gaps and padding: what the frame shape alone tells."""
    return np.array([[c != GAP for c in r.ljust(width, GAP)] for r in rows], dtype=np.float32)


def _bar_plot(path: Path, values: np.ndarray, title: str, ylabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 3.2))
    ok = ~np.isnan(values)
    norm = matplotlib.colors.Normalize(vmin=-4, vmax=11)
    colours = matplotlib.colormaps["RdYlGn"](norm(np.nan_to_num(values)))
    ax.bar(np.arange(1, len(values) + 1)[ok], values[ok], color=colours[ok], width=1.0)
    ax.set_xlabel("frame column")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.axhline(0, color="black", lw=0.5)
    fig.tight_layout()
    with atomic_path(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def _tsne_plot(path: Path, x: np.ndarray, labels: Sequence[str], seed: int, max_points: int = 3000) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(x))[:max_points]
    emb = TSNE(n_components=2, random_state=seed, init="pca", perplexity=min(30, max(5, len(idx) // 10))).fit_transform(
        x[idx]
    )
    fams = sorted(set(labels))
    code = {f: i for i, f in enumerate(fams)}
    colours = [code[labels[i]] for i in idx]
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.scatter(emb[:, 0], emb[:, 1], c=colours, cmap="nipy_spectral", s=4, alpha=0.8)
    for f in fams:
        pts = emb[[labels[i] == f for i in idx]]
        if len(pts):
            ax.annotate(f, pts.mean(axis=0), fontsize=6, ha="center", alpha=0.8)
    ax.set_title(f"t-SNE of test fingerprints (aa+ss+sa, 90 floats), {len(idx)} rows, {len(fams)} families")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    with atomic_path(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return len(idx)


def phase1_report(
    dataset_dir: str | Path,
    out_dir: str | Path,
    model: str | None = None,
    family: str | None = None,
    cache_dir: str | Path | None = None,
    split: str = "test",
    seed: int = 0,
) -> dict:
    """Compute the phase-1 metrics, write report.md, metrics.json and the PNGs into out_dir; return the metrics."""
    from protfam_core.msa.dataset import load_dataset

    ds = load_dataset(dataset_dir)
    fp = Fingerprinter(model)
    placements, ss_sa = FeatureCache(ds, cache_dir, fp.ss_model).own_frame(split)
    if not placements:
        raise InputError(f"{dataset_dir}: the {split} split is empty")
    labels = [p.family for p in placements]
    rows = channel_rows(placements, ss_sa)
    z = fp.encode_rows(rows)
    recon = fp.decode_rows(z)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    m: dict = {"split": split, "rows": len(placements), "families": len(set(labels)), "model": fp.model_id}
    m["width"] = fp.width
    for ch in CHANNEL_ORDER:
        m[f"{ch}_residue_accuracy"], m[f"{ch}_position_accuracy"] = residue_accuracy(rows[ch], recon[ch])

    by_fam: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(labels):
        by_fam[f].append(i)
    agree = consensus_by_family(rows["aa"], recon["aa"], by_fam)
    per_family = {}
    for f, idx in sorted(by_fam.items()):
        o = [rows["aa"][i] for i in idx]
        res, _ = residue_accuracy(o, [recon["aa"][i][: len(o[0])] for i in idx])
        s, t = agree[f]
        per_family[f] = {"rows": len(idx), "width": len(o[0]), "residue_accuracy": res, "consensus": s / max(t, 1)}
    same, total = (sum(v) for v in zip(*agree.values(), strict=True))
    m["consensus_agreement"] = same / max(total, 1)
    m["consensus_columns"] = total

    fig_family = family or max(sorted(by_fam), key=lambda f: len(by_fam[f]))
    if fig_family not in by_fam:
        raise InputError(f"family {fig_family!r} has no {split} rows (families: {', '.join(sorted(by_fam))})")
    idx = by_fam[fig_family]
    o = [rows["aa"][i] for i in idx]
    r = [recon["aa"][i][: len(o[0])] for i in idx]
    a, b = blosum_per_position(o, r)
    _bar_plot(out / "blosum_per_position.png", a, f"{fig_family}: mean BLOSUM62 original vs reconstructed", "BLOSUM62")
    _bar_plot(out / "blosum_consensus.png", b, f"{fig_family}: BLOSUM62 of column consensus", "BLOSUM62")
    m["figure_family"] = fig_family
    m["figure_mean_blosum"] = float(np.nanmean(a))
    m["figure_consensus_equal"] = per_family[fig_family]["consensus"]

    flat = z.reshape(len(z), -1)
    m["kmeans_fingerprint_mean"], m["kmeans_fingerprint_std"] = kmeans_cv(flat, labels, seed=seed)
    m["kmeans_aa_mean"], m["kmeans_aa_std"] = kmeans_cv(z[:, 0], labels, seed=seed)
    linear = linear_code(rows, fp.width, flat.shape[1], seed)
    m["kmeans_input_pca_mean"], m["kmeans_input_pca_std"] = kmeans_cv(linear, labels, seed=seed)
    gaps = gap_pattern(rows["aa"], fp.width)
    m["kmeans_gap_pattern_mean"], m["kmeans_gap_pattern_std"] = kmeans_cv(gaps, labels, seed=seed)
    m["nn_fingerprint"] = nearest_neighbour_cv(flat, labels, seed=seed)
    m["nn_gap_pattern"] = nearest_neighbour_cv(gaps, labels, seed=seed)
    m["tsne_points"] = _tsne_plot(out / "tsne.png", flat, labels, seed)
    m["per_family"] = per_family
    write_text(json.dumps(m, indent=2) + "\n", out / "metrics.json")
    write_text(render_markdown(m, str(dataset_dir)), out / "report.md")
    return m


def render_markdown(m: dict, dataset: str) -> str:
    """The report text: protocol first, then the figures beside the paper's."""
    pct = "{:.1%}".format
    lines = [
        "# encode-vae phase-1 report",
        "",
        f"Model `{m['model']}` (input width {m['width']}), dataset `{dataset}`, split **{m['split']}**: "
        f"{m['rows']} rows from {m['families']} families. Every row is a {m['split']}-split member placed into its own "
        "family frame (pyhmmer, forced placement), SS/SA predicted on the raw sequence and projected onto the row, "
        "encoded to z_mean and decoded through the exported ONNX models (argmax per column). Right-padding to the "
        "model width is never counted.",
        "",
        "| metric | this model | paper | goal |",
        "|---|---|---|---|",
        f"| amino acids reconstructed, over residue positions | {pct(m['aa_residue_accuracy'])} "
        f"| {PAPER['residue']:.0%} | {GOAL['residue']:.0%} |",
        f"| amino acids reconstructed, over all frame positions incl. gaps | {pct(m['aa_position_accuracy'])} | | |",
        f"| most common amino acid per column, original = reconstructed | {pct(m['consensus_agreement'])} "
        f"({m['consensus_columns']} columns) | {PAPER['consensus']:.0%} | {GOAL['consensus']:.0%} |",
        f"| k-means on fingerprints (aa+ss+sa), 10-fold CV | {pct(m['kmeans_fingerprint_mean'])} "
        f"± {pct(m['kmeans_fingerprint_std'])} | {PAPER['kmeans']:.0%} | |",
        f"| k-means on aa fingerprints only, 10-fold CV | {pct(m['kmeans_aa_mean'])} ± {pct(m['kmeans_aa_std'])} | | |",
        f"| k-means on a PCA of the input rows, as many floats as a fingerprint, 10-fold CV | "
        f"{pct(m['kmeans_input_pca_mean'])} ± {pct(m['kmeans_input_pca_std'])} | | |",
        f"| k-means on the gap/padding pattern alone, 10-fold CV | {pct(m['kmeans_gap_pattern_mean'])} "
        f"± {pct(m['kmeans_gap_pattern_std'])} | | |",
        f"| 1-nearest-neighbour on fingerprints (supervised), 10-fold CV | {pct(m['nn_fingerprint'])} | | |",
        f"| 1-nearest-neighbour on the gap/padding pattern alone, 10-fold CV | {pct(m['nn_gap_pattern'])} | | |",
        f"| SS reconstructed over residue positions | {pct(m['ss_residue_accuracy'])} | | |",
        f"| SA reconstructed over residue positions | {pct(m['sa_residue_accuracy'])} | | |",
        "",
        "Column consensus: per family, for every frame column with at least one residue in the original rows, the most "
        "common amino acid (gaps ignored, ties by alphabet) of the original and of the reconstructed rows; a "
        "reconstructed column without residues counts as a miss. Pooled over all families' columns.",
        "",
        "k-means protocol: the fingerprints of the split are cut into 10 stratified folds; on 9 folds k-means with "
        "k = number of families is fitted and each cluster is named after the majority family of its members; "
        "accuracy is the share of held-out rows whose nearest cluster carries their family (mean ± SD over folds). "
        "The PCA row runs it on a linear code of the one-hot input rows (aa, ss, sa) with as many floats as a "
        "fingerprint, fitted on the rows of the split: what the VAE adds over a linear code. "
        "The gap-pattern row uses the same protocol on the binary residue/gap mask of the padded row: it measures how "
        "much the frame shape alone gives away; the 1-nearest-neighbour rows repeat the comparison with a supervised "
        "classifier on the same folds. Rows are in their own family's frame, so that shape is family-specific "
        "by construction; the classifier is trained on foreign-frame placements too so that it cannot rely on it.",
        "",
        f"## Figure 4 (A, B): {m['figure_family']}",
        "",
        f"Mean BLOSUM62 of original vs reconstructed residue per column (a residue reconstructed as a gap scores "
        f"{GAP_SCORE:g}); average over columns {m['figure_mean_blosum']:.2f}. Consensus equal in "
        f"{pct(m['figure_consensus_equal'])} of this family's columns.",
        "",
        "![BLOSUM62 per position](blosum_per_position.png)",
        "",
        "![BLOSUM62 of column consensus](blosum_consensus.png)",
        "",
        f"## t-SNE of the {m['split']} fingerprints ({m['tsne_points']} rows)",
        "",
        "![t-SNE](tsne.png)",
        "",
        "## Per family",
        "",
        "| family | rows | frame width | residues reconstructed | consensus |",
        "|---|---|---|---|---|",
    ]
    for f, v in m["per_family"].items():
        lines.append(f"| {f} | {v['rows']} | {v['width']} | {pct(v['residue_accuracy'])} | {pct(v['consensus'])} |")
    return "\n".join(lines) + "\n"
