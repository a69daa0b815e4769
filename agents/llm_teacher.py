"""An LLM teacher (any OpenAI-compatible server, [curator.llm]) explains a task the student failed,
TeacherLM-style: the fundamentals, a chain of thought, the common mistakes and a hint. Each part is a
candidate hint for the help ladder's first rung, and the RLT reward picks the one the student learns
most from (agents/teacher.py); the explanation is stored with the run (`cosr` keeps what a teacher wrote).

The LLM is never trusted with an answer here: a hint only helps the student write one, and the
Verifier judges what it writes. An unusable reply is skipped: help goes on with the skill's own hints.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from cosr.config import CuratorLLMConfig
from cosr.domain import Task

PARTS = ("hint", "fundamentals", "chain_of_thought", "common_mistakes")


def configured(llm: CuratorLLMConfig) -> bool:
    return bool(llm.base_url and llm.model)


def chat(llm: CuratorLLMConfig, prompt: str, seed: int) -> str:
    """One reply of the configured LLM to `prompt`."""
    import openai

    client = openai.OpenAI(base_url=llm.base_url, api_key=os.environ.get(llm.api_key_env, "EMPTY"),
                           timeout=llm.request_timeout_s, max_retries=1)
    r = client.chat.completions.create(model=llm.model, temperature=llm.temperature, seed=seed,
                                       messages=[{"role": "user", "content": prompt}])
    return r.choices[0].message.content or ""


def parse_json(text: str) -> Any:
    """The first JSON object in a reply (models wrap JSON in prose or fences)."""
    m = re.search(r"\{.*\}", text, re.DOTALL)
    if not m:
        raise ValueError("no JSON object in the reply")
    return json.loads(m.group(0))


def explain(llm: CuratorLLMConfig, task: Task, wrong: str | None) -> dict[str, str] | None:
    """The LLM's explanation of `task` for a student who answered `wrong`; None for an unusable reply."""
    prompt = (f"A student got this problem wrong.\nProblem: {task.prompt}\nCorrect answer: {task.reference}\n"
              f"The student's answer: {wrong}\nExplain it so the student can solve it next time, without giving the "
              'answer away. Reply with JSON only: {"fundamentals": "...", "chain_of_thought": "...", '
              '"common_mistakes": "...", "hint": "..."}')
    import openai

    try:
        body = parse_json(chat(llm, prompt, task.seed))
    except (ValueError, openai.APIError):  # optional help: the skill's own hints remain, and the log counts it
        return None
    if not isinstance(body, dict):
        return None
    return {k: str(body.get(k, "")).strip() for k in PARTS}


def hint_candidates(ctx, tasks: list[tuple[Task, str | None]], step: int) -> dict[str, list[str]]:
    """Candidate hints from the LLM for failed tasks (with a wrong answer each), while the run's
    explanation budget lasts; every explanation written is stored. Task id -> its non-empty parts."""
    llm = ctx.config.curator.llm
    budget = llm.explanation_budget - len(ctx.store.explanations(ctx.run_id))
    out: dict[str, list[str]] = {}
    for task, wrong in tasks[:max(0, budget)]:
        body = explain(llm, task, wrong)
        if body is None:
            continue
        ctx.store.record_explanation(ctx.run_id, task.id, step, f"openai:{llm.model}", body)
        out[task.id] = [body[k] for k in PARTS if body[k] and task.reference.strip() not in body[k]]
    return out
