"""Output prediction (Absolute Zero's deduction): given `f` and an input, what is `f(input)`?"""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, CodeCheck, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, _programs, register_generator
from cosr.graphs.skills.catalog._guard import GUARD


def code_output(level: int, rng: random.Random) -> Problem:
    program = _programs.draw(level, rng)
    x = program.draw_input(rng)
    return Problem(
        prompt=f"{program.source}What is f({x!r})?",
        answer_format=AnswerFormat.LITERAL,
        verifier=VerifierKind.CODE,
        reference=repr(program.fn(x)),
        check=CodeCheck(harness=program.source + "\n__answer__ = ({{answer}})\n" + GUARD,
                        tests=(f"assert __same__(__answer__, f({x!r}))",)),
        metadata={"family": program.family, "input": repr(x)},
    )


def explain(task: Task) -> list[str] | None:
    """Tracing f by hand. No worked solution: a trace of every template is more than its answer is worth."""
    if "input" not in task.metadata:
        return None
    x = task.metadata["input"]
    return [f"call f with x = {x}", "follow each line of f, writing every variable's value",
            f"f({x}) returns {task.reference}"]


register_generator(
    "code_output",
    code_output,
    domain=Domain.CODE,
    levels=len(_programs.LEVELS),
    description="predict f(x) for a small Python function; shifts, affine, branches, loops, lists by level",
    identity=identity.program_and_question,
    explain=explain,
    fundamentals="Run the function by hand: substitute the input and evaluate line by line, writing down each variable.",
)
