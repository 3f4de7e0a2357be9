"""`nf-core modules lint --local` (nf-core/tools 4.2.1, its own lint code) on nextflow/modules/local, offline.

nf-core's lint reads nf-core/modules' meta-schema.json and environment-schema.json from a clone of that repository
and asks the Anaconda API whether each bioconda pin exists. Neither host is reachable here, so this driver:
- makes a local stand-in for the modules repository (a git repo with its .nf-core.yml) under build/; the two schema
  files are copied into it from --schemas DIR (the `modules/` folder of an nf-core/modules checkout) when given;
  without them the meta_yml and environment_yml test groups cannot run and are left out (said on stdout);
- treats as a pass only the warning the lint gives when the Anaconda API cannot be reached (bioconda_version:
  "Conda version not specified correctly"); every other warning or failure fails the run.
`nextflow` (nextflow/runtime/nextflow) must be on PATH: the lint runs `nextflow inspect` on every module.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

OFFLINE_WARNING = ("bioconda_version", "Conda version not specified correctly")
SCHEMA_GROUPS = {"meta_yml": "meta-schema.json", "environment_yml": "environment-schema.json"}
GROUPS = ["environment_yml", "main_nf", "meta_yml", "module_changes", "module_deprecations", "module_todos"]


def stand_in_repo(path: Path, schemas: Path | None) -> None:
    if path.exists():
        shutil.rmtree(path)
    (path / "modules" / "nf-core").mkdir(parents=True)
    (path / ".nf-core.yml").write_text("repository_type: modules\norg_path: nf-core\n")
    (path / "modules" / "nf-core" / ".keep").write_text("")
    if schemas is not None:
        for name in SCHEMA_GROUPS.values():
            shutil.copy(schemas / name, path / "modules" / name)
    git = ["git", "-C", str(path), "-c", "user.name=lint", "-c", "user.email=lint@localhost"]
    subprocess.run(["git", "init", "-q", "-b", "master", str(path)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "stand-in for nf-core/modules"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pipeline", type=Path, help="the pipeline folder (nextflow/)")
    parser.add_argument("--schemas", type=Path, help="folder holding meta-schema.json and environment-schema.json")
    parser.add_argument("--registry", default="docker.io", help="allowed container registry prefix")
    args = parser.parse_args()

    import nf_core.modules.modules_repo
    from nf_core.modules.lint import ModuleLint

    # The stand-in is named by a relative path so that nf-core clones it under its config folder (XDG_CONFIG_HOME).
    repo = Path("build/nf-core-modules-local.git")
    stand_in_repo(repo, args.schemas)
    groups = [g for g in GROUPS if args.schemas is not None or g not in SCHEMA_GROUPS]
    if args.schemas is None:
        print(f"nf_core_lint: no --schemas: left out {sorted(SCHEMA_GROUPS)} (they need nf-core/modules' schemas)")
    nf_core.modules.modules_repo.ModulesRepo.no_pull_global = False
    lint = ModuleLint(
        args.pipeline, remote_url=str(repo), branch="master", registry=(args.registry,), hide_progress=True
    )
    lint.lint(all_modules=True, key=groups, local=True, print_results=False)
    offline = [r for r in lint.warned if (r.lint_test, r.message.split(":")[0]) == OFFLINE_WARNING]
    bad = [("failed", r) for r in lint.failed] + [("warned", r) for r in lint.warned if r not in offline]
    for kind, r in bad:
        print(f"{kind}: {r.component_name} {r.lint_test}: {r.message}")
    print(
        f"nf_core_lint: groups {groups}: {len(lint.passed)} passed, "
        f"{len(offline)} bioconda pins not checkable offline, {len(bad)} failed"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
