"""The `cosr` command: parses flags, builds the one RunConfig, calls into the library, prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from cosr.cli_common import ConfigOpt, console, fail
from cosr.cli_compare import compare_command
from cosr.cli_judge import judge_command
from cosr.cli_sandbox import sandbox_app, verify_command
from cosr.cli_tutor import tutor_command
from cosr.cli_ui import ui_command
from cosr.cli_yardstick import audit_command, heldout_app
from cosr.config import ConfigError, RunConfig, load_config
from cosr.display import heldout_table, run_view
from cosr.domain import accuracy
from cosr.faults import RunStopped
from cosr.graphs.skills import SkillGraph, SkillGraphError
from cosr.store import run_store
from cosr.training.evaluation import BAND, OPEN
from cosr.training.results import DoneEvent, FrontierReport, HeldoutReport, write_heldout_report

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="cosr: a curator, a student and a deterministic verifier that teach small models to reason.")
student_app = typer.Typer(no_args_is_help=True, help="The embedded default student.")
app.add_typer(student_app, name="student")


def _frontier_curve(fr: FrontierReport) -> str:
    curve = " -> ".join(f"{'before' if r == '0' else 'round ' + r}: {v:.1%}" for r, v in fr.accuracy.items())
    return f"{curve}; gain {fr.gain:+.1%} ± {fr.gain_stderr:.1%} ({fr.gain_stderr_kind} s.e.)"


@app.command()
def selfplay(
    config: ConfigOpt = None,
    rounds: Annotated[Optional[int], typer.Option(help="training rounds (default 3); with --resume, a finished run goes on to this many", min=0)] = None,
    run_dir: Annotated[Optional[Path], typer.Option(help="where the run's files go (default runs/<run-id>)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="seed of the curriculum and sampling")] = None,
    strategy: Annotated[Optional[str], typer.Option(help="curriculum strategy (default zpd)")] = None,
    student_model: Annotated[Optional[str], typer.Option("--student-model", help="HF folder or served model name")] = None,
    resume: Annotated[Optional[str], typer.Option(help="continue the run with this id (or run directory)")] = None,
    split: Annotated[Optional[str], typer.Option(help="held-out split the run is measured on: test (default) or validation (to choose settings)")] = None,
    workers: Annotated[Optional[int], typer.Option(help="student replicas on Ray (default 1: all in this process); with --resume, moves the run", min=1)] = None,
    ray: Annotated[Optional[str], typer.Option("--ray", metavar="ADDRESS", help="join this Ray cluster (HOST:PORT, or auto); default with --workers > 1: a local Ray")] = None,
) -> None:
    """Run batch self-play: curate, attempt, verify, record, and LoRA-train the student in rounds."""
    from cosr.graphs.plugins import check_plugin_names
    from cosr.graphs.session import SelfPlayRun

    try:
        cfg = load_config(config, {"run_dir": run_dir, "seed": seed, "curator.strategy": strategy,
                                   "student.model": student_model, "eval.split": split, "workers": workers,
                                   "ray_address": ray})
        check_plugin_names(cfg)
        run = SelfPlayRun(cfg, resume=resume, rounds=rounds, log=lambda m: console.print(f"[dim]{m}[/]"),
                          placement={"workers": workers, "ray_address": ray})
    except (ConfigError, FileNotFoundError, ValueError) as e:
        fail(str(e))
    except RunStopped as e:  # the engine, the student's server or the disk, before the run began
        fail(str(e), e.exit_code)
    with run:
        summary = None
        resume_with = f"  cosr selfplay --resume {run.run_id}" + (f" --run-dir {run.run_dir}" if run_dir else "")
        try:
            with run_view(console, run.run_id, run.cfg) as view:
                for ev in run.events():
                    view.handle(ev)
                    if isinstance(ev, DoneEvent):
                        summary = ev.summary
        except KeyboardInterrupt:
            console.print(f"\n[yellow]interrupted.[/] Nothing verified is lost; continue with\n{resume_with}")
            raise typer.Exit(130) from None
        except RunStopped as e:  # the engine, the student's server or the disk: what, how to fix, how to go on
            console.print(f"\n[red]stopped:[/] {e}\nNothing verified is lost; once that is fixed, continue with\n"
                          f"{resume_with}")
            raise typer.Exit(e.exit_code) from None
    assert summary is not None
    console.print(heldout_table(summary.heldout_accuracy))
    overall = summary.heldout_overall
    console.print("all skills: " + " -> ".join(f"{'before' if r == '0' else 'round ' + r}: {v:.1%}" for r, v in sorted(overall.items(), key=lambda kv: int(kv[0]))))
    if (fr := summary.frontier) and fr.pairs:
        console.print(f"frontier (the levels this run practised: {', '.join(fr.pairs)}; {fr.heldout_tasks} "
                      f"held-out tasks): {_frontier_curve(fr)}")
    if (fr := summary.frontier_band) and fr.pairs:
        console.print(f"all {len(fr.pairs)} levels the student was {BAND[0]:.0%}-{BAND[1]:.0%} on before the run ({fr.heldout_tasks} "
                      f"held-out tasks): {_frontier_curve(fr)}")
        for part, what in ((summary.frontier_band_open, f"open levels (a held-out task is a new problem; {OPEN}+ distinct tasks)"),
                           (summary.frontier_band_small, "small levels (a held-out task is a fact training never shows)")):
            if part and part.pairs:
                console.print(f"  of which {len(part.pairs)} {what}: {_frontier_curve(part)}")
    console.print(f"{summary.rounds_completed} rounds, {summary.tasks} tasks ({summary.tasks_solved} solved), "
                  f"{summary.attempts} attempts, {summary.verified_trajectories} verified trajectories, "
                  f"{summary.last_session.tasks_per_second} tasks/s through the graph")
    audit = summary.audit
    student = audit.student if isinstance(audit.student, str) else f"the student's pretraining: {audit.student.leaks} leaks"
    console.print(f"measured on the {summary.split} split; audit: {audit.leaks} of its {audit.checked} held-out "
                  f"tasks (both splits) among what the run trained on; {student}")
    console.print(f"run files: [bold]{summary.run_dir}[/] (summary.json, store.sqlite, checkpoints.sqlite, adapters/)")


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="a run directory", exists=True, file_okay=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file to write")] = Path("trajectories.jsonl"),
    all_: Annotated[bool, typer.Option("--all", help="every trajectory, not only verified ones")] = False,
    merged: Annotated[Optional[Path], typer.Option(help="instead: write the student with the run's last adapter merged in, to this folder")] = None,
) -> None:
    """Export a run's verified trajectories (task, attempt, verdict) as JSON lines, or its merged student."""
    if merged is not None:
        from cosr.graphs.collaborators import merged_student

        try:
            console.print(f"merged student written to {merged_student(run_dir, merged)}")
        except (FileNotFoundError, ValueError) as e:
            fail(str(e))
        return
    if not (run_dir / "config.json").exists():
        fail(f"{run_dir} has no config.json (not a run directory?)")
    cfg = RunConfig.stored((run_dir / "config.json").read_text())
    try:  # the run's own store: its folder's store.sqlite, or the shared database its config names
        store = run_store(run_dir, cfg.database_url, readonly=True)
    except FileNotFoundError as e:
        fail(str(e))
    n = store.export_jsonl(out, cfg.run_id, verified_only=not all_)
    console.print(f"wrote {n} trajectories to {out}")


@app.command("eval")
def eval_command(
    config: ConfigOpt = None,
    student_model: Annotated[Optional[str], typer.Option("--student-model", help="HF folder (default: embedded)")] = None,
    adapter: Annotated[Optional[Path], typer.Option(help="a LoRA adapter folder to evaluate on top", exists=True)] = None,
    per_skill: Annotated[Optional[int], typer.Option(help="held-out tasks per skill")] = None,
    split: Annotated[Optional[str], typer.Option(help="held-out split: test (default) or validation")] = None,
    k: Annotated[int, typer.Option("-k", help="pass@k: k samples per task (1: greedy)", min=1)] = 1,
    temperature: Annotated[float, typer.Option(help="sampling temperature for k > 1")] = 0.8,
    as_json: Annotated[Optional[Path], typer.Option("--json", help="write the figures to this JSON file")] = None,
) -> None:
    """Held-out accuracy per skill and overall for any student: base, base + adapter, or a merged folder."""
    from cosr.graphs.collaborators import evaluate_heldout
    from cosr.graphs.plugins import check_plugin_names

    try:
        cfg = load_config(config, {"student.model": student_model, "eval.per_skill": per_skill, "eval.split": split})
        check_plugin_names(cfg)
        per = evaluate_heldout(cfg, adapter=adapter, k=k, temperature=temperature if k > 1 else None,
                               log=lambda m: console.print(f"[dim]{m}[/]"))
    except (ConfigError, FileNotFoundError, ValueError) as e:
        fail(str(e))
    label = f"pass@{k}" if k > 1 else "accuracy"
    t = Table(title=f"held-out {label}" + (f" with adapter {adapter}" if adapter else ""))
    t.add_column("skill")
    t.add_column(label, justify="right")
    t.add_column("solved / tasks", justify="right")
    for skill, (c, n) in sorted(per.items()):
        t.add_row(skill, f"{accuracy(c, n):.1%}", f"{c}/{n}")
    solved, total = sum(c for c, _ in per.values()), sum(n for _, n in per.values())
    t.add_row("[bold]overall[/]", f"[bold]{accuracy(solved, total):.1%}[/]", f"{solved}/{total}")
    console.print(t)
    if as_json:
        write_heldout_report(as_json, HeldoutReport(
            metric=label, adapter=str(adapter) if adapter else None, split=cfg.eval.split,
            student=cfg.student.model or "embedded", overall=accuracy(solved, total),
            per_skill={s: {"solved": c, "tasks": n} for s, (c, n) in per.items()}))


@app.command()
def skills(
    graph: Annotated[Optional[Path], typer.Option(help="a YAML/JSON skill graph (default: built-in)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the graph as JSON")] = False,
) -> None:
    """List the skills of the knowledge graph with their prerequisites; validates a graph file."""
    try:
        g = SkillGraph.from_file(graph) if graph else SkillGraph.builtin()
    except SkillGraphError as e:
        fail(str(e))
    if as_json:
        print(json.dumps(g.to_dict(), indent=2))
        return
    t = Table(title=f"{len(g)} skills")
    for col in ("skill", "domain", "levels", "prerequisites", "description"):
        t.add_column(col)
    for s in g.skills():
        t.add_row(s.name, s.domain.value, str(s.levels), ", ".join(s.prerequisites), s.description)
    console.print(t)


@student_app.command("build")
def student_build(force: Annotated[bool, typer.Option(help="rebuild even if cached")] = False) -> None:
    """Build (pretrain) the embedded default student, or say where the cached one is."""
    from cosr.graphs.collaborators import ensure_embedded_student

    path = ensure_embedded_student(log=lambda m: console.print(f"[dim]{m}[/]"), force=force)
    console.print(f"embedded student: {path}")


app.add_typer(sandbox_app, name="sandbox")
app.command("verify")(verify_command)
app.command("compare")(compare_command)
app.command("judge")(judge_command)
app.command("tutor")(tutor_command)
app.command("ui")(ui_command)
app.add_typer(heldout_app, name="heldout")
app.command("audit")(audit_command)


if __name__ == "__main__":
    app()
