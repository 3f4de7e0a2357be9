"""onnxruntime sessions for every shipped model: the only way inference code runs a network.

The artifact's sha256 is checked before the file is parsed, so a tampered or truncated model fails with one clear
line instead of wrong predictions. CUDA is used when onnxruntime offers it, CPU otherwise. This module never imports
torch: inference tools start fast and run where torch is not installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from protfam_core.errors import ModelError
from protfam_core.io.atomic import sha256_file

# onnxruntime type strings -> numpy dtypes callers' arrays are cast to (float64 features become float32 inputs).
_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}


def providers() -> list[str]:
    """CUDA first when this onnxruntime build has it, always CPU as the fallback."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    chosen = [p for p in ("CUDAExecutionProvider",) if p in available]
    return [*chosen, "CPUExecutionProvider"]


class OnnxModel:
    """A verified ONNX model: `run({input: array}) -> {output: array}` on `threads` intra-op threads (0 = all)."""

    def __init__(self, path: str | Path, sha256: str | None = None, threads: int = 0) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"ONNX model file not found: {self.path}")
        if sha256 is not None:
            actual = sha256_file(self.path)
            if actual != sha256.lower():
                raise ModelError(
                    f"ONNX model {self.path} is tampered or corrupt: sha256 {actual[:16]}... "
                    f"differs from the recorded {sha256[:16]}..."
                )
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: warnings about unused initializers are noise for users
        options.intra_op_num_threads = threads  # 0 = onnxruntime's default, one per core
        # Idle intra-op threads would spin for the next run and take the cores from the Python and pyhmmer work in
        # between runs (the chain alternates them): 20% of the fast path's time on 2 cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(self.path), sess_options=options, providers=providers())
        except Exception as exc:  # onnxruntime raises its own exception classes per failure mode
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"cannot load ONNX model {self.path} (corrupt or not an ONNX file): {first}") from exc
        self._inputs = {i.name: i for i in self._session.get_inputs()}
        self.input_names: list[str] = list(self._inputs)
        self.output_names: list[str] = [o.name for o in self._session.get_outputs()]

    @property
    def providers(self) -> list[str]:
        """The execution providers the session really uses (CUDA may be refused at load time)."""
        return self._session.get_providers()

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model on a batch; arrays are cast to the dtypes the model declares."""
        missing = [name for name in self.input_names if name not in inputs]
        extra = [name for name in inputs if name not in self._inputs]
        if missing or extra:
            raise ModelError(
                f"ONNX model {self.path.name} takes inputs {self.input_names}; got {sorted(inputs)} "
                f"(missing {missing}, unexpected {extra})"
            )
        feed = {}
        for name, array in inputs.items():
            dtype = _DTYPES.get(self._inputs[name].type)
            feed[name] = np.ascontiguousarray(array, dtype=dtype) if dtype is not None else np.asarray(array)
        try:
            outputs = self._session.run(self.output_names, feed)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0]
            raise ModelError(f"ONNX model {self.path.name} failed on its input: {first}") from exc
        return dict(zip(self.output_names, outputs, strict=True))
