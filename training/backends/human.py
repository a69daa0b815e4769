"""A person as the Student: each prompt is handed to `ask` and the person's reply comes back.

In a tutoring graph `ask` is LangGraph's `interrupt()`: the graph pauses (checkpointed), the
terminal shows the task, and the reply resumes it, so a session survives quitting or a crash.
A reply is a command as well as text: the person may answer, ask for a hint or an explanation,
or skip. Nothing here can be LoRA-trained, and a person takes no adapter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from cosr.config import StudentConfig
from cosr.training.backends import BACKENDS, Generation


class Reply(BaseModel):
    """What a person sends back for a task: an answer, or a request."""

    model_config = ConfigDict(extra="forbid")
    command: Literal["answer", "hint", "explain", "skip"] = "answer"
    text: str = ""


def _interrupt(payload: dict[str, Any]) -> Any:
    from langgraph.types import interrupt  # only meaningful inside a running graph node

    return interrupt(payload)


class HumanStudent:
    trainable_path: Path | None = None
    adapter_version: str | None = None

    def __init__(self, cfg: StudentConfig, ask: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.id = f"human:{cfg.model}" if cfg.model else "human"
        self._ask = ask or _interrupt

    def request(self, payload: dict[str, Any]) -> Reply:
        """Show `payload` (the task and any feedback) and wait for the person's reply."""
        reply = self._ask(payload)
        return Reply.model_validate(reply if isinstance(reply, dict) else {"text": str(reply)})

    continues_answers = False  # a person is helped by the tutor's hints (agents/hints.py), not by a start

    def generate(self, prompts: Sequence[str], *, temperature: float = 0.0, max_new_tokens: int = 0,
                 starts: Sequence[str] | None = None) -> list[Generation]:
        out = []
        for prompt in prompts:  # a person answers one at a time; requests other than answers count as empty
            t0 = time.perf_counter()
            reply = self.request({"prompt": prompt})
            out.append(Generation(text=reply.text if reply.command == "answer" else "", completion_tokens=0,
                                  duration_s=time.perf_counter() - t0))
        return out

    def load_adapter(self, path: Path, version: str) -> None:
        raise NotImplementedError("a human student takes no LoRA adapter")

    def close(self) -> None:
        pass


BACKENDS.register("human", HumanStudent)
