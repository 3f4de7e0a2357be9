"""How long it takes to get a verified model: CLI cold start, shipped registry, MLflow store (download vs cache).

Protocol: one bundle holding an exported MLP of about --params parameters (ONNX, float32) is published into a
temporary shipped registry and registered in a temporary sqlite MLflow store. Timed: (1) a cold
`protfam-registry show` process (interpreter start, imports, sha256 check), next to a bare `import torch` for scale;
(2) in-process resolve (sha256-verified) + onnxruntime session, from the shipped folder; (3) the same from the
MLflow store: first resolve (download to the cache) and cached resolves. Medians over --repeat runs; the machine's
load average is printed because other jobs share its 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from _record import write_record

from protfam_core.registry import bundles as registry
from protfam_core.registry import tracking
from protfam_core.registry.onnx_export import export_onnx, parameter_count


def timed(fn, repeat: int) -> float:
    """Median wall seconds of `fn()` over `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def process(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=int, default=1_000_000, help="approximate parameter count of the model")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"command: python3 benchmarks/registry_latency.py {shlex.join(sys.argv[1:])}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    figures: dict = {"repeats": args.repeat, "load_average_before": os.getloadavg()[0]}
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ.update(
            PROTFAM_REGISTRY=str(tmp / "shipped"),
            XDG_CACHE_HOME=str(tmp / "cache"),
            XDG_DATA_HOME=str(tmp / "data"),
            PROTFAM_TRACKING_URI=f"sqlite:///{tmp / 'store' / 'mlflow.db'}",
        )
        hidden = max(8, args.params // 1024)
        module = torch.nn.Sequential(torch.nn.Linear(512, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 512))
        n_params = parameter_count(module)
        export_onnx(module, (torch.randn(4, 512),), tmp / "model.onnx", ["x"], ["y"])
        bundle = registry.save_bundle(tmp / "bundle", "bench", "cnn", {"model": tmp / "model.onnx"}, {})
        size_mb = (tmp / "bundle" / "model.onnx").stat().st_size / 1e6
        print(f"model: {n_params} parameters, ONNX file {size_mb:.1f} MB")
        figures |= {"model_parameters": n_params, "onnx_mb": size_mb}
        registry.publish(bundle.path)
        with tracking.training_run("bench", {}, None) as run:
            run.log_bundle(bundle.path)

        env = dict(os.environ)
        env.pop("PROTFAM_TRACKING_URI")  # the shipped path: no store involved
        cli = [sys.executable, "-m", "protfam_tools.registry", "show", "bench"]
        figures["cold_cli_show_s"] = timed(lambda: process(cli, env), args.repeat)
        print(f"cold `protfam-registry show` (shipped): {figures['cold_cli_show_s']:.2f} s")
        bare = [sys.executable, "-c", "import torch"]
        figures["cold_import_torch_s"] = timed(lambda: process(bare, env), args.repeat)
        print(f"cold `python -c 'import torch'` for scale: {figures['cold_import_torch_s']:.2f} s")

        def shipped() -> None:
            os.environ.pop("PROTFAM_TRACKING_URI", None)
            registry.resolve("bench", "cnn").onnx("model")

        figures["shipped_resolve_session_ms"] = timed(shipped, args.repeat) * 1000
        print(f"resolve + onnxruntime session, shipped: {figures['shipped_resolve_session_ms']:.0f} ms")
        os.environ["PROTFAM_TRACKING_URI"] = env_uri = f"sqlite:///{tmp / 'store' / 'mlflow.db'}"
        tracking.client(env_uri)  # import mlflow outside the timings
        first = timed(lambda: registry.resolve("bench/1", "cnn").onnx("model"), 1)
        print(f"resolve + session, MLflow sqlite store, first (download): {first * 1000:.0f} ms")
        cached = timed(lambda: registry.resolve("bench/1", "cnn").onnx("model"), args.repeat)
        print(f"resolve + session, MLflow sqlite store, cached: {cached * 1000:.0f} ms")
        figures |= {"store_first_download_ms": first * 1000, "store_cached_ms": cached * 1000}
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    write_record("registry_latency", figures)


if __name__ == "__main__":
    main()
