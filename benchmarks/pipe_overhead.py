"""The pipe of the stage tools against the one-shot `classify-cnn predict`, as whole processes on the same input.

prep-msa place | predict-ss predict - | encode-vae encode - | classify-cnn predict -  runs the same four stage functions
as `classify-cnn predict`, in four processes, with the placements, SS/SA and fingerprints serialised between them.
This measures what that costs (wall time of each, their ratio; the goal is at most 1.3x) and checks that both give
the same rows. Both run one after the other, several times, alternating, on the same machine.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _record import write_record

from protfam_core.io.seqio import read_sequences
from protfam_core.msa.dataset import load_dataset

PIPE = "prep-msa place {q} | predict-ss predict - | encode-vae encode - | classify-cnn predict - > {out}"
ONE = "classify-cnn predict {q} > {out}"


def timed(command: str) -> float:
    start = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("-n", type=int, default=5000, help="test-split sequences (then validation ones, if more)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--queries", help="a FASTA file to use instead of the dataset (e.g. examples/queries.fasta)")
    args = ap.parse_args()
    if args.queries:
        records = read_sequences(args.queries)[: args.n]
    else:
        data = load_dataset(args.dataset)
        records = (data.records("test") + data.records("val"))[: args.n]
    with tempfile.TemporaryDirectory() as tmp:
        q = Path(tmp) / "q.fasta"
        q.write_text("".join(f">{r.id}\n{r.seq}\n" for r in records))
        one_out, pipe_out = Path(tmp) / "one.tsv", Path(tmp) / "pipe.tsv"
        times: dict[str, list[float]] = {"one-shot": [], "pipe": []}
        for _ in range(args.repeats):
            times["one-shot"].append(timed(ONE.format(q=q, out=one_out)))
            times["pipe"].append(timed(PIPE.format(q=q, out=pipe_out)))
        same = one_out.read_text().splitlines()[1:] == pipe_out.read_text().splitlines()[1:]
    print(f"command: python {shlex.join(sys.argv)}")
    print(f"{len(records)} sequences, {args.repeats} alternating runs each; rows identical after the # line: {same}")
    rows = []
    for name, values in times.items():
        med = statistics.median(values)
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name:9s} median {med:7.2f} s  {len(records) / med:7.0f} seq/s  runs {runs}")
        rows.append({"run": name, "median_wall_s": med, "seqs_per_s": len(records) / med, "runs_s": values})
    ratio = statistics.median(times["pipe"]) / statistics.median(times["one-shot"])
    print(f"pipe / one-shot: {ratio:.2f}x (goal <= 1.3x)")
    figures = {"sequences": len(records), "repeats": args.repeats, "rows_identical": same}
    figures |= {"pipe_over_one_shot": ratio, "goal_at_most": 1.3, "runs": rows}
    write_record("pipe_overhead", figures, variant=args.queries or f"{Path(args.dataset).name} -n {args.n}")


if __name__ == "__main__":
    main()
