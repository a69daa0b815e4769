"""Graded help (agents/teacher.py): the ladder, its fading, how a helped answer is trained, the RLT choice."""

from __future__ import annotations

import itertools
import json
import random
import re
from types import SimpleNamespace

import pytest
from langgraph.runtime import Runtime

from cosr.agents.curriculum import make_strategy
from cosr.agents.teacher import cut, hint_candidates, hinted_prompt, ladder, teach, top_rung, worked_body
from cosr.agents.trainer import training_examples
from cosr.domain import Attempt, Help, Mastery, Provenance, Trajectory, Verdict
from cosr.graphs.context import Context
from cosr.graphs.skills import SkillGraph
from cosr.store import TrajectoryStore
from cosr.training.backends import render_prompt


def test_help_fades_as_success_rises():
    tops = [top_rung(p / 20, 3, 0.8) for p in range(21)]
    assert tops[0] == 3  # a level the student never solves may climb the whole ladder
    assert all(a >= b for a, b in itertools.pairwise(tops))  # never more help for more success
    assert tops[8] < 3 and tops[16:] == [0] * 5  # less help by the middle; none from fade_at on
    assert top_rung(0.0, 0, 0.8) == 0


def test_prefixes_end_at_a_word_or_a_line_and_never_state_the_answer():
    skills = SkillGraph.builtin()
    task = skills.make_task("chain_sum", 3, 11)
    body = worked_body(skills, task)
    assert body and "So the answer" not in body and skills.worked_answer(task).startswith(body)
    third, two_thirds = cut(body, 0.34), cut(body, 0.67)
    assert body.startswith(third) and body.startswith(two_thirds) and len(third) < len(two_thirds) < len(body)
    assert body[len(two_thirds)] == " "  # cut at a word's end
    program = "def f(x):\n    y = x + 1\n    return y\n"
    assert cut(program, 0.5) == "def f(x):\n    y = x + 1\n"
    assert worked_body(skills, skills.make_task("addition", 1, 3)) is not None


@pytest.fixture
def ctx(tiny_run_config, tmp_path) -> Context:
    skills = SkillGraph.from_file(tiny_run_config.skills)
    student = SimpleNamespace(id="fake", adapter_version=None, continues_answers=True)
    tiny_run_config.curator.help.enabled = True  # off by default (docs/teaching.md)
    return Context(config=tiny_run_config, run_id="r", run_dir=tmp_path, skills=skills,
                   store=TrajectoryStore(tmp_path / "s.sqlite"), student=student,
                   strategy=make_strategy("zpd", tiny_run_config.curator))


def test_the_ladder_climbs_only_as_far_as_each_task_needs(ctx, tiny_run_config):
    """A student that is right only when the help starts the answer with the task's first worked step: the
    tasks climb to that rung and stop; tasks at a level the student solves get no help at all."""
    skills = ctx.skills
    skill = next(s.name for s in skills.skills() if any(worked_body(skills, skills.make_task(s.name, 3, i)) and
                                                        cut(worked_body(skills, skills.make_task(s.name, 3, i)), 0.34)
                                                        for i in range(5)))
    tasks = [skills.make_task(skill, 3, seed) for seed in range(6)]
    tasks = [t.with_provenance(Provenance(strategy="zpd")) for t in tasks if ladder(ctx, t, ctx.config.curator.help, 9)][:3]
    calls = []

    def generate(prompts, *, temperature, max_new_tokens, starts=None):
        calls.append(list(starts))
        by_prompt = {t.prompt: t for t in tasks}
        out = []
        for p, s in zip(prompts, starts, strict=True):
            t = by_prompt[p]
            right = len(s) > len(" " + cut(worked_body(skills, t), 0.34))  # the second rung or higher
            out.append(SimpleNamespace(text=". So the answer is " + (t.reference if right else "-1"), duration_s=0.0,
                                       completion_tokens=3))
        return out

    ctx.student.generate = generate
    state = {"batch": tasks, "attempts": [Attempt(task_id=t.id, student_id="fake", raw_output="0") for t in tasks],
             "verdicts": [Verdict(correct=False, score=0.0, status="wrong") for _ in tasks],
             "mastery": {skill: Mastery(skill=skill)}}
    out = teach(state, Runtime(context=ctx))
    assert out["help_log"]["failed"] == len(tasks) and out["help_log"]["solved_at"] == {"1": 0, "2": len(tasks)}
    assert len(calls) == 2 and all(s for s in calls[0])  # two passes: each task's first rung, then its second
    helped = [a for a, v in zip(out["help_attempts"], out["help_verdicts"], strict=True) if v.correct]
    assert {a.task_id for a in helped} == {t.id for t in tasks} and all(a.help.rung == 2 for a in helped)
    plain = [t.with_provenance(Provenance(strategy="random")) for t in tasks]  # a baseline strategy: no help
    assert teach({**state, "batch": plain, "attempts": [a.model_copy(update={"task_id": t.id}) for a, t in
                                                        zip(state["attempts"], plain, strict=True)]},
                 Runtime(context=ctx))["help_log"]["failed"] == 0
    mastered = Mastery(skill=skill, ability=9.0, by_level={3: (40.0, 40.0)})
    assert teach({**state, "mastery": {skill: mastered}}, Runtime(context=ctx))["help_log"]["failed"] == 0


@pytest.mark.parametrize("form", ["hinted", "bare"])
def test_a_helped_answer_is_trained_the_way_the_config_says(ctx, form):
    ctx.config.curator.help.form = form
    ctx.config.training.rehearsal_ratio = 0.0
    task = ctx.skills.make_task(ctx.skills.names()[0], 2, 5)
    help_ = Help(rung=2, hint="Add the ones first.", prefix=" 3 + 4 =")
    attempt = Attempt(task_id=task.id, student_id="fake", raw_output=" 7. So the answer is 7", help=help_)
    ctx.store.add_trajectories([Trajectory(id="t:help2", run_id="r", round=1, step=1, task=task, attempt=attempt,
                                           verdict=Verdict(correct=True, score=1.0, status="correct"))])
    (example, _), = training_examples(ctx, 1)
    render = ctx.config.student
    if form == "hinted":  # the help stays in the prompt; only the student's own words are the answer
        assert example.prompt == render_prompt(render, hinted_prompt(task, help_.hint)) + " 3 + 4 ="
        assert example.completion == " 7. So the answer is 7"
    else:  # the bare task, answered with the teacher's start and the student's rest
        assert example.prompt == render_prompt(render, task.prompt)
        assert example.completion == " 3 + 4 = 7. So the answer is 7"


def test_the_rlt_reward_picks_the_hint_the_loop_shows(hint_reader, tmp_path, tiny_run_config):
    """A student that learned to read a worked step: the RLT reward ranks the step above an unrelated hint,
    and the ladder's hint rung shows the one it ranked first."""
    from cosr.agents import teacher

    skills = SkillGraph.builtin()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tokenizer = AutoModelForCausalLM.from_pretrained(hint_reader).eval(), AutoTokenizer.from_pretrained(hint_reader)
    ctx = Context(config=tiny_run_config, run_id="r", run_dir=tmp_path, skills=skills,
                  store=TrajectoryStore(tmp_path / "s.sqlite"),
                  student=SimpleNamespace(model=model, tokenizer=tokenizer), strategy=None)
    ctx.config.student.prompt_template = "{prompt}\nAnswer:"
    rng, wins = random.Random(4), 0
    for _ in range(5):
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        task = skills.make_task("addition", 2, rng.randrange(10**6)).model_copy(
            update={"prompt": f"What is {a} + {b}?", "reference": str(a + b)})
        chosen, rewards = teacher.choose_hint(ctx, task, ["The sky is blue.", f"{a} + {b} = {a + b}"])
        wins += chosen == f"{a} + {b} = {a + b}" and rewards[1] > rewards[0]
    assert wins == 5
    ctx.config.curator.help.hint = True
    task = skills.make_task("addition", 2, 3)
    first = ladder(ctx, task, ctx.config.curator.help, 9)[0]
    assert first.rung == 1 and first.hint in hint_candidates(skills, task) and not first.prefix


def explaining_llm(model: str, prompt: str) -> str:
    answer = re.search(r"Correct answer: (\S+)", prompt).group(1)
    return json.dumps({"fundamentals": "place value", "chain_of_thought": "add the ones, carry, add the tens",
                       "common_mistakes": "forgetting the carry", "hint": f"it is {answer}"})


def test_an_llm_teacher_writes_candidate_hints_within_its_budget(ctx):
    """Its explanations are stored, their parts become the hint rung's candidates, a part that gives the
    answer away is dropped, and the budget holds across steps."""
    from cosr.agents.llm_teacher import hint_candidates as llm_hints
    from tests.support.openai_server import ScriptedOpenAIServer

    with ScriptedOpenAIServer(explaining_llm) as server:
        ctx.config.curator.llm = ctx.config.curator.llm.model_copy(
            update={"base_url": server.base_url, "model": "teacher", "explanation_budget": 2})
        tasks = [ctx.skills.make_task(ctx.skills.names()[0], 2, 100 + i) for i in range(3)]
        written = llm_hints(ctx, [(t, "1") for t in tasks], 3)
        assert len(written) == 2 and len(ctx.store.explanations("r")) == 2
        assert all(w == ["place value", "add the ones, carry, add the tens", "forgetting the carry"] for w in written.values())
        assert llm_hints(ctx, [(t, "1") for t in tasks], 4) == {}  # the budget is spent
        ctx.config.curator.help.hint = True
        first = ladder(ctx, tasks[0], ctx.config.curator.help, 9, written[tasks[0].id])
        assert first[0].hint in [*hint_candidates(ctx.skills, tasks[0]), *written[tasks[0].id]]
