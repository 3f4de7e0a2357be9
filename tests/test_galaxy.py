"""The Galaxy wrappers in a real Galaxy: planemo lint, every wrapper's <tests>, and the .ga workflow.

Marked `galaxy`: excluded from the fast suite, run by .ci/galaxy, which first installs Galaxy 26.1.2 and planemo
into venvs under build/ (never into the system Python). The fixture starts galaxy-web on 127.0.0.1 with sqlite,
a tool_conf listing the wrappers, conda off, the system protfam tools on the jobs' PATH and a protfam_models data
table generated from the shipped registry; creates a user through the master API key; and stops the server after.
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _registry_loc() -> str:
    """protfam_models.loc rows (value, name, kind, path) for every version and alias in the shipped registry."""
    registry = ROOT / "registry"
    manifest = json.loads((registry / "manifest.json").read_text())
    rows = []
    for name, info in sorted(manifest["models"].items()):
        for version in info["versions"]:
            rows.append([f"{name}-{version}", f"{name} {version}", info["kind"], str(registry / name / version)])
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
    bindir = Path(sys.executable).parent  # where pip put prep-msa & co. for this Python
    # protfam's tools run with protfam's Python (GALAXY_VIRTUAL_ENV=None: Galaxy re-activates its venv for metadata
    # itself); Galaxy's own tools (uploads) keep the default environment.
    routes = "".join(f"  - id: {tool_id(xml)}\n    environment: protfam\n" for xml in TOOL_XMLS)
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


def run_tool_tests(galaxy: Galaxy, xml: Path) -> tuple[dict[str, str], str]:
    """galaxy-tool-test on every <test> of one wrapper: status per test id, and the log tail."""
    out = galaxy.workdir / f"{xml.stem}.json"
    cmd = [
        str(GALAXY_VENV / "bin" / "galaxy-tool-test"),
        *("-u", galaxy.url, "-k", galaxy.user_key, "-a", MASTER_KEY, "-t", tool_id(xml)),
        *("--test-data", str(WRAPPERS / "test-data"), "-j", str(out), "--no-history-cleanup", "--with-reference-data"),
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
