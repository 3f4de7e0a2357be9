"""Do family-jury pseudo-labels teach the single-sequence SS/SA network more than its labelled chains? (issue 20)

S4PRED reached 75.3% Q3 on CB513 by training a single-sequence network on pseudo-labels of a million unlabelled
sequences, made by a teacher that sees alignments. This runs the same idea with what is here: the teacher is the
shipped network voted over a family. Every train-split member of the family dataset, placed into its own family
frame, gets in each frame column the majority SS and SA state that the SS model (`--init`) predicts for the members
in that column; columns whose majority share is below `--min-share`, insertions and flanks stay unlabelled.

Protocol: the pseudo-labelled members near-identical to a CB513, FLIP-test or DSSP-test chain (MMseqs2 >= 90%
identity over >= 50% coverage, the rule of `predict-ss train`) are removed; the rest join the training chains of
`predict-ss train` (same data, cleaning, validation set and seed), and training continues from `--init` with
`--epochs` of one-cycle AdamW at peak `--lr`, keeping the best epoch by validation Q3 + SA accuracy. `--control`
continues the same way without the pseudo-labels, so a difference is the labels', not the continuation's. Only the
family dataset's train split is labelled: its test members never shape the SS model that makes the classifier's
features. Prints the validation figures per epoch and the test figures of the best epoch (torch).

Run:  python benchmarks/ss_pseudo_labels.py --dataset build/dataset --cache build/features [--min-share 0.8]
      [--control] [--epochs 4] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from _record import write_record

from protfam_core.features.cache import FeatureCache
from protfam_core.features.channels import channel_matrix, channel_rows
from protfam_core.io.alphabet import CHANNELS
from protfam_core.msa.dataset import load_dataset
from protfam_core.registry import bundles as registry
from protfam_core.ss import model as ssm
from protfam_core.ss.data import SA2, SS3, SSChain

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def jury_chains(dataset_dir: str, cache_dir: str, ss_model: str, min_share: float) -> tuple[list[SSChain], float]:
    """Pseudo-labelled train members and the share of their labels equal to their own prediction."""
    ds = load_dataset(dataset_dir)
    placements, ss_sa = FeatureCache(ds, cache_dir, ss_model).own_frame("train")
    records = {r.id: r for r in ds.records("train")}
    by_family: dict[str, list[int]] = {}
    for n, p in enumerate(placements):
        by_family.setdefault(p.family, []).append(n)
    chains, same, labelled = [], 0, 0
    for members in by_family.values():
        group = [placements[n] for n in members]
        rows = channel_rows(group, [ss_sa[n] for n in members])  # SS/SA projected onto the frame columns
        width = len(group[0].row)
        jury = {}
        for key, states in (("ss", SS3), ("sa", SA2)):
            symbols = CHANNELS[key]  # the gap, then the states
            one_hot = channel_matrix(rows[key], symbols, width, np.int64).reshape(len(group), width, len(symbols))
            votes = one_hot.sum(0)[:, 1:]
            share = votes.max(1) / np.maximum(votes.sum(1), 1)
            jury[key] = np.where(share >= min_share, np.array(list(states))[votes.argmax(1)], "?")
        for k, p in enumerate(group):
            seq = records[p.query_id].seq.upper()
            cols = np.nonzero(p.positions >= 0)[0]
            labels = {}
            for key, column_labels in jury.items():
                per_residue = np.full(len(seq), "?")
                per_residue[p.positions[cols]] = column_labels[cols]
                labels[key] = "".join(per_residue)
            voted = jury["ss"][cols] != "?"
            own = np.array(list(rows["ss"][k]))[cols]
            same += int((jury["ss"][cols] == own)[voted].sum())
            labelled += int(voted.sum())
            chains.append(SSChain(f"fam_{p.query_id}", seq, labels["ss"], labels["sa"]))
    return chains, same / max(labelled, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--cache", default="build/features")
    ap.add_argument("--init", default="ss-predictor/5", help="the teacher, and the network training continues from")
    ap.add_argument("--min-share", type=float, default=0.0, help="least majority share of a labelled column")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--control", action="store_true", help="continue without the pseudo-labels")
    args = ap.parse_args()
    print("command: python " + shlex.join(sys.argv), flush=True)
    start = time.monotonic()
    cath = DATA / "ss" / "cath_dssp"
    sources = ssm.Sources(
        cath / "dssp.tar.xz", cath / "CATH_info.txt", DATA / "ss" / "flip" / "splits.zip",
        DATA / "ss" / "cb513" / "CB513.csv", DATA / "blosum62" / "BLOSUM62",
    )  # fmt: skip
    data = sources.training_data(threads=args.threads)
    train = list(data.train)
    figures: dict = {"init": args.init, "min_share": args.min_share, "control": args.control}
    if not args.control:
        pseudo, agree = jury_chains(args.dataset, args.cache, args.init, args.min_share)
        tests = [c for chains in data.tests.values() for c in chains]
        near = ssm.near_identical(pseudo, tests, threads=args.threads)
        pseudo = [c for c in pseudo if c.id not in near]
        labelled = sum(len(c.ss) - c.ss.count("?") for c in pseudo)
        print(
            f"pseudo-labelled members: {len(pseudo)} ({len(near)} near-identical to a test chain removed), {labelled} "
            f"SS labels; {agree:.4f} of all labels equal the member's own prediction",
            flush=True,
        )
        train += pseudo
        figures |= {"pseudo_members": len(pseudo), "near_identical_removed": len(near), "ss_labels": labelled}
        figures["labels_equal_own_prediction"] = agree
    init = registry.resolve(args.init, "ss")
    config = ssm.TrainConfig(
        lr=args.lr, epochs=args.epochs, patience=args.epochs, threads=args.threads, time_limit_s=float("inf")
    )
    config = ssm.with_architecture(config, init)
    blosum = ssm.blosum62_rows(sources.blosum)
    print(f"training residues {sum(len(c.seq) for c in train)}", flush=True)
    before = ssm.load_network(init, blosum)
    print(f"{init.ref} validation: {json.dumps(ssm.evaluate(before, data.valid))}", flush=True)

    def log(epoch: int, metrics: dict[str, float]) -> None:
        print(f"epoch {epoch}: " + json.dumps({k: round(v, 4) for k, v in metrics.items()}), flush=True)

    model, best = ssm.train(config, train, data.valid, blosum, log, None, init.file("model"))
    print(f"best epoch {best['best_epoch']}: validation Q3 {best['valid_q3']:.4f}, SA {best['valid_sa_acc']:.4f}")
    figures["best"] = best
    figures["tests"] = {}
    for name, chains in data.tests.items():
        figures["tests"][name] = ssm.evaluate(model, chains)
        print(f"{name}: {json.dumps(figures['tests'][name])}")
    print(f"seconds {time.monotonic() - start:.0f}")
    variant = "--control" if args.control else f"--min-share {args.min_share}"
    write_record("ss_pseudo_labels", figures | {"seconds": time.monotonic() - start}, variant=variant)


if __name__ == "__main__":
    main()
