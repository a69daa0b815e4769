"""Which problems are held out: every task identity belongs to one split, fixed by a hash of it.

A task's identity (identity.py) hashes into `train`, `validation` (to choose settings) or `test` (to
report). Training tasks are drawn only from the `train` share, by every path that makes one
(SkillGraph.make_task redraws until it lands there), so a held-out problem never reaches training, at
any evaluation size, under any of its spellings; the held-out splits draw from their own shares and
from seed spaces of their own. A small level keeps four fifths of its problems to train on, where
banning a list of held-out draws used to ban most of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from functools import cache
from importlib.metadata import version
from itertools import count
from pathlib import Path

from cosr.config import cosr_home
from cosr.domain import HELDOUT_SPLITS, Split, Task

# Shares of the identity space; what is left is `train`. A level needs about 1/share draws per task.
SHARES: dict[Split, float] = {"validation": 0.1, "test": 0.1}
# The most held-out tasks a skill may ask for (`eval.per_skill`) that `cosr audit` checks by default; the
# split itself holds at any size, so this only bounds what the audit enumerates.
MAX_PER_SKILL = 600
# A level whose next PATIENCE draws bring no new problem has given its split all it has.
PATIENCE = 300


class NoTaskInSplit(ValueError):
    """Every draw of a level landed outside the split asked for: the level has no problem there."""


def split_of(identity: str) -> Split:
    """The split a problem belongs to: the first 8 bytes of its identity's sha256 as a number in [0, 1)."""
    u = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big") / 2**64
    for split in HELDOUT_SPLITS:
        if u < SHARES[split]:
            return split
        u -= SHARES[split]
    return "train"


def heldout_tasks(skills, per_skill: int, levels: list[int], split: Split) -> list[Task]:
    """Up to `per_skill` distinct problems of `split` per skill, spread evenly over `levels` (clipped to each
    skill's levels). A level with fewer problems in its share gives what it has, each once, so accuracy and
    its standard error are over distinct tasks, not over repeats of a few.

    Drawing them takes seconds (a level's share is a tenth of its draws, and a small level is drawn until
    it gives nothing new), so the list is kept in COSR_HOME under a key of everything it depends on: the
    graph, the arguments and the source of the generators (plug-ins' included) and of these rules."""
    if split not in HELDOUT_SPLITS:
        raise ValueError(f"held-out split must be one of {HELDOUT_SPLITS}, got {split!r}")
    plugins = hashlib.sha256(b"".join(Path(sys.modules[m].__file__).read_bytes() for m in skills.plugins)).hexdigest()
    key = hashlib.sha256(json.dumps([skills.to_dict(), per_skill, sorted(levels), split, source_hash(), plugins],
                                    sort_keys=True).encode()).hexdigest()[:20]
    path = cosr_home() / "heldout" / f"{split}-{key}.jsonl"
    if path.exists():
        return [Task.model_validate_json(line) for line in path.read_text().splitlines()]
    tasks = _draw(skills, per_skill, levels, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}")
    tmp.write_text("".join(t.model_dump_json() + "\n" for t in tasks))
    tmp.replace(path)  # whole or not at all: two processes may draw it at once
    return tasks


@cache
def source_hash() -> str:
    """What the held-out sets depend on besides their arguments: the generators' and these rules' source."""
    here = Path(__file__).parent
    files = sorted([*here.glob("*.py"), *(here / "catalog").glob("*.py"), *(here / "catalog").glob("*.jsonl")])
    # reasoning-gym draws some of the problems: another version may draw others from the same seeds
    return hashlib.sha256(b"".join(f.read_bytes() for f in files) + version("reasoning-gym").encode()).hexdigest()


def _draw(skills, per_skill: int, levels: list[int], split: Split) -> list[Task]:
    tasks: list[Task] = []
    seen: set[str] = set()  # a problem two levels (or two skills of one family) share is held out once
    for skill in skills.skills():
        mine = sorted({min(lv, skill.levels) for lv in levels})
        for i, level in enumerate(mine):
            wanted = per_skill // len(mine) + (i < per_skill % len(mine))
            tasks += _distinct(skills, skill.name, level, split, wanted, seen)
    return tasks


def _distinct(skills, skill: str, level: int, split: Split, wanted: int, seen: set[str]) -> list[Task]:
    out, last_new = [], 0
    for seed in count():
        if len(out) >= wanted or seed - last_new > PATIENCE:
            break
        try:
            task = skills.make_task(skill, level, seed, split=split)
        except NoTaskInSplit:  # no problem of this level falls in the split at all
            break
        if (key := skills.identity(task)) not in seen:
            seen.add(key)
            out.append(task)
            last_new = seed
    return out
