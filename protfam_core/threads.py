"""How many threads a tool's work may use: `--threads N`, where 0 means every core this process may run on.

The count is resolved once per command and handed to each library that parallelises: pyhmmer (`cpus`), onnxruntime
(intra-op threads), torch, FAISS, the aligners and MMseqs2. Nothing in the core picks its own thread count.
"""

from __future__ import annotations

import os

from protfam_core.errors import InputError


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which container limits and taskset narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def resolve_threads(threads: int | None) -> int:
    """`threads`, or all available cores for 0 or None."""
    if threads is None or threads == 0:
        return available_cores()
    if threads < 0:
        raise InputError(f"--threads must be 0 (all cores) or a positive number, got {threads}")
    return threads
