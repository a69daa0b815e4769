"""Curriculum strategies, one a file, registered by name: how the Curator picks skill and difficulty.

A strategy sees the Diagnostician's mastery and the skill graph and returns `n` picks; the Curator
turns picks into tasks and records the strategy as each task's provenance.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from cosr.config import CuratorConfig
from cosr.domain import Mastery
from cosr.registry import Registry

if TYPE_CHECKING:
    from cosr.graphs.skills import SkillGraph


@dataclass(frozen=True)
class Pick:
    skill: str
    level: int
    reason: str


def predicted_success(m: Mastery | None, level: int) -> float:
    """The Diagnostician's ability-vs-difficulty model (see agents/diagnostician.py)."""
    ability = m.ability if m else 0.0
    return 1.0 / (1.0 + math.exp(-(ability - (level - 1))))


def is_mastered(m: Mastery | None, cfg: CuratorConfig) -> bool:
    """Basic competence (level 1) at the mastery threshold: enough to build on."""
    return predicted_success(m, 1) >= cfg.mastery_threshold


class Strategy(Protocol):
    name: str

    def choose(self, skills: SkillGraph, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]: ...


STRATEGIES: Registry[type] = Registry("curriculum strategy")


def make_strategy(name: str, cfg: CuratorConfig) -> Strategy:
    return STRATEGIES.get(name)(cfg)


for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")
