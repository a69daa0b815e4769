"""Student backends behind one interface, one backend a file registered at its bottom: a local Hugging Face
model, an OpenAI-compatible server (vLLM), a person. Prompts go in batches, never one at a time."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cosr.config import StudentConfig
from cosr.registry import Registry


@dataclass(frozen=True)
class Generation:
    text: str
    completion_tokens: int
    duration_s: float


class StudentBackend(Protocol):
    id: str  # names the student in every Attempt
    adapter_version: str | None  # the LoRA adapter in use; None for the base weights
    trainable_path: Path | None  # a local HF folder LoRA rounds can train on; None if not trainable here

    def generate(self, prompts: Sequence[str], *, temperature: float, max_new_tokens: int) -> list[Generation]: ...

    def load_adapter(self, path: Path, version: str) -> None:
        """Serve the adapter saved at `path` from now on, under the name `version`."""
        ...

    def close(self) -> None: ...


BackendFactory = Callable[[StudentConfig], StudentBackend]
BACKENDS: Registry[BackendFactory] = Registry("student backend")


def make_student(cfg: StudentConfig) -> StudentBackend:
    return BACKENDS.get(cfg.backend)(cfg)


def render_prompt(cfg: StudentConfig, prompt: str) -> str:
    return cfg.prompt_template.replace("{prompt}", prompt)


# Each backend registers itself at the bottom of its file. None imports torch before it generates, so
# `cosr --help` and the config check (graphs/plugins.py) do not pay for it.
for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")
