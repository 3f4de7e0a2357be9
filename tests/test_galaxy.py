"""The Galaxy wrappers in a real Galaxy: planemo lint and shed_lint, every wrapper's <tests>, the data manager and
the .ga workflow.

Marked `galaxy`: excluded from the fast suite, run by .ci/galaxy, which first installs Galaxy 26.1.2 and planemo
into venvs under build/ (never into the system Python). The fixture starts galaxy-web on 127.0.0.1 with sqlite,
a tool_conf listing the wrappers, the data manager (galaxy_wrappers/data_manager) in a data_manager_config_file,
conda off, the system protfam tools on the jobs' PATH and a protfam_models data table generated from the shipped
registry's aliases; creates an admin user through the master API key; and stops the server after.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.galaxy

ROOT = Path(__file__).resolve().parents[1]
WRAPPERS = ROOT / "galaxy_wrappers"
GALAXY_VENV = ROOT / "build" / "galaxy-venv"
PLANEMO = ROOT / "build" / "planemo-venv" / "bin" / "planemo"
MASTER_KEY = "protfam-ci-master-key"
TOOL_XMLS = sorted(p for p in WRAPPERS.glob("*.xml") if p.name != "macros.xml")
WORKFLOW = WRAPPERS / "protfam_family_calls.ga"
DATA_MANAGER = WRAPPERS / "data_manager"
DATA_MANAGER_XML = DATA_MANAGER / "data_manager_protfam_models.xml"


def tool_id(xml: Path) -> str:
    text = xml.read_text()
    return text.split('<tool id="', 1)[1].split('"', 1)[0]


@dataclass
class Galaxy:
    url: str
    user_key: str
    workdir: Path

    def api(self, method: str, path: str, payload: dict | None = None) -> dict | list:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{self.url}/api/{path}", data=data, method=method)
        request.add_header("x-api-key", self.user_key)
        request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def text(self, path: str) -> str:
        request = urllib.request.Request(f"{self.url}/api/{path}")
        request.add_header("x-api-key", self.user_key)
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read().decode()

    def wait_ok(self, dataset_id: str, limit_s: float = 600) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            state = self.api("GET", f"datasets/{dataset_id}")["state"]
            if state == "ok":
                return
            assert state not in ("error", "failed_metadata", "discarded"), f"dataset {dataset_id}: {state}"
            time.sleep(2)
        raise TimeoutError(f"dataset {dataset_id} not ok within {limit_s:.0f} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _registry_loc() -> str:
    """protfam_models.loc rows (value, name, kind, path) for every alias in the shipped registry (NAME@ALIAS).

    The NAME-VERSION rows are left to the data manager, whose test installs family-cnn's champion as one."""
    registry = ROOT / "registry"
    manifest = json.loads((registry / "manifest.json").read_text())
    rows = []
    for name, info in sorted(manifest["models"].items()):
        for alias, version in sorted(info.get("aliases", {}).items()):
            rows.append([f"{name}@{alias}", f"{name}@{alias}", info["kind"], str(registry / name / version)])
    return "".join("\t".join(row) + "\n" for row in rows)


def _write_config(workdir: Path) -> Path:
    tools = "\n".join(f'    <tool file="{xml}"/>' for xml in TOOL_XMLS)
    (workdir / "tool_conf.xml").write_text(
        f'<toolbox monitor="false">\n  <section id="protfam" name="protfam">\n{tools}\n  </section>\n</toolbox>\n'
    )
    (workdir / "protfam_models.loc").write_text(_registry_loc())
    sample = (WRAPPERS / "tool_data_table_conf.xml.sample").read_text()
    (workdir / "tool_data_table_conf.xml").write_text(
        sample.replace("tool-data/protfam_models.loc", str(workdir / "protfam_models.loc"))
    )
    # the data manager, as a Tool Shed would install it: its data_manager_conf.xml with the folder as tool_path
    dm_conf = (DATA_MANAGER / "data_manager_conf.xml").read_text()
    (workdir / "data_manager_conf.xml").write_text(
        dm_conf.replace("<data_managers>", f'<data_managers tool_path="{DATA_MANAGER}">', 1)
    )
    bindir = Path(sys.executable).parent  # where pip put prep-msa & co. for this Python
    # protfam's tools run with protfam's Python (GALAXY_VIRTUAL_ENV=None: Galaxy re-activates its venv for metadata
    # itself); Galaxy's own tools (uploads) keep the default environment.
    routes = "".join(f"  - id: {tool_id(xml)}\n    environment: protfam\n" for xml in [*TOOL_XMLS, DATA_MANAGER_XML])
    (workdir / "job_conf.yml").write_text(
        "runners:\n  local:\n    load: galaxy.jobs.runners.local:LocalJobRunner\n    workers: 3\n"
        "execution:\n  default: local\n  environments:\n    local:\n      runner: local\n"
        "    protfam:\n      runner: local\n      env:\n"
        f"        - execute: 'export PATH=\"{bindir}:$PATH\"'\n"
        "        - name: GALAXY_VIRTUAL_ENV\n          value: None\n"
        f"tools:\n{routes}"
    )
    config = workdir / "galaxy.yml"
    settings = {
        "data_dir": str(workdir / "data"),
        "database_connection": f"sqlite:///{workdir}/data/universe.sqlite?isolation_level=IMMEDIATE",
        "tool_config_file": str(workdir / "tool_conf.xml"),
        "tool_data_table_config_path": str(workdir / "tool_data_table_conf.xml"),
        "tool_data_path": str(workdir / "tool-data"),
        "job_config_file": str(workdir / "job_conf.yml"),
        "data_manager_config_file": str(workdir / "data_manager_conf.xml"),
        "galaxy_data_manager_data_path": str(workdir / "dm-data"),
        "conda_auto_init": False,
        "conda_auto_install": False,
        "dependency_resolvers": [{"type": "galaxy_packages"}],
        "enable_mulled_containers": False,
        "involucro_auto_init": False,
        "master_api_key": MASTER_KEY,
        "admin_users": "ci@example.org",
        "allow_user_creation": True,
        "watch_tools": False,
        "enable_celery_tasks": False,
        "cleanup_job": "never",
    }
    config.write_text(json.dumps({"galaxy": settings}, indent=1))  # JSON is YAML
    (workdir / "tool-data").mkdir(exist_ok=True)
    return config


def _wait_for(url: str, process: subprocess.Popen, log: Path, limit_s: float = 420) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"galaxy-web exited ({process.returncode}); log tail:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/version", timeout=5):
                return
        except OSError:
            time.sleep(3)
    raise TimeoutError(f"Galaxy did not answer within {limit_s:.0f} s")


@pytest.fixture(scope="module")
def galaxy() -> Iterator[Galaxy]:
    if not (GALAXY_VENV / "bin" / "galaxy-web").exists():
        pytest.fail("Galaxy is not installed: run .ci/galaxy (it creates build/galaxy-venv)")
    workdir = ROOT / "build" / "galaxy-ci"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    port = _free_port()
    config = _write_config(workdir)
    log = workdir / "galaxy.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GALAXY_", "VIRTUAL_ENV", "PYTHON"))}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(GALAXY_VENV / "bin" / "galaxy-web"), "-c", str(config), "-b", f"127.0.0.1:{port}"],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process, log)
        admin = Galaxy(url, MASTER_KEY, workdir)
        user = admin.api("POST", "users", {"username": "ci", "email": "ci@example.org", "password": "ci-password-1"})
        key = admin.api("POST", f"users/{user['id']}/api_key")
        yield Galaxy(url, str(key), workdir)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def planemo_lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(PLANEMO), "lint", "--fail_level", "warn", str(path)], capture_output=True, text=True)


def test_planemo_lint_every_wrapper() -> None:
    result = planemo_lint(WRAPPERS)
    assert result.returncode == 0, result.stdout + result.stderr
    for xml in TOOL_XMLS:
        assert f"Linting tool {xml}" in result.stdout


def test_planemo_lint_data_manager() -> None:
    result = planemo_lint(DATA_MANAGER)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Linting tool {DATA_MANAGER_XML}" in result.stdout


# planemo shed_lint with its one networked check (is the version bumped against the main Tool Shed?) switched off:
# this machine has no network, and shed_lint stops with a ConnectionError there. Everything else runs as usual.
SHED_LINT_OFFLINE = (
    "import sys; import planemo.shed_lint as s; from planemo.cli import planemo; "
    "s.lint_shed_version = lambda repository, lint_ctx: lint_ctx.info('offline: version bump not checked'); "
    "sys.argv[0] = 'planemo'; sys.exit(planemo())"
)


@pytest.mark.parametrize("repository", [WRAPPERS, DATA_MANAGER], ids=["suite", "data_manager"])
def test_planemo_shed_lint(repository: Path) -> None:
    cmd = [str(PLANEMO.parent / "python"), "-c", SHED_LINT_OFFLINE, "shed_lint", "--tools", "--fail_level", "warn", "."]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repository)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "offline: version bump not checked" in result.stdout
    expected = [DATA_MANAGER_XML] if repository == DATA_MANAGER else TOOL_XMLS
    assert sorted(
        line.split("+Linting tool ")[1] for line in result.stdout.splitlines() if "+Linting tool " in line
    ) == [str(xml) for xml in expected]


def test_planemo_lint_rejects_broken_wrapper(tmp_path: Path) -> None:
    """A wrapper without help and with a test that names an unknown output must fail the lint step."""
    broken = tmp_path / "wrappers"
    shutil.copytree(WRAPPERS, broken, ignore=shutil.ignore_patterns("test-data"))
    xml = broken / "prep_msa_align.xml"
    text = xml.read_text()
    text = text.split("    <help>")[0] + text.split("]]></help>\n")[1]
    xml.write_text(text.replace('<output name="alignment" ftype="fasta">', '<output name="no_such" ftype="fasta">'))
    result = planemo_lint(xml)
    assert result.returncode != 0
    assert "No help section found" in result.stdout or "HelpMissing" in result.stdout, result.stdout


def run_tool_tests(galaxy: Galaxy, xml: Path, test_data: Path = WRAPPERS / "test-data") -> tuple[dict[str, str], str]:
    """galaxy-tool-test on every <test> of one wrapper: status per test id, and the log tail."""
    out = galaxy.workdir / f"{xml.stem}.json"
    cmd = [
        str(GALAXY_VENV / "bin" / "galaxy-tool-test"),
        *("-u", galaxy.url, "-k", galaxy.user_key, "-a", MASTER_KEY, "-t", tool_id(xml)),
        *("--test-data", str(test_data), "-j", str(out), "--no-history-cleanup", "--with-reference-data"),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    statuses = {t["id"]: t["data"]["status"] for t in json.loads(out.read_text())["tests"]} if out.exists() else {}
    return statuses, result.stderr[-4000:]


@pytest.fixture(scope="module")
def tool_test_results(galaxy: Galaxy) -> dict[Path, tuple[dict[str, str], str]]:
    """All wrappers' tests, three tools at a time (start-up and uploads dominate, not the 2 CPUs)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {xml: pool.submit(run_tool_tests, galaxy, xml) for xml in TOOL_XMLS}
        return {xml: future.result() for xml, future in futures.items()}


@pytest.mark.parametrize("xml", TOOL_XMLS, ids=lambda p: p.stem)
def test_wrapper_tests_pass_in_galaxy(tool_test_results: dict, xml: Path) -> None:
    statuses, log = tool_test_results[xml]
    assert statuses and set(statuses.values()) == {"success"}, f"{statuses}\n{log}"
    assert len(statuses) == xml.read_text().count("<test ")


def test_workflow_lint() -> None:
    result = subprocess.run(
        [str(PLANEMO), "workflow_lint", "--fail_level", "warn", str(WORKFLOW)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Tests appear structurally correct" in result.stdout


def test_workflow_runs_in_galaxy(galaxy: Galaxy, tool_test_results: dict) -> None:
    """planemo runs the .ga on test-data/queries.fasta in the same Galaxy and checks its -tests.yml assertions."""
    cmd = [
        *(str(PLANEMO), "test", "--engine", "external_galaxy", "--galaxy_url", galaxy.url),
        *("--galaxy_admin_key", MASTER_KEY, "--galaxy_user_key", galaxy.user_key),
        *("--no_shed_install", "--test_output_json", str(galaxy.workdir / "workflow.json")),
        *("--test_output", str(galaxy.workdir / "workflow.html"), str(WORKFLOW)),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1500, cwd=galaxy.workdir)
    report = json.loads((galaxy.workdir / "workflow.json").read_text())
    statuses = [t["data"]["status"] for t in report["tests"]]
    assert statuses == ["success"], result.stdout[-4000:] + result.stderr[-4000:]


@pytest.fixture(scope="module")
def data_manager_results(galaxy: Galaxy) -> tuple[dict[str, str], str]:
    """The data manager's <tests> with galaxy-tool-test, as the admin user: Galaxy runs data managers for admins only,
    and processes their JSON output (moves the bundle, adds the row to protfam_models) after each job."""
    return run_tool_tests(galaxy, DATA_MANAGER_XML, DATA_MANAGER / "test-data")


def test_data_manager_tests_pass_in_galaxy(data_manager_results: tuple[dict[str, str], str]) -> None:
    statuses, log = data_manager_results
    assert statuses and set(statuses.values()) == {"success"}, f"{statuses}\n{log}"
    assert len(statuses) == DATA_MANAGER_XML.read_text().count("<test ")


def test_data_manager_rows_are_used_by_the_tools(galaxy: Galaxy, data_manager_results: tuple) -> None:
    """The rows the data manager added are in Galaxy's protfam_models table with their bundles installed, and the
    classifier run on the installed champion CNN (a row only the data manager made) gives the expected calls."""
    expected_rows = []
    for name in ("protfam_models_family-cnn.json", "protfam_models_family-index.json"):
        expected_rows += json.loads((DATA_MANAGER / "test-data" / name).read_text())["data_tables"]["protfam_models"]
    table = galaxy.api("GET", "tool_data/protfam_models")
    rows = {fields[0]: fields for fields in table["fields"]}
    installed = galaxy.workdir / "dm-data" / "protfam_models"
    for row in expected_rows:
        path = installed / row["value"]
        assert rows.get(row["value"]) == [row["value"], row["name"], row["kind"], str(path)], table["fields"]
        assert (path / "model.json").is_file()
    cnn = next(row["value"] for row in expected_rows if row["kind"] == "cnn")

    history = galaxy.api("POST", "histories", {"name": "data manager check"})["id"]
    upload = {
        "history_id": history,
        "targets": [
            {
                "destination": {"type": "hdas"},
                "elements": [
                    {
                        "src": "pasted",
                        "paste_content": (WRAPPERS / "test-data" / "queries.fasta").read_text(),
                        "ext": "fasta",
                        "name": "queries.fasta",
                    }
                ],
            }
        ],
    }
    queries = galaxy.api("POST", "tools/fetch", upload)["outputs"][0]["id"]
    galaxy.wait_ok(queries)
    inputs = {
        "input": {"src": "hda", "id": queries},
        "top_k": 3,
        "model_source|source": "cached",
        "model_source|bundle": cnn,
    }
    run = galaxy.api("POST", "tools", {"tool_id": "protfam_classify_cnn", "history_id": history, "inputs": inputs})
    calls = run["outputs"][0]["id"]
    galaxy.wait_ok(calls)
    assert (
        galaxy.text(f"datasets/{calls}/display?preview=false")
        == (WRAPPERS / "test-data" / "family_calls.tsv").read_text()
    )
