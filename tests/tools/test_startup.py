"""What a command imports: the commands users run on a pipe load neither the training commands nor what only those,
other metrics or a shown progress bar need; the commands left out are still listed, named and run."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from protfam_tools import classify_cnn, prep_msa

ROOT = Path(__file__).resolve().parents[2]
QUERIES = str(ROOT / "examples" / "queries.fasta")
AUTHORS = str(ROOT / "tests" / "data" / "fingerprints")
# Never imported by an inference command: the training stack and Biopython (io.seqio reads FASTA itself).
NEVER = {"torch", "mlflow", "Bio", "sklearn"}
RUNS = [
    (
        "classify_cnn",
        ["predict", QUERIES],
        {"protfam_tools._classify_cnn_train", "protfam_tools._classify_cnn_chain",
         "protfam_tools._classify_cnn_easy_train", "protfam_core.msa.aligners", "pyfamsa", "rich"},
    ),
    ("prep_msa", ["place", QUERIES], {"protfam_tools._prep_msa_dataset", "protfam_core.msa.dataset"}),  # logs: rich
    ("fingerprint_search", ["search", f"{AUTHORS}/ATKA_ATKC.txt", "--db", AUTHORS], {"scipy", "rich"}),
]  # fmt: skip


@pytest.mark.parametrize(("tool", "args", "unneeded"), RUNS, ids=[run[0] for run in RUNS])
def test_a_command_imports_only_what_it_runs(tool: str, args: list[str], unneeded: set[str], tmp_path: Path):
    out = tmp_path / "out.txt"
    code = (
        "import json, sys\n"
        f"from protfam_tools.{tool} import main\n"
        f"rc = main({[*args, '-o', str(out)]!r})\n"
        "print(json.dumps([rc, sorted(sys.modules)]))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    rc, modules = json.loads(run.stdout.splitlines()[-1])
    assert rc == 0 and out.read_text().count("\n") > 2
    assert not (NEVER | unneeded) & (set(modules) | {name.split(".")[0] for name in modules})


@pytest.mark.parametrize("tool", [classify_cnn, prep_msa], ids=["classify_cnn", "prep_msa"])
def test_every_listed_command_resolves(tool):
    group = typer.main.get_command(tool.app)
    names = group.list_commands(None)
    assert len(names) > 4 and all(group.get_command(None, name).name == name for name in names)


def test_the_training_commands_are_listed_and_run(capsys):
    assert classify_cnn.main(["--help"], stdout=io.StringIO()) == 0
    listed = capsys.readouterr().out
    names = [line[2:].split()[0] for line in listed.splitlines() if line.startswith("│ ") and line[2] not in " -"]
    assert names == ["predict", "families", *classify_cnn.TRAINING]
    words = " ".join(listed.replace("│", " ").split())
    assert "easy-train Train a whole chain from your families and publish it as NAME" in words

    assert classify_cnn.main(["chain", "--help"], stdout=io.StringIO()) == 0
    assert "prepare" in capsys.readouterr().out

    err = io.StringIO()
    assert classify_cnn.main(["trian"], stdout=io.StringIO(), stderr=err) == 2
    assert "Did you mean 'train'?" in err.getvalue()
