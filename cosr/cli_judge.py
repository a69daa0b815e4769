"""`cosr judge`: raw outputs judged by the Answer-Adapter and Verifier self-play uses, for debugging one's skills."""

from __future__ import annotations

import json
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from pydantic import BaseModel, ValidationError

from cosr.config import ConfigError, load_config
from cosr.domain import Task, VerdictStatus, VerifierKind
from cosr.sandbox.types import Executor

FIELDS = ("task", "answer")


class Judgement(BaseModel):
    id: str
    skill: str
    correct: bool
    status: VerdictStatus
    answer: str | None  # what the Answer-Adapter extracted from the raw output
    read_from: str  # where in the output it was found (or why nothing was)
    note: str  # the verifier's reason


class BadInput(ValueError):
    """Lines that are not `{"task": ..., "answer": ...}`, each named by its number."""


def _task_errors(e: ValidationError) -> str:
    return "; ".join(f"task.{'.'.join(map(str, err['loc']))}: "
                     + ("unknown field" if err["type"] == "extra_forbidden" else err["msg"]) for err in e.errors())


def _line(number: int, text: str) -> tuple[Task, str]:
    try:
        item: Any = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"line {number}: not JSON ({e.msg}, column {e.colno})") from None
    if not isinstance(item, dict):
        raise BadInput(f"line {number}: expected an object {{\"task\": ..., \"answer\": ...}}")
    if unknown := sorted(set(item) - set(FIELDS)):
        raise BadInput(f"line {number}: unknown field {', '.join(map(repr, unknown))} (the fields are task, answer)")
    if missing := [f for f in FIELDS if f not in item]:
        raise BadInput(f"line {number}: missing {', '.join(map(repr, missing))}")
    if not isinstance(item["answer"], str):
        raise BadInput(f"line {number}: 'answer' must be a string (the student's raw output)")
    if not isinstance(item["task"], dict):
        raise BadInput(f"line {number}: 'task' must be an object (a line of the export)")
    try:
        return Task.from_export(item["task"]), item["answer"]
    except ValidationError as e:
        raise BadInput(f"line {number}: {_task_errors(e)}") from None


def read_judge_file(path: Path) -> list[tuple[Task, str]]:
    """Every (task, raw output) of the file; BadInput naming each bad line. Blank lines are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    pairs, errors = [], []
    for number, text in enumerate(lines, start=1):
        if text.strip():
            try:
                pairs.append(_line(number, text))
            except BadInput as e:
                errors.append(str(e))
    if errors:
        raise BadInput("\n".join(errors))
    if not pairs:
        raise BadInput(f"{path}: no lines to judge")
    return pairs


def judge(pairs: list[tuple[Task, str]], executor: Executor | None) -> list[Judgement]:
    """Adapt each raw output and verify the batch, exactly as the self-play graph's two nodes do."""
    from cosr.agents.answer_adapter import extract_answer
    from cosr.agents.verifiers import verify_batch

    tasks = [t for t, _ in pairs]
    extracted = [extract_answer(raw, t.answer_format) for t, raw in pairs]
    verdicts = verify_batch(tasks, [e.answer for e in extracted], executor, notes=[e.note for e in extracted])
    return [Judgement(id=t.id, skill=t.skill, correct=v.correct, status=v.status, answer=e.answer, read_from=e.note,
                      note=v.details) for t, e, v in zip(tasks, extracted, verdicts, strict=True)]


def judge_command(
    file: Annotated[Path, typer.Argument(help='JSONL: one {"task": <a line of the export>, "answer": "<raw output>"} '
                                              "a line", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list of verdicts instead of lines")] = False,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="a TOML RunConfig file (its sandbox "
                                                   "section is used)", exists=True, dir_okay=False)] = None,
    sandbox: Annotated[Optional[str], typer.Option(help="code executor: docker (default) or unsafe-process")] = None,
) -> None:
    """Judge raw student outputs to tasks as self-play would: the answer read, right or wrong, and why.

    Exit 0: every answer correct; 1: some answer judged wrong; 2: unusable input (each bad line named) or no sandbox."""
    from cosr.graphs.plugins import check_plugin_names
    from cosr.sandbox import SandboxUnavailable, make_executor

    try:
        pairs = read_judge_file(file)
        cfg = load_config(config, {"sandbox.executor": sandbox})
        check_plugin_names(cfg)
    except (BadInput, ConfigError) as e:
        typer.echo("\n".join(f"error: {line}" for line in str(e).splitlines()), err=True)
        raise typer.Exit(2) from None
    with ExitStack() as stack:
        executor = None
        if any(t.verifier == VerifierKind.CODE for t, _ in pairs):  # math alone needs no engine
            try:
                executor = stack.enter_context(closing(make_executor(cfg.sandbox)))
            except SandboxUnavailable as e:
                typer.echo(f"error: the sandbox is unavailable for the code tasks: {e}", err=True)
                raise typer.Exit(2) from None
        judgements = judge(pairs, executor)
    if as_json:
        typer.echo(json.dumps([j.model_dump() for j in judgements], indent=2))
    else:
        for j in judgements:
            verdict = "correct" if j.correct else f"WRONG ({j.status})"
            answer = repr(j.answer) if j.answer is None or len(j.answer) <= 60 else repr(j.answer[:60]) + "..."
            typer.echo(f"{j.id}: {verdict}; answer {answer} ({j.read_from}); {' '.join(j.note.split())}")
        typer.echo(f"{sum(j.correct for j in judgements)}/{len(judgements)} correct")
    raise typer.Exit(0 if all(j.correct for j in judgements) else 1)
