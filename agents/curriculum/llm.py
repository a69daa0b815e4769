"""A curator LLM (any OpenAI-compatible server) writes new tasks for the student's weakest open skills,
each with a reference answer and an independent check; a task whose reference fails the verifier is
rejected and never reaches the student. (The same LLM explains failures as a teacher: agents/llm_teacher.py.)

The LLM's word is never trusted: a math task must come with `solution`, an arithmetic expression that
is evaluated here (exact fractions, no names, no calls) and checked against the reference by the
math verifier; a code task's reference solution must pass its own tests in the sandbox.
"""

from __future__ import annotations

import ast
import operator
import random
from fractions import Fraction
from typing import Any

from cosr.agents.curriculum import STRATEGIES, Pick, Written, band_level, unlocked
from cosr.agents.llm_teacher import chat, parse_json
from cosr.config import CuratorConfig
from cosr.domain import HELDOUT_SPLITS, CodeCheck, Mastery, Provenance, Task, VerifierKind
from cosr.graphs.skills.splits import heldout_tasks

LIMIT = 10**60  # no practice problem needs larger numbers; keeps a hostile expression from eating memory
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}


def heldout_answers(ctx) -> set[tuple[str, int, str]]:
    """(skill, level, reference) of every held-out task of both splits at the run's evaluation size: an LLM
    that rewords a held-out problem escapes its identity but not its answer."""
    if "heldout_answers" not in ctx.extras:
        e = ctx.config.eval
        ctx.extras["heldout_answers"] = {(t.skill, t.difficulty, t.reference.strip()) for split in HELDOUT_SPLITS
                                         for t in heldout_tasks(ctx.skills, e.per_skill, e.levels, split)}
    return ctx.extras["heldout_answers"]


def evaluate_arithmetic(expr: str) -> Fraction:
    """Exact value of + - * / // % ** over numbers and parentheses; anything else is a ValueError."""
    def ev(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and (right.denominator != 1 or abs(right) > 64):
                raise ValueError("exponent must be a small integer")
            value = Fraction(_OPS[type(node.op)](left, right))
            if abs(value.numerator) > LIMIT or value.denominator > LIMIT:
                raise ValueError("a number too large for a practice problem")
            return value
        raise ValueError(f"not plain arithmetic: {ast.dump(node)[:60]}")
    try:
        return ev(ast.parse(expr.strip(), mode="eval"))
    except (SyntaxError, ZeroDivisionError) as e:
        raise ValueError(str(e)) from None


def _fraction_text(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


class LLMCurriculum:
    name = "llm"

    def __init__(self, cfg: CuratorConfig) -> None:
        if not cfg.llm.base_url or not cfg.llm.model:
            raise ValueError("the llm strategy needs curator.llm.base_url and curator.llm.model (an OpenAI-compatible server)")
        self.cfg, self.llm = cfg, cfg.llm
        self.teacher = f"openai:{cfg.llm.model}"

    def _chat(self, prompt: str, seed: int) -> str:
        return chat(self.llm, prompt, seed)

    def choose(self, skills, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]:
        """The weakest open skills (lowest ability), each at its band level, in turn."""
        open_skills = unlocked(skills, mastery, self.cfg) or skills.roots()
        weakest = sorted(open_skills, key=lambda s: (mastery[s].ability if s in mastery else 0.0, s))[:self.llm.weakest]
        out = []
        for i in range(n):
            name = weakest[i % len(weakest)]
            level, p = band_level(skills[name].levels, mastery.get(name), self.cfg.target_success)
            out.append(Pick(name, level, f"one of the {len(weakest)} weakest open skills; predicted success {p:.2f}"))
        return out

    def request(self, skill, level: int, example: Task, k: int) -> str:
        if example.verifier == VerifierKind.MATH:
            shape = ('{"tasks": [{"prompt": "...", "answer": "...", "solution": "an arithmetic expression '
                     'that computes the answer, e.g. (3*4)+5"}]}')
        else:
            shape = ('{"tasks": [{"prompt": "...", "answer": "the reference solution", "harness": "code with '
                     f'{CodeCheck.ANSWER_SLOT} where the answer goes", "tests": ["assert ..."]}}]}}')
        return (f"You write practice problems for a student model.\nSkill: {skill.name} ({skill.description})\n"
                f"Difficulty: level {level} of {skill.levels}. An example problem at this level:\n{example.prompt}\n"
                f"Its answer: {example.reference}\nWrite {k} new problems of the same kind and format. "
                f"Reply with JSON only:\n{shape}")

    def build(self, item: dict[str, Any], example: Task, pick: Pick, seed: int, i: int) -> tuple[Task, str | None]:
        """A Task from one JSON item, and the answer an independent check computes (None for code)."""
        prompt, answer = str(item["prompt"]).strip(), str(item["answer"]).strip()
        check, computed = None, None
        if example.verifier == VerifierKind.MATH:
            computed = _fraction_text(evaluate_arithmetic(str(item["solution"])))
        else:  # without a test, any program that runs would pass: reject rather than reward anything
            tests = item["tests"]
            if not isinstance(tests, list) or not (tests := [str(t) for t in tests if str(t).strip()]):
                raise ValueError("a code task needs a list of at least one test")
            check = CodeCheck(harness=str(item.get("harness") or CodeCheck.ANSWER_SLOT), tests=tuple(tests))
        task = Task(id=f"llm:{pick.skill}:L{pick.level}:s{seed}:{i}", skill=pick.skill, difficulty=pick.level,
                    prompt=prompt, answer_format=example.answer_format, verifier=example.verifier, reference=answer,
                    check=check, seed=seed, provenance=Provenance(strategy=self.name, teacher=self.teacher,
                                                                  reason=pick.reason),
                    metadata={"written_by": self.teacher})
        return task, computed

    def write_tasks(self, picks: list[Pick], ctx, rng: random.Random, step: int = 0) -> Written:
        """LLM tasks for the first `tasks_per_batch` picks; the other picks, and rejected ones, are left over."""
        from cosr.agents.verifiers import verify_batch

        out = Written()
        mine, out.leftover = picks[:self.llm.tasks_per_batch], list(picks[self.llm.tasks_per_batch:])
        groups: dict[tuple[str, int], list[Pick]] = {}
        for p in mine:
            groups.setdefault((p.skill, p.level), []).append(p)
        for (skill, level), group in groups.items():
            seed = rng.randrange(2**31)
            example = ctx.skills.make_task(skill, level, seed)
            candidates: list[tuple[Task, str | None]] = []
            try:
                items = parse_json(self._chat(self.request(ctx.skills[skill], level, example, len(group)), seed))["tasks"]
                if not isinstance(items, list):
                    raise TypeError("'tasks' is not a list")
            except (ValueError, KeyError, TypeError) as e:  # an unusable reply is a rejection with its reason;
                # a server that does not answer (openai.APIError) is an error of the run, not a rejection
                out.rejected.append(f"{skill}@L{level}: unusable reply ({type(e).__name__}: {e})"[:200])
                items = []
            for i, item in enumerate(items[:len(group)]):
                try:
                    candidates.append(self.build(item, example, group[i], seed, i))
                except (KeyError, TypeError, ValueError) as e:
                    out.rejected.append(f"{skill}@L{level} #{i}: malformed task ({e})"[:200])
            banned = heldout_answers(ctx)
            answers = [computed if computed is not None else t.reference for t, computed in candidates]
            verdicts = verify_batch([t for t, _ in candidates], answers, ctx.executor) if candidates else []
            accepted = 0
            for (task, _), verdict in zip(candidates, verdicts, strict=True):
                if ctx.skills.heldout_problem(task):
                    out.rejected.append(f"{task.id}: a held-out problem")
                elif (task.skill, task.difficulty, task.reference.strip()) in banned:
                    out.rejected.append(f"{task.id}: the answer of a held-out problem of its level (a rewording?)")
                elif not verdict.correct:
                    out.rejected.append(f"{task.id}: reference fails the verifier ({verdict.details or verdict.status})"[:200])
                else:
                    out.tasks.append(task)
                    accepted += 1
            out.leftover += group[accepted:]  # the generator makes up for what the LLM did not deliver
        return out


STRATEGIES.register("llm", LLMCurriculum)
