"""`cosr tutor`: a person is the Student. Shows each task, reads the answer (or a command) at the
terminal and hands it to the tutoring graph; `--resume` continues a session at the same task."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from cosr.config import ConfigError, load_config
from cosr.faults import RunStopped

COMMANDS = ("hint", "explain", "skip", "skills", "quit")
console = Console(highlight=False, soft_wrap=True)  # long paths and prompts stay on one line


def read_reply(code: bool) -> str | None:
    """One line; for code, lines until a blank line, or a whole ``` fenced block. None at end of input."""
    try:
        first = input("> ")
        if not code or first.strip().lower() in COMMANDS:
            return first.strip()
        lines, fenced = [first], first.strip().startswith("```")
        while True:
            line = input("... ")
            if fenced and line.strip().startswith("```"):
                return "\n".join([*lines, line])
            if not fenced and not line.strip():
                return "\n".join(lines)
            lines.append(line)
    except EOFError:
        return None


def show(turn: dict[str, Any]) -> None:
    for key in ("feedback", "explanation"):
        if turn.get(key):
            console.print(turn[key])
    task = turn["task"]
    if turn["tries"] == 0 and not turn["hints"]:
        console.print(f"\n--- task {turn['tasks_done'] + 1}: {task['skill']}, level {task['level']} ({task['id']})")
        console.print(f"    the curator: {turn['curator_note']}")
    elif turn["hints"]:
        console.print(f"Hint {len(turn['hints'])}: {turn['hints'][-1]}")
    console.print(task["prompt"])
    if task["answer_format"] == "code":
        console.print("(write the code; end with a blank line, or put it in a ``` fenced block)")


def mastery_table(mastery: dict[str, Any]) -> Table:
    t = Table(title="your mastery")
    for col in ("skill", "level", "p(success)", "tried", "right"):
        t.add_column(col)
    for name, m in mastery.items():
        t.add_row(name, str(m.level), f"{m.p_mastery:.2f}", str(m.attempts), f"{m.correct:g}")
    return t


def tutor_command(
    resume: Annotated[Optional[str], typer.Option(help="continue the session with this id (or directory)")] = None,
    run_dir: Annotated[Optional[Path], typer.Option(help="where the session's files go (default runs/<id>)")] = None,
    skills: Annotated[Optional[Path], typer.Option(help="a YAML/JSON skill graph (default: built-in)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="seed of the curriculum")] = None,
    tasks: Annotated[Optional[int], typer.Option(help="end the session after this many tasks", min=1)] = None,
    sandbox: Annotated[Optional[str], typer.Option(help="code executor: docker (default) or unsafe-process")] = None,
) -> None:
    """Be the student: the Curator picks tasks for you, the Verifier checks your answers, hints come back."""
    from cosr.graphs.plugins import check_plugin_names
    from cosr.graphs.session import TutorSession

    try:
        cfg = load_config(None, {"run_dir": run_dir, "skills": skills, "seed": seed, "max_steps": tasks,
                                 "sandbox.executor": sandbox})
        check_plugin_names(cfg)
        session = TutorSession(cfg, resume=resume)
    except RunStopped as e:  # the disk full before the session began
        console.print(f"stopped: {e}")
        raise typer.Exit(e.exit_code) from None
    except (ConfigError, FileNotFoundError, ValueError, RuntimeError) as e:
        console.print(f"error: {e}")
        raise typer.Exit(2) from None
    again = f"cosr tutor --resume {session.run_dir}"
    try:
        converse(session, resume, again)
    except RunStopped as e:  # a full disk, the sandbox's engine gone: nothing stored is lost
        console.print(f"\nstopped: {e}\nNothing you answered before is lost; once that is fixed, continue with\n  {again}")
        raise typer.Exit(e.exit_code) from None


def converse(session, resume: str | None, again: str) -> None:
    """The session's turns until it ends or the person quits."""
    with session:
        console.print(f"session {session.session_id} ({'resumed' if resume else 'new'}); files in {session.run_dir}")
        console.print("answer, or type: hint, explain, skip, skills, quit")
        turn = session.advance()
        while turn is not None:
            show(turn)
            while True:
                text = read_reply(turn["task"]["answer_format"] == "code")
                if text is None or text.lower() == "quit":
                    console.print(f"paused. continue with: {again}")
                    return
                if text.lower() == "skills":
                    console.print(mastery_table(session.state().get("mastery", {})))
                    continue
                if text:
                    break
            reply = {"command": text.lower()} if text.lower() in COMMANDS else {"text": text}
            turn = session.advance(reply)
        state = session.state()
        console.print(state.get("feedback", ""))
        console.print(f"session over: {state.get('tasks_done', 0)} tasks. files in {session.run_dir}")
