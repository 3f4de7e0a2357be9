#!/usr/bin/env python3
"""Galaxy data manager: install one protfam model bundle into the protfam_models data table.

The bundle is written by `protfam-registry export`, which verifies every artifact's sha256 against model.json: either
a model shipped with protfam (NAME, NAME@ALIAS, NAME/VERSION) or an uploaded tar of an exported bundle folder. It goes
to OUT_FILE's extra_files_path/VALUE; the JSON written to OUT_FILE names the new row (value, name, kind, path), and
Galaxy moves the folder to its data manager data path (data_manager_conf.xml).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SAFE = re.compile(r"[^A-Za-z0-9_.@-]+")


def bundle_root(extracted: Path) -> Path:
    """The folder of the tar that holds model.json: its top level or its one sub-folder."""
    if (extracted / "model.json").is_file():
        return extracted
    found = sorted(p.parent for p in extracted.glob("*/model.json"))
    if len(found) != 1:
        sys.exit(
            f"data_manager_protfam_models: the tar holds {len(found)} bundles (model.json) at its top two levels, not 1"
        )
    return found[0]


def export(ref: str, dest: Path) -> None:
    # protfam-registry's own messages go to Galaxy's stderr/stdout of the job
    result = subprocess.run(["protfam-registry", "export", ref, str(dest)], stdout=sys.stderr)
    if result.returncode != 0:
        sys.exit(result.returncode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_file", help="the data manager's JSON: Galaxy's parameters in, the new table row out")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--shipped", metavar="REF", help="a model shipped with protfam: NAME, NAME@ALIAS or NAME/VERSION"
    )
    source.add_argument("--bundle-tar", metavar="TAR", help="a tar of an exported bundle folder")
    parser.add_argument("--value", default="", help="the row's id (default: NAME-VERSION)")
    parser.add_argument("--name", default="", help="the name users see (default: NAME VERSION, and the reference)")
    args = parser.parse_args()

    params = json.loads(Path(args.out_file).read_text())
    target = Path(params["output_data"][0]["extra_files_path"])
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        staged = Path(tmp) / "bundle"
        if args.shipped:
            export(args.shipped, staged)
        else:
            extracted = Path(tmp) / "extracted"
            with tarfile.open(args.bundle_tar) as tar:
                tar.extractall(extracted, filter="data")  # no absolute paths, links out or device files
            export(str(bundle_root(extracted)), staged)
        card = json.loads((staged / "model.json").read_text())
        value = SAFE.sub("_", args.value or f"{card['name']}-{card['version']}")
        name = args.name or f"{card['name']} {card['version']}" + (f" ({args.shipped})" if args.shipped else "")
        final = target / value
        if final.exists():
            sys.exit(f"data_manager_protfam_models: {value} is already in this job's output")
        staged.rename(final)
    row = {"value": value, "name": name, "kind": card["kind"], "path": value}
    Path(args.out_file).write_text(
        json.dumps({"data_tables": {"protfam_models": [row]}}, indent=2, sort_keys=True) + "\n"
    )
    print(f"protfam_models: {value} ({card['kind']}) from {args.shipped or 'the uploaded bundle'}")


if __name__ == "__main__":
    main()
