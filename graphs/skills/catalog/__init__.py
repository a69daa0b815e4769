"""The skill families: one a file, everything about the family in it, registered at the bottom of the file.

A family's file holds its generator, a pure function `(level, rng, **params) -> Problem` that reads its
difficulty attributes from a `LEVELS` table (difficulty as data, as in reasoning-gym's curricula) and draws
everything else from `rng`, so `(generator, level, seed)` always yields the same task; and what teaching
the family needs: its worked solution (computed from a task's own data), its fundamentals, and the steps a
person is walked through. A new family is one new file: here, or in any importable module named under
`plugins:` in a skill graph file (graph.py). Modules named `_x` are shared helpers, not skill families.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cosr.domain import AnswerFormat, CodeCheck, Domain, Task, VerifierKind
from cosr.graphs.skills.identity import IdentityRule, normalized_prompt
from cosr.registry import Registry


@dataclass(frozen=True)
class Problem:
    prompt: str
    answer_format: AnswerFormat
    verifier: VerifierKind
    reference: str
    check: CodeCheck | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


GenerateFn = Callable[..., Problem]
StepsFn = Callable[[Task], list[str] | None]

GENERIC_FUNDAMENTALS = "Break the problem into small steps and check each one."


@dataclass(frozen=True)
class SkillSpec:
    """A skill family: how its tasks are made and recognised, and how it is taught."""

    name: str
    domain: Domain
    levels: int
    generate: GenerateFn
    description: str = ""
    identity: IdentityRule = normalized_prompt  # what makes two of its tasks the same problem (identity.py)
    # The worked solution of a task, one line a step, the last giving the answer: what the embedded student
    # is pretrained on and teacher demonstrations show. It returns None for a task that carries none of the
    # data it works from (one an LLM wrote). A family without one (code) declares None: the bare reference.
    worked: StepsFn | None = None
    fundamentals: str = GENERIC_FUNDAMENTALS  # what the skill rests on: the first hint, the head of an explanation
    # What a person is walked through, where it differs from `worked`: finer steps (addition column by
    # column, where `worked` states the sum at once) or the way in for a family without a worked solution.
    # Its last step completes the answer, so a person sees it only once the answer is revealed. None: `worked`.
    explain: StepsFn | None = None

    def worked_answer(self, task: Task) -> str:
        """A completion that shows its work: the worked solution, then `So the answer is X` (which the
        Answer-Adapter reads); the bare reference for a task without one."""
        steps = self.worked(task) if self.worked else None
        return ". ".join(steps) + f". So the answer is {task.reference}" if steps else task.reference

    def walkthrough(self, task: Task) -> list[str] | None:
        """The steps a person is walked through, the last one completing the answer; None: none to show."""
        steps = self.explain or self.worked
        return steps(task) if steps else None


GENERATORS: Registry[SkillSpec] = Registry("skill generator")


def register_generator(
    name: str, generate: GenerateFn, *, domain: Domain, levels: int, description: str = "",
    identity: IdentityRule = normalized_prompt, worked: StepsFn | None = None,
    fundamentals: str = GENERIC_FUNDAMENTALS, explain: StepsFn | None = None,
) -> SkillSpec:
    return GENERATORS.register(name, SkillSpec(name, domain, levels, generate, description, identity, worked,
                                               fundamentals, explain))


def generate(name: str, level: int, seed: int, stream: str = "", **params: Any) -> Problem:
    spec = GENERATORS.get(name)
    if not 1 <= level <= spec.levels:
        raise ValueError(f"generator {name!r} has levels 1..{spec.levels}, got {level}")
    # The generator's name and the level are part of the seed, so that seed 7 of `addition` and seed 7
    # of `subtraction` (or of another level) are unrelated draws, not the same numbers reused; `stream`
    # gives each held-out split a seed space of its own (graphs/skills/splits.py).
    return spec.generate(level, random.Random(f"{name}:{level}:{seed}{stream}"), **params)


def integer(rng: random.Random, digits: int) -> int:
    """A number with exactly `digits` digits (one digit: 0..9)."""
    return rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)


def _load_all() -> None:
    """Import every public module of this package so each registers its generators (`_x` are helpers)."""
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


_load_all()
