"""torch -> ONNX export with a numeric check: the one runtime helper that imports torch (training code only).

Every model is shipped as ONNX so inference never needs torch. The export is only kept if onnxruntime reproduces
the torch outputs, on the example batch and on a batch of another size (proving the batch axis really is dynamic).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from protfam_core.errors import ModelError
from protfam_core.io.atomic import atomic_path, sha256_file
from protfam_core.registry.onnx_runtime import OnnxModel

OPSET = 17


def _as_list(outputs: object) -> list[torch.Tensor]:
    """A module's outputs as a flat list (a tensor, or a tuple/list of tensors)."""
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, tuple | list) and all(isinstance(t, torch.Tensor) for t in outputs):
        return list(outputs)
    raise ModelError(f"ONNX export needs a module returning tensors, got {type(outputs).__name__}")


def _other_batch(example_inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """A batch of a different size than the example: its first row, or two copies when the example has one row."""
    if example_inputs[0].shape[0] > 1:
        return tuple(t[:1] for t in example_inputs)
    return tuple(torch.cat([t, t]) for t in example_inputs)


def _max_diff(model: OnnxModel, module: torch.nn.Module, inputs: tuple, names: list[str]) -> float:
    """Largest absolute difference between onnxruntime and torch over all outputs."""
    with torch.no_grad():
        expected = _as_list(module(*inputs))
    got = model.run({n: t.detach().cpu().numpy() for n, t in zip(model.input_names, inputs, strict=True)})
    worst = 0.0
    for name, ref in zip(names, expected, strict=True):
        ref_np = ref.detach().cpu().numpy()
        if got[name].shape != ref_np.shape:
            raise ModelError(f"ONNX output {name} has shape {got[name].shape}, torch gives {ref_np.shape}")
        if ref_np.size:
            worst = max(worst, float(np.max(np.abs(got[name].astype(np.float64) - ref_np.astype(np.float64)))))
    return worst


def export_onnx(
    module: torch.nn.Module,
    example_inputs: tuple,
    path: str | Path,
    input_names: list[str],
    output_names: list[str],
    atol: float = 1e-4,
    extra_dynamic_axes: dict[str, dict[int, str]] | None = None,
) -> str:
    """Export `module` (in eval mode) to `path` with a dynamic batch axis; return the file's sha256.

    `extra_dynamic_axes` names more dynamic axes per input/output (e.g. {"tokens": {1: "length"}}) besides axis 0.

    Raises ModelError (and leaves no file) when onnxruntime and torch differ by more than `atol`.
    """
    path = Path(path)
    example_inputs = tuple(example_inputs)
    if len(example_inputs) != len(input_names):
        raise ModelError(f"{len(example_inputs)} example inputs but {len(input_names)} input names")
    was_training = module.training
    module.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            dynamic = {name: {0: "batch"} for name in [*input_names, *output_names]}
            for name, axes in (extra_dynamic_axes or {}).items():
                dynamic.setdefault(name, {}).update(axes)
            with warnings.catch_warnings():
                # The TorchScript exporter is used on purpose: the dynamo exporter needs onnxscript, not a dependency.
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    module,
                    example_inputs,
                    str(tmp),
                    input_names=list(input_names),
                    output_names=list(output_names),
                    dynamic_axes=dynamic,
                    opset_version=OPSET,
                    dynamo=False,
                )
            model = OnnxModel(tmp)
            for inputs in (example_inputs, _other_batch(example_inputs)):
                diff = _max_diff(model, module, inputs, list(output_names))
                if not diff <= atol:
                    raise ModelError(
                        f"ONNX export of {type(module).__name__} differs from torch by {diff:.3g} (> atol {atol:g}) "
                        f"on a batch of {inputs[0].shape[0]}"
                    )
    finally:
        module.train(was_training)
    return sha256_file(path)


def parameter_count(module: torch.nn.Module) -> int:
    """Trainable parameters of a network: what its model card records (the paper's measure of model size)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
