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
    continues_answers: bool  # generate() can continue a given answer start (a completion model)

    def generate(self, prompts: Sequence[str], *, temperature: float, max_new_tokens: int,
                 starts: Sequence[str] | None = None) -> list[Generation]:
        """One generation per prompt. `starts`: the beginning of each answer, written for the student (a
        teacher's help); the model continues it and the Generation holds only what the model wrote."""
        ...

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


def continued(rendered: Sequence[str], starts: Sequence[str] | None) -> list[str]:
    """Rendered prompts with each answer's given start appended (completion models continue it)."""
    if starts is None:
        return list(rendered)
    if len(starts) != len(rendered):
        raise ValueError(f"{len(starts)} answer starts for {len(rendered)} prompts")
    return [p + s for p, s in zip(rendered, starts, strict=True)]


# Each backend registers itself at the bottom of its file. None imports torch before it generates, so
# `cosr --help` and the config check (graphs/plugins.py) do not pay for it.
for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")
