"""False calls on held-out non-members, and recall on held-out members, of the shipped chain against HMMER, same run.

Issue 34's protocol: the test split's members reversed and shuffled (Pfam's check of its thresholds), and as many
generated low-complexity, coiled-coil and transmembrane proteins (`protfam_core.cnn.decoys`, seed 1; calibration
used the validation members and seed 0), through `classify-cnn predict`'s chain (per protein) and through pyhmmer's
hmmsearch of the same frames with its default filters, a call being any frame at whole-sequence E <= 1e-3
(`--evalue` sets the cut). Also counted: the test members called right by each (the same E cut for HMMER), and on a
real proteome (`--proteome`, e.g. pyhmmer's packaged 938293.PRJEB85.HG003687.faa; no product choice saw it) the
proteins each calls, and those the two agree on.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from _record import write_record

from protfam_core.cnn.classify import FamilyClassifier
from protfam_core.cnn.decoys import decoys
from protfam_core.cnn.report import UNASSIGNED
from protfam_core.frames.frameset import SearchSettings
from protfam_core.io.seqio import Record, read_sequences
from protfam_core.msa.dataset import load_dataset


def hmmer_calls(clf: FamilyClassifier, records: list[Record], evalue: float) -> list[str]:
    """The best frame of each record at whole-sequence E <= `evalue` (hmmsearch's default filters), else unassigned."""
    found = clf.frames.search(records, SearchSettings(evalue=evalue, fallback_evalue=0.0), cpus=clf.threads)
    out = []
    for r in records:
        hits = found[r.id]
        out.append(min(hits, key=lambda p: (p.hit_evalue, -p.score)).family if hits else UNASSIGNED)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="build/dataset")
    ap.add_argument("--proteome", default=None, help="a real proteome FASTA")
    ap.add_argument("--evalue", type=float, default=1e-3, help="HMMER's call cut")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default=None, help="CNN bundle (default: the shipped one)")
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    clf = FamilyClassifier(args.model, threads=args.threads)
    members, labels = data.records("test"), data.labels("test")
    res: dict = {"command": f"python {shlex.join(sys.argv)}", "model": clf.cnn_bundle.ref,
                 "rule": clf.settings.rule.to_card(), "hmmer_evalue": args.evalue}  # fmt: skip
    ours = [c.family for c in clf.predict(members)]
    theirs = hmmer_calls(clf, members, args.evalue)
    res["test_members"] = {
        "n": len(members),
        "protfam_right": sum(c == t for c, t in zip(ours, labels, strict=True)),
        "hmmer_right": sum(c == t for c, t in zip(theirs, labels, strict=True)),
    }
    res["decoys"] = {}
    for kind, recs in decoys(members, seed=1).items():
        ours = [c.family for c in clf.predict(recs)]
        theirs = hmmer_calls(clf, recs, args.evalue)
        res["decoys"][kind] = {"n": len(recs), "protfam_calls": sum(c != UNASSIGNED for c in ours),
                               "hmmer_calls": sum(c != UNASSIGNED for c in theirs)}  # fmt: skip
    if args.proteome:
        recs = read_sequences(args.proteome)
        ours = [c.family for c in clf.predict(recs)]
        theirs = hmmer_calls(clf, recs, args.evalue)
        res["proteome"] = {
            "file": Path(args.proteome).name,
            "n": len(recs),
            "protfam_calls": sum(c != UNASSIGNED for c in ours),
            "hmmer_calls": sum(c != UNASSIGNED for c in theirs),
            "both_same_family": sum(a == b != UNASSIGNED for a, b in zip(ours, theirs, strict=True)),
        }
    print(json.dumps(res, indent=2))
    write_record("false_calls", {k: v for k, v in res.items() if k != "command"}, variant=Path(args.dataset).name)


if __name__ == "__main__":
    main()
