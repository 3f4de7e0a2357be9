"""What `classify-cnn predict --fast` answers, and what each part of its rule adds, on held-out data (same run).

Queries: the test split of a dataset (known families) and the open set's test half (families the model does not
know; the val half and the val split chose every rule). Variants, each scored the same way (accuracy and macro F1
over the known queries, `unassigned` counting as wrong; the share of known queries left `unassigned`; the share of
unknown queries left `unassigned`):
- chain: the full chain (`classify-cnn predict`), the anchor of this benchmark;
- cascade: `--fast` (the fast path's confident calls, the chain for the rest) and the share the fast path answered;
- fast alone: the fast path's confident calls, `unassigned` for the rest (what it would be without the chain);
- prefilter alone: the 3-mer model's first family for every query, no placement, no rule;
- E-value alone / aa CNN alone: the fast path with a rule of one part only, fitted on the same validation queries the
  same way (`cnn.rule.FastRule.fit`): the forced placement's E-value cut (the HMM's say), or the aa CNN's score
  threshold.

Usage: python benchmarks/fast_path.py [--dataset build/dataset] [--out build/bench/fast_path.json]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from _record import without_command, write_record

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.report import UNASSIGNED, macro_average, overall_accuracy, table1
from protfam_core.cnn.rule import Candidate, FastRule, best_of
from protfam_core.msa.dataset import load_dataset
from protfam_core.msa.open_set import unknown_records


def figures(called: list[str], truth: list[str], unknown_called: list[str], families: list[str]) -> dict:
    return {
        "accuracy": overall_accuracy(truth, called),
        "macro_f1": macro_average(table1(truth, called, families)).f1,
        "known_unassigned": sum(c == UNASSIGNED for c in called) / len(called),
        "unknown_unassigned": sum(c == UNASSIGNED for c in unknown_called) / len(unknown_called),
    }


def one_part(candidates: list[list[Candidate]], part: str) -> list[list[Candidate]]:
    """Candidates that let a rule see one part only: E-value alone (every score 1) or CNN alone (every E-value 0)."""
    if part == "evalue":
        return [[c._replace(score=1.0) for c in cands] for cands in candidates]
    return [[c._replace(evalue=0.0) for c in cands] for cands in candidates]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--model", default=None, help="CNN bundle (default: the shipped one)")
    ap.add_argument("--fast", default=None, help="its fast bundle (default: the shipped one)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="build/bench/fast_path.json")
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    families = list(data.frames.families)
    clf = FamilyClassifier(args.model, threads=args.threads, fast=args.fast or True)
    fast = clf.fast_path
    chain = FamilyClassifier(args.model, threads=args.threads)
    sets = {"val": (data.records("val"), data.labels("val")), "test": (data.records("test"), data.labels("test"))}
    unknown = {part: unknown_records(data, part)[0] for part in ("val", "test")}
    res: dict = {"command": f"python {shlex.join(sys.argv)}", "model": clf.cnn_bundle.ref, "fast": clf.fast_bundle.ref,
                 "rule": fast.rule.to_card(),
                 "queries": {"known_test": len(sets["test"][0]), "unknown_test": len(unknown["test"])}}  # fmt: skip
    truth = sets["test"][1]
    calls = {name: ([c.family for c in p.predict(sets["test"][0])], [c.family for c in p.predict(unknown["test"])])
             for name, p in (("chain", chain), ("cascade", clf))}  # fmt: skip
    for name, (known_calls, unknown_calls) in calls.items():
        res[name] = figures(known_calls, truth, unknown_calls, families)
    confident = [fast.calls(sets["test"][0]), fast.calls(unknown["test"])]
    res["cascade"]["answered_by_fast_path"] = {
        "known": sum(c is not None for c in confident[0]) / len(confident[0]),
        "unknown": sum(c is not None for c in confident[1]) / len(confident[1]),
    }
    alone = [[c.family if c is not None else UNASSIGNED for c in part] for part in confident]
    res["fast_alone"] = figures(alone[0], truth, alone[1], families)
    top = [[families[int(i)] for i in fast.prefilter.top([r.seq for r in recs], 1)[:, 0]]
           for recs in (sets["test"][0], unknown["test"])]  # fmt: skip
    res["prefilter_alone"] = figures(top[0], truth, top[1], families)
    k = fast.rule.top_k_
    cands = {s: fast.candidates(sets[s][0], k) for s in sets} | {f"unknown_{p}": fast.candidates(unknown[p], k)
                                                                  for p in unknown}  # fmt: skip
    chain_right = [c.family == t for c, t in zip(chain.predict(sets["val"][0]), sets["val"][1], strict=True)]
    chain_right += [c.family == UNASSIGNED for c in chain.predict(unknown["val"])]
    for part in ("evalue", "cnn"):
        val_known, val_unknown = one_part(cands["val"], part), one_part(cands["unknown_val"], part)
        rule = FastRule().fit(val_known, sets["val"][1], val_unknown, chain_right)
        picked = []
        for key in ("test", "unknown_test"):
            best = [best_of(c, k) for c in one_part(cands[key], part)]
            picked.append([b.family if b is not None and rule.accepts(b) else UNASSIGNED for b in best])
        res[f"{part}_alone"] = {"rule": {"threshold": rule.threshold_, "evalue": rule.evalue_},
                                **figures(picked[0], truth, picked[1], families)}  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    write_record("fast_path", without_command(res), variant=Path(args.dataset).name)


if __name__ == "__main__":
    main()
