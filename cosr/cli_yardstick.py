"""`cosr heldout export` and `cosr audit`: the held-out splits for anyone to see and reuse, and the proof
that none of their problems reached training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from cosr.cli_common import ConfigOpt, console, fail
from cosr.config import ConfigError, load_config
from cosr.graphs.skills.splits import MAX_PER_SKILL

heldout_app = typer.Typer(no_args_is_help=True, help="The held-out splits: validation (to choose settings), test (to report).")


@heldout_app.command("export")
def export_command(
    out: Annotated[Path, typer.Argument(help="JSONL file to write")],
    split: Annotated[str, typer.Option(help="validation or test")] = "test",
    config: ConfigOpt = None,
    per_skill: Annotated[Optional[int], typer.Option(help="held-out tasks per skill (default: eval.per_skill)")] = None,
) -> None:
    """Write a held-out split, one task a line (id, skill, level, prompt, answer, answer_format, check...):
    the tasks a run is measured on, with what `cosr judge` needs to verify an answer to each."""
    from cosr.agents.evaluator import heldout_tasks
    from cosr.graphs.collaborators import load_skills
    from cosr.graphs.plugins import check_plugin_names

    try:
        cfg = load_config(config, {"eval.split": split, "eval.per_skill": per_skill})
        check_plugin_names(cfg)
        tasks = heldout_tasks(load_skills(cfg), cfg.eval)
    except (ConfigError, ValueError) as e:
        fail(str(e))
    out.write_text("".join(json.dumps(t.to_export()) + "\n" for t in tasks))
    console.print(f"wrote {len(tasks)} {split} tasks to {out}")


def audit_command(
    run_dir: Annotated[Optional[Path], typer.Argument(help="a run directory: everything it trained on or showed a teacher", file_okay=False, exists=True)] = None,
    student: Annotated[Optional[Path], typer.Option(help="an embedded student folder: its replayed pretraining (default, with no RUN_DIR: the embedded student)", file_okay=False, exists=True)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    per_skill: Annotated[int, typer.Option(help="held-out tasks a skill to check, each split (at most; every level 1-5)", min=1)] = MAX_PER_SKILL,
) -> None:
    """Prove the yardstick is clean: no held-out problem (either split, by task identity) in what a student
    was pretrained on or a run trained on. Exit code 1 if a leak is found."""
    from cosr.graphs.audit import AuditError, audit_run, audit_student
    from cosr.graphs.collaborators import ensure_embedded_student

    try:
        if run_dir is not None:
            report = audit_run(run_dir, per_skill)
        else:
            report = audit_student(student or ensure_embedded_student(log=lambda m: console.print(f"[dim]{m}[/]")), per_skill)
    except (AuditError, ConfigError, FileNotFoundError, ValueError) as e:
        fail(str(e))
    if as_json:
        print(json.dumps(report.model_dump() | {"leak_count": len(report.leaks)}, indent=2))
    else:
        what = ", ".join(f"{n} {source}" for source, n in report.sources.items()) or "nothing"
        console.print(f"checked {report.checked} held-out tasks (validation and test, levels {report.levels}, "
                      f"up to {report.per_skill} a skill) against {what}: "
                      + ("[green]no leak[/]" if report.clean else f"[red]{len(report.leaks)} leak(s)[/]"))
        for leak in report.leaks[:20]:
            console.print(f"  {leak.split} {leak.heldout_id} = {leak.source} {leak.training_id}  ({leak.identity[:80]})")
    if not report.clean:
        raise typer.Exit(1)
