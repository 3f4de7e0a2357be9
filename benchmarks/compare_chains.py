"""Two shipped chains on the same held-out sequences: one dataset's test split, minus what the other trained on.

Queries: the test-split members of `--test-of` whose residues are not among the train or validation members of
`--unseen-by` (so neither chain's models, frames or rules saw them). Each chain is a registry folder (the current
`registry/`, or an older one taken from git: `git archive e4c78c0 registry | tar -x -C DIR`), run as a whole
`classify-cnn predict` process with `PROTFAM_REGISTRY` pointing at it (and `--model NAME` for a chain given as
`FOLDER@NAME`, e.g. one that `classify-cnn easy-train` published there). Accuracy counts `unassigned` as wrong;
labels are the `--test-of` dataset's (its merged classes are classes of both chains).

Usage: python benchmarks/compare_chains.py --test-of build/dataset_paper --unseen-by build/dataset \\
    --chain old=/tmp/old/registry --chain new=registry
       python benchmarks/compare_chains.py --test-of build/dataset --unseen-by build/scale370/work/dataset \
    --chain shipped=registry --chain all370=build/scale370/registry@all370
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from _record import without_command, write_record

from protfam_core.io.seqio import write_fasta
from protfam_core.msa.dataset import load_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test-of", required=True)
    ap.add_argument("--unseen-by", required=True)
    ap.add_argument("--chain", action="append", required=True, help="NAME=REGISTRY_FOLDER[@MODEL] (repeatable)")
    args = ap.parse_args()
    test, other = load_dataset(args.test_of), load_dataset(args.unseen_by)
    seen = {r.seq for split in ("train", "val") for r in other.records(split)}
    pairs = [(r, f) for r, f in zip(test.records("test"), test.labels("test"), strict=True) if r.seq not in seen]
    res: dict = {"command": f"python {shlex.join(sys.argv)}", "sequences": len(pairs),
                 "test_split": len(test.records("test"))}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        queries = Path(tmp) / "q.fasta"
        write_fasta([r for r, _ in pairs], queries)
        for spec in args.chain:
            name, folder = spec.split("=", 1)
            folder, _, model = folder.partition("@")
            env = {**os.environ, "PROTFAM_REGISTRY": str(Path(folder).resolve())}
            command = ["classify-cnn", "predict", str(queries), *(["--model", model] if model else [])]
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{name}: {done.stderr.strip()}")
            lines = done.stdout.splitlines()
            calls = [line.split("\t")[1] for line in lines[2:]]
            right = sum(c == f for c, (_, f) in zip(calls, pairs, strict=True))
            res[name] = {"model": lines[0].split("model=")[1].split()[0], "accuracy": right / len(pairs),
                         "unassigned": calls.count("unassigned") / len(pairs)}  # fmt: skip
    print(json.dumps(res, indent=2))
    write_record("compare_chains", without_command(res), variant=f"{args.test_of} unseen by {args.unseen_by}")


if __name__ == "__main__":
    main()
