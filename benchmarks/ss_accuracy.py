"""Accuracy and speed of the shipped SS/SA predictor, through onnxruntime (the tool's own inference path).

Protocol: Q3 (3-state SS) and 2-state SA accuracy (exposed at >= 25% RSA) per residue with a known label, on
  - CB513 (NetSurfP-2.0 csv; CB513's own resolved segment of each chain, the whole chain as input); never trained on,
    and every training chain near-identical to it (MMseqs2 >= 90% identity over >= 50% coverage) was removed;
  - FLIP's secondary-structure test split (364 chains; SS only);
  - the held-out 10% of the cath_dssp chains (seeded split, the model's seed; SS and SA).
Throughput: residues per second of SSPredictor.predict_proba over all CB513 chains (length-batched, padded), CPU,
as wall clock and per 2 CPU-seconds of the process (what two free cores give if the work splits evenly; the machine is
shared, so the wall clock depends on the load printed beside it).

Run:  python benchmarks/ss_accuracy.py [--model REF]   (onnxruntime's default threads: one per core)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from _record import write_record

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def accuracy(predictor, chains) -> tuple[float, int, float, int]:
    """(Q3, SS residues, SA accuracy, SA residues) over the labelled residues of `chains`."""
    preds = predictor.predict([c.seq for c in chains])
    counts = np.zeros(4)
    for chain, (ss, sa) in zip(chains, preds, strict=True):
        for truth, guess, k in ((chain.ss, ss, 0), (chain.sa, sa, 2)):
            known = [(t, g) for t, g in zip(truth, guess, strict=True) if t != "?"]
            counts[k] += sum(t == g for t, g in known)
            counts[k + 1] += len(known)
    q3 = counts[0] / counts[1] if counts[1] else float("nan")
    sa = counts[2] / counts[3] if counts[3] else float("nan")
    return q3, int(counts[1]), sa, int(counts[3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="SS bundle reference (default: the shipped default)")
    args = parser.parse_args()

    from protfam_core.ss.data import read_cath_dssp, read_cb513, read_flip
    from protfam_core.ss.model import split_dssp
    from protfam_core.ss.predict import SSPredictor

    predictor = SSPredictor(args.model)
    seed = int(predictor.bundle.card.get("params", {}).get("seed", 0))
    cath = DATA / "ss/cath_dssp"
    sets = {
        "CB513": read_cb513(DATA / "ss/cb513/CB513.csv"),
        "FLIP test": [c for c, s in read_flip(DATA / "ss/flip/splits.zip") if s == "test"],
        "DSSP held-out 10%": split_dssp(read_cath_dssp(cath / "dssp.tar.xz", cath / "CATH_info.txt"), seed)["test"],
    }
    print(f"model: {predictor.model_id} ({predictor.bundle.path})")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print("| test set | chains | Q3 | SS residues | SA 2-state | SA residues |")
    print("|---|---|---|---|---|---|")
    rows = []
    for name, chains in sets.items():
        q3, n_ss, sa, n_sa = accuracy(predictor, chains)
        sa_text = f"{sa:.1%}" if n_sa else "n/a"
        rows.append({"test_set": name, "chains": len(chains), "q3": q3, "ss_residues": n_ss,
                     "sa_2state": sa if n_sa else None, "sa_residues": n_sa})  # fmt: skip
        print(f"| {name} | {len(chains)} | {q3:.1%} | {n_ss} | {sa_text} | {n_sa} |")
    seqs = [c.seq for c in sets["CB513"]]
    predictor.predict_proba(seqs[:20])  # warm-up
    best, per_cpu_second = 0.0, 0.0
    n = sum(map(len, seqs))
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        predictor.predict_proba(seqs)
        best = max(best, n / (time.perf_counter() - wall))
        per_cpu_second = max(per_cpu_second, n / (time.process_time() - cpu))
    load = os.getloadavg()[0]
    print(f"throughput: {best:,.0f} residues/s wall clock (CB513, {n} residues, best of 3, {os.cpu_count()} CPU cores")
    print(f"shared, load average {load:.1f}); {2 * per_cpu_second:,.0f} residues per 2 CPU-seconds of this process")
    figures = {"model": predictor.model_id, "test_sets": rows, "residues_per_s": best}
    figures["residues_per_2_cpu_s"] = 2 * per_cpu_second
    write_record("ss_accuracy", figures, variant=args.model or "default")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
