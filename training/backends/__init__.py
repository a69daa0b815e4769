"""Student backends behind one interface, one backend a file: a local Hugging Face model, an
OpenAI-compatible server (vLLM), a person. Prompts go in batches, never one at a time."""

from __future__ import annotations

import importlib
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
BACKENDS: Registry[str] = Registry("student backend")  # name -> "module:factory", imported on use

# Lazy: the hf backend imports torch; `cosr --help` and the openai backend must not pay for that.
BACKENDS.register("hf", "cosr.training.backends.hf:HFStudent")
BACKENDS.register("openai", "cosr.training.backends.openai_compat:OpenAIStudent")
BACKENDS.register("human", "cosr.training.backends.human:HumanStudent")


def make_student(cfg: StudentConfig) -> StudentBackend:
    module, _, name = BACKENDS.get(cfg.backend).partition(":")
    factory: BackendFactory = getattr(importlib.import_module(module), name)
    return factory(cfg)


def render_prompt(cfg: StudentConfig, prompt: str) -> str:
    return cfg.prompt_template.replace("{prompt}", prompt)
