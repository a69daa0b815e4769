"""The built-in skill generators: one skill family a file, each registered at the bottom of its file.

A generator is a pure function `(level, rng, **params) -> Problem`. It reads its difficulty
attributes from a `LEVELS` table (difficulty as data, as in reasoning-gym's curricula) and draws
everything else from `rng`, so `(generator, level, seed)` always yields the same task. Modules named
`_x` are shared helpers, not skill families.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cosr.domain import AnswerFormat, CodeCheck, Domain, VerifierKind
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


@dataclass(frozen=True)
class GeneratorSpec:
    name: str
    domain: Domain
    levels: int
    generate: GenerateFn
    description: str = ""
    identity: IdentityRule = normalized_prompt  # what makes two of its tasks the same problem (identity.py)


GENERATORS: Registry[GeneratorSpec] = Registry("skill generator")


def register_generator(
    name: str, generate: GenerateFn, *, domain: Domain, levels: int, description: str = "",
    identity: IdentityRule = normalized_prompt,
) -> GeneratorSpec:
    return GENERATORS.register(name, GeneratorSpec(name, domain, levels, generate, description, identity))


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
