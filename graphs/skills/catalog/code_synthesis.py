"""Program synthesis (Absolute Zero's induction): given input/output pairs, write `f`.

Some pairs are held back from the prompt and only tested, so that a lookup table of the shown
pairs does not pass.
"""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, CodeCheck, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, _programs, register_generator
from cosr.graphs.skills.catalog._guard import GUARD

SHOWN, HIDDEN = 4, 2


def code_synthesis(level: int, rng: random.Random) -> Problem:
    program = _programs.draw(level, rng)
    pairs = [[repr(x), repr(program.fn(x))] for x in program.inputs(rng, SHOWN + HIDDEN)]
    shown = "\n".join(f"f({x}) == {y}" for x, y in pairs[:SHOWN])
    return Problem(
        prompt=f"Write a Python function f such that:\n{shown}",
        answer_format=AnswerFormat.CODE,
        verifier=VerifierKind.CODE,
        reference=program.source,
        check=CodeCheck(harness=CodeCheck.ANSWER_SLOT + "\n" + GUARD,
                        tests=tuple(f"assert __same__(f({x}), {y})" for x, y in pairs)),
        metadata={"family": program.family, "shown": pairs[:SHOWN], "hidden": pairs[SHOWN:]},
    )


def explain(task: Task) -> list[str] | None:
    """Reading the pattern off the shown pairs (no worked solution: the reference is one of many right programs)."""
    if not task.metadata.get("shown"):
        return None
    pairs = "; ".join(f"{x} -> {y}" for x, y in task.metadata["shown"])
    return [f"the examples: {pairs}", "what changes between consecutive examples? a difference, a ratio or a branch?",
            "write f, then check it on every example"]  # the program itself is the answer, shown once revealed


register_generator(
    "code_synthesis",
    code_synthesis,
    domain=Domain.CODE,
    levels=len(_programs.LEVELS),
    description="write f from input/output pairs (some hidden); families by level",
    identity=identity.reference_program,
    explain=explain,
    fundamentals="Compare each output with its input: a constant difference, a ratio, a condition; then write f and check every pair.",
)
