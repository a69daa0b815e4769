"""Input prediction (Absolute Zero's abduction): given `f` and an output, find an x with f(x) == output.

Any such x is right, so the check runs f on the answer; the reference is the input we drew.
"""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, CodeCheck, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, _programs, register_generator
from cosr.graphs.skills.catalog._guard import GUARD


def code_input(level: int, rng: random.Random) -> Problem:
    program = _programs.draw(level, rng)
    x = program.draw_input(rng)
    output = program.fn(x)
    return Problem(
        prompt=f"{program.source}Find x such that f(x) == {output!r}.",
        answer_format=AnswerFormat.LITERAL,
        verifier=VerifierKind.CODE,
        reference=repr(x),
        check=CodeCheck(harness=program.source + "\n__x__ = ({{answer}})\n" + GUARD,
                        tests=(f"assert __same__(f(__x__), {output!r})",)),
        metadata={"family": program.family, "output": repr(output)},
    )


def explain(task: Task) -> list[str] | None:
    """Working back from the output (no worked solution: the reference is one of many right inputs)."""
    if "output" not in task.metadata:
        return None
    return [f"the target output is {task.metadata['output']}", "undo the last operation of f first, then the one before",
            f"f({task.reference}) == {task.metadata['output']}"]


register_generator(
    "code_input",
    code_input,
    domain=Domain.CODE,
    levels=len(_programs.LEVELS),
    description="find an input x with f(x) == y for a small Python function; families by level",
    identity=identity.program_and_question,
    explain=explain,
    fundamentals="Work backwards from the output: undo each step of the function, or try small inputs systematically.",
)
