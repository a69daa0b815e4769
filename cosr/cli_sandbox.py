"""`cosr sandbox ...` and `cosr verify`: build, check, run in, benchmark, and verify with the sandbox.

Thin: each command loads the one RunConfig, calls into `cosr.sandbox`, and prints with rich
(or JSON with --json). Exit codes: 0 success, 1 a verdict or check failed, 2 the sandbox
cannot be used (with what to do about it).
"""

from __future__ import annotations

import json as jsonlib
from contextlib import closing
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cosr.config import ConfigError, SandboxConfig, load_config

sandbox_app = typer.Typer(no_args_is_help=True, help="The hardened Docker sandbox that runs student code.")
console = Console()

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="a TOML RunConfig file (its sandbox section is used)", exists=True, dir_okay=False)]
SandboxOpt = Annotated[
    Optional[str],
    typer.Option("--sandbox", help="executor: docker (default) or unsafe-process (UNSAFE: trusted code only, no isolation)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _cfg(config: Path | None, executor: str | None = None) -> SandboxConfig:
    from cosr.graphs.plugins import check_plugin_names

    try:
        cfg = load_config(config, {"sandbox.executor": executor})
        check_plugin_names(cfg)
        return cfg.sandbox
    except ConfigError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None


def _unavailable(e: Exception) -> None:
    console.print(f"[red]sandbox unavailable:[/] {e}")
    raise typer.Exit(2)


@sandbox_app.command()
def build(
    config: ConfigOpt = None,
    force: Annotated[bool, typer.Option(help="re-import even if the tagged image exists with this runner")] = False,
) -> None:
    """Build the sandbox image offline (debootstrap + docker import); does nothing if the tag exists with this runner."""
    from cosr.sandbox.image import build_image
    from cosr.sandbox.types import SandboxUnavailable

    cfg = _cfg(config)
    try:
        outcome = build_image(cfg.image, log=lambda m: console.print(f"[dim]{m}[/]"), force=force)
    except SandboxUnavailable as e:
        _unavailable(e)
    console.print(f"[green]{cfg.image}[/] {outcome}")


@sandbox_app.command()
def check(config: ConfigOpt = None, json: JsonOpt = False) -> None:
    """Say whether the engine is installed, running, and has the image; and how to fix what is missing."""
    from cosr.sandbox.engine import check_engine

    cfg = _cfg(config)
    status = check_engine(cfg.image)
    if json:
        print(jsonlib.dumps(status.model_dump() | {"ok": status.ok}, indent=2))
    else:
        mark = lambda ok: "[green]yes[/]" if ok else "[red]no[/]"  # noqa: E731
        console.print(f"engine installed: {mark(status.installed)}")
        console.print(f"engine running:   {mark(status.running)}" + (f" (server {status.server_version})" if status.server_version else ""))
        console.print(f"image {cfg.image}: {mark(status.image_present)}")
        if status.problem:
            console.print(f"[red]{status.problem}[/]\n  fix: {status.fix}")
        else:
            console.print("[green]the sandbox is ready[/]")
    raise typer.Exit(0 if status.ok else 1)


@sandbox_app.command()
def run(
    file: Annotated[Path, typer.Argument(help="a Python file to run in the sandbox", exists=True, dir_okay=False)],
    config: ConfigOpt = None,
    sandbox: SandboxOpt = None,
    timeout: Annotated[Optional[float], typer.Option(help="wall-clock limit in seconds (default: the config's)")] = None,
    stdin: Annotated[Optional[Path], typer.Option(help="a file fed to the program's stdin", exists=True, dir_okay=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Run one Python file in the sandbox and print the typed result."""
    from cosr.sandbox import ExecutionRequest, SandboxUnavailable, make_executor

    cfg = _cfg(config, sandbox).model_copy(update={"pool_size": 1})
    req = ExecutionRequest(code=file.read_text(), stdin=stdin.read_text() if stdin else "", timeout_s=timeout)
    try:
        with closing(make_executor(cfg)) as executor:
            result = executor.run(req)
    except SandboxUnavailable as e:
        _unavailable(e)
    if json:
        print(result.model_dump_json(indent=2))
    else:
        colour = "green" if result.status == "ok" else "red"
        console.print(f"[{colour}]{result.status}[/] exit={result.exit_code} {result.duration_s:.3f}s"
                      + (" [yellow](output truncated)[/]" if result.output_truncated else "")
                      + (f"  {result.error}" if result.error else ""))
        if result.stdout:
            console.rule("stdout")
            console.out(result.stdout, end="" if result.stdout.endswith("\n") else "\n", highlight=False)
        if result.stderr:
            console.rule("stderr")
            console.out(result.stderr, end="" if result.stderr.endswith("\n") else "\n", highlight=False)
    raise typer.Exit(0 if result.status == "ok" else 1)


@sandbox_app.command()
def bench(
    config: ConfigOpt = None,
    seconds: Annotated[float, typer.Option(help="time slice per measured cell", min=0.2)] = 2.5,
    json: JsonOpt = False,
) -> None:
    """Isolated executions/s (trivial program, test-suite task; concurrency 1 and 2) vs bare `python3 -c`."""
    from cosr.sandbox.bench import run_bench
    from cosr.sandbox.types import SandboxUnavailable

    cfg = _cfg(config)
    try:
        report = run_bench(cfg, seconds, log=(lambda m: None) if json else (lambda m: console.print(f"[dim]{m}[/]")))
    except SandboxUnavailable as e:
        _unavailable(e)
    if json:
        print(jsonlib.dumps(report.model_dump() | {"meets_floor": report.meets_floor}, indent=2))
        return
    t = Table(title=f"{report.executor} sandbox ({report.image}) vs bare {report.bare_python} -c, {report.cpus_on_host} CPUs")
    for col in ("workload", "concurrency", "sandbox exec/s", "bare python3 -c /s", "ratio"):
        t.add_column(col, justify="right" if col != "workload" else "left")
    for r in report.rows:
        t.add_row(r.workload, str(r.concurrency), f"{r.sandbox_per_s:.1f}", f"{r.bare_per_s:.1f}", f"{r.ratio:.2f}x")
    console.print(t)
    verdict = "[green]meets[/]" if report.meets_floor else "[red]misses[/]"
    console.print(f"floor (sandbox at least as fast per execution as bare python3 -c): {verdict}")


def verify_command(
    tasks: Annotated[Path, typer.Option("--tasks", help="HumanEval-format tasks (JSONL)", exists=True, dir_okay=False)],
    solutions: Annotated[Optional[Path], typer.Option("--solutions", help="JSONL of {task_id, completion}; default: the canonical solutions", exists=True, dir_okay=False)] = None,
    json: JsonOpt = False,
    config: ConfigOpt = None,
    sandbox: SandboxOpt = None,
    timeout: Annotated[Optional[float], typer.Option(help="wall-clock limit per solution in seconds")] = None,
) -> None:
    """Check solutions against HumanEval-format tasks in the sandbox; pass/fail per task and a summary."""
    from cosr.sandbox import SandboxUnavailable, make_executor
    from cosr.sandbox.humaneval import TaskFileError, canonical_solutions, load_solutions, load_tasks, verify

    cfg = _cfg(config, sandbox)
    try:
        task_list = load_tasks(tasks)
        sols = load_solutions(solutions) if solutions else canonical_solutions(task_list)
        with closing(make_executor(cfg)) as executor:
            verdicts = verify(executor, task_list, sols, timeout)
    except TaskFileError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    except SandboxUnavailable as e:
        _unavailable(e)
    passed = sum(v.passed for v in verdicts)
    if json:
        print(jsonlib.dumps([v.model_dump() for v in verdicts], indent=2))
    else:
        t = Table(title=f"{tasks.name}: {len(verdicts)} solutions")
        for col in ("task", "verdict", "status", "seconds", "why"):
            t.add_column(col)
        for v in verdicts:
            t.add_row(v.task_id, "[green]pass[/]" if v.passed else "[red]FAIL[/]", v.status, f"{v.duration_s:.3f}", v.error[:100])
        console.print(t)
        console.print(f"{passed}/{len(verdicts)} passed ({cfg.executor} executor)")
    raise typer.Exit(0 if passed == len(verdicts) else 1)

