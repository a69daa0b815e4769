"""Items from reasoning-gym datasets, drawn with our own seeded rng.

Importing reasoning_gym takes over a second and building a dataset validates its config, so both
happen once: on the first task of a skill, and per distinct level config (cached). Drawing an item
is then tens of microseconds. The item index comes from `rng`, so (level, seed) fixes the item.
"""

from __future__ import annotations

import functools
import random
from typing import Any

_SIZE = 2**31  # reasoning-gym datasets are virtual: any index works, `size` only bounds iteration


@functools.cache
def _dataset(name: str, config: tuple[tuple[str, Any], ...]) -> Any:
    import reasoning_gym  # heavy: see the module docstring

    return reasoning_gym.create_dataset(name, seed=0, size=_SIZE, **dict(config))


def item(name: str, rng: random.Random, **config: Any) -> dict[str, Any]:
    """One item of the reasoning-gym dataset `name` under `config` (values must be hashable)."""
    return _dataset(name, tuple(sorted(config.items())))[rng.randrange(_SIZE)]
