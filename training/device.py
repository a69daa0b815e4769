"""One place that decides where tensors live: CUDA with bf16 when present, the CPU with fp32 otherwise."""

from __future__ import annotations

import os
from typing import Literal

# Torch's CPU threads where the process's cores are not all its own: a `cosr compare` run, a Ray task, sets it
# to the CPUs the task was given (graphs/compare.py); otherwise one thread per core the process may run on.
CPU_THREADS = "COSR_CPU_THREADS"


def pick_device(preference: Literal["auto", "cpu", "cuda"] = "auto") -> tuple[str, object]:
    import torch

    if preference == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training.device = 'cuda' but no CUDA device is visible")
    if preference != "cpu" and torch.cuda.is_available():
        return "cuda", (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    torch.set_num_threads(_cpu_threads() or max(1, len(os.sched_getaffinity(0))))
    return "cpu", torch.float32


def _cpu_threads() -> int:
    """The thread count COSR_CPU_THREADS asks for; 0 when it is unset or empty."""
    value = os.environ.get(CPU_THREADS, "").strip()
    if not value:
        return 0
    if not value.isdecimal():  # what int() reads; isdigit() also passes "²", which int() refuses
        raise ValueError(f"{CPU_THREADS}={value!r}: expected a whole number of CPU threads (or unset)")
    return int(value)
