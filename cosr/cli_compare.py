"""`cosr compare`: several curriculum strategies side by side, or a strategy under other settings (`--variant`,
an ablation); prints the leaderboard and the paired differences against the baseline, writes a plot of the
learning curves and compare.json. The runs are graphs/compare.py's; what they mean, training/leaderboard.py's."""

from __future__ import annotations

import json
import re
import time
import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cosr.config import ConfigError, load_config
from cosr.training.leaderboard import CompareSpec, never_reached, results, row, task_outcomes
from cosr.training.leaderboard import milestone_from as chosen_on
from cosr.training.plots import compare_curves
from cosr.training.results import EvaluationEvent, Event
from cosr.training.stats import NOISE

console = Console()
if not console.is_terminal:  # a log file or pipe: wide enough for the leaderboard
    console = Console(width=140)


def _pm(pair: tuple[float, float] | None, pct: bool = True) -> str:
    if pair is None:
        return "never"
    m, sd = pair
    return f"{m:.1%} ± {sd:.1%}" if pct else f"{m:.0f} ± {sd:.0f}"


NO_TASKS = "no tasks"  # an estimate of None: no frontier level, or stores without per-task outcomes (an older cosr)


def _gain(est: dict | None) -> str:
    """A gain in points, ± its standard error over distinct tasks and seeds."""
    return NO_TASKS if est is None else f"{est['mean']:+.1%} ± {est['se']:.1%}"


def _over(est: dict) -> str:
    """What a standard error is over; one seed said outright, as it leaves the seed spread out."""
    seeds = "1 seed: no seed spread" if est["seeds"] == 1 else f"{est['seeds']} seeds"
    return seeds if est["tasks"] is None else f"{est['tasks']} tasks, {seeds}"


def _tasks(a: dict) -> str:
    """Mean ± sd over every seed; ">=" where a seed never reached it and counts as the budget plus a round."""
    m, sd = a["tasks_to_milestone_all"]
    return f"{'' if a['reached'] == a['seeds'] else '>= '}{m:.0f} ± {sd:.0f}"


def leaderboard(agg: list[dict], spec: CompareSpec, target: float, never: int) -> Table:
    goal = f"+{spec.milestone:.1%} ({target:.1%})" if spec.milestone_gain else f"{target:.0%}"
    over = {name: _over(agg[0][key]) if agg[0][key] else NO_TASKS
            for name, key in (("frontier", "frontier_gain_estimate"), ("all skills", "learning_gain_estimate"))}
    t = Table(title=f"curricula compared on the {spec.split} split: tasks to {goal} held-out on the frontier levels "
                    f"(baseline in {spec.frontier[0]:.0%}-{spec.frontier[1]:.0%}); mean ± sd over seeds, a seed that "
                    f"never reached it counted as {never} tasks",
              caption="frontier and learning gain: mean ± standard error over distinct held-out tasks and seeds "
                      f"({'; '.join(f'{k}: {v}' for k, v in over.items())}; training/stats.py)")
    split = "frontier_open_gain" in agg[0]
    for col in ("strategy", "seeds", "tasks to milestone", "reached", "frontier acc", "frontier gain",
                *(("open gain", "small gain") if split else ()), "held-out acc", "learning gain",
                "solved / tasks"):
        if col == "strategy":  # a name whole, whatever the width ("learnability" was cut to "learnabil…")
            t.add_column(col, no_wrap=True, min_width=max(len(a["strategy"]) for a in agg))
        else:
            t.add_column(col, justify="right")
    for a in agg:
        parts = (_pm(a["frontier_open_gain"]), _pm(a["frontier_small_gain"])) if split else ()
        t.add_row(a["strategy"], str(a["seeds"]), _tasks(a), f"{a['reached']}/{a['seeds']}",
                  _pm(a["frontier_accuracy"]), _gain(a["frontier_gain_estimate"]), *parts, _pm(a["heldout_accuracy"]),
                  _gain(a["learning_gain_estimate"]), f"{a['verified_correct'][0]:.0f} / {a['verified_tasks'][0]:.0f}")
    return t


MEASURES = (("frontier gain", "frontier_gain", "{:+.2%}"), ("all-skills gain", "learning_gain", "{:+.2%}"),
            ("tasks to milestone", "tasks_to_milestone", "{:+.0f}"))  # (printed, key in `paired`, format)


def _reading(est: dict) -> str:
    """Noise or not; a milestone figure with a seed that never reached it is a difference of bounds, which a
    standard error cannot read (a never-reached seed counts as a fixed number, so the spread is not the noise)."""
    if est.get("bounded_seeds"):
        return f"a bound: {est['bounded_seeds']} of {est['seeds']} seeds never reached the milestone"
    return ("no s.e.: 1 seed: no seed spread" if est["se"] is None else "no difference" if est["mean"] == 0 else
            f"noise (under {NOISE:.0f} s.e.)" if est["noise"] else f"beyond {NOISE:.0f} s.e.")


def paired_table(paired: list[dict]) -> Table:
    """One line per strategy and measure: its difference from the baseline, seed for seed on the same tasks."""
    t = Table(title=f"paired against {paired[0]['baseline']}: the same seeds and held-out tasks; "
                    f"under {NOISE:.0f} standard errors a difference is noise")
    for col in ("strategy", "measure", "difference", "s.e.", "z", "s.e. over", "reading"):
        t.add_column(col, justify="right" if col in ("difference", "s.e.", "z") else "left", no_wrap=col == "strategy")
    for p in paired:
        for measure, key, fmt in MEASURES:
            est = p[key]
            if est is None:
                t.add_row(p["strategy"], measure, "n/a", "", "", NO_TASKS, "")
            else:
                se = "" if est["se"] is None else fmt.format(est["se"]).lstrip("+")
                z = "" if est["z"] is None else f"{est['z']:+.1f}"
                t.add_row(p["strategy"], measure, fmt.format(est["mean"]), se, z, _over(est), _reading(est))
    return t


def per_skill_table(agg: list[dict], before: dict[str, float], frontier: list[str]) -> Table:
    t = Table(title="held-out accuracy per skill at the end (mean over seeds); * = has a frontier level")
    t.add_column("skill")
    t.add_column("before", justify="right")
    for a in agg:
        t.add_column(a["strategy"], justify="right")
    marked = {p.split("@")[0] for p in frontier}
    for skill in sorted(before):
        t.add_row(skill + (" *" if skill in marked else ""), f"{before[skill]:.0%}",
                  *[f"{a['final_accuracy'][skill]:.0%}" for a in agg])
    return t


def parse_milestone(text: str) -> tuple[float, bool]:
    """"0.8": an accuracy to reach; "+0.05": a gain over the baseline. Returns (value, is_gain)."""
    gain = text.strip().startswith("+")
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError(f"milestone must be within 0..1 (or +0..+1 for a gain), got {text}")
    return value, gain


VARIANT = "LABEL=STRATEGY:KEY=VALUE[,KEY=VALUE...]"
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")  # a run folder's name, `{label}-s{seed}`
KEY = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")  # a dotted setting, as in a --config file


def _items(text: str) -> list[str]:
    """`text` split at its commas outside quotes and brackets (a value may be a list: k=[0.3, 0.6])."""
    items, depth, quote, start = [], 0, None, 0
    for i, c in enumerate(text):
        if quote:
            quote = None if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    return [*items, text[start:]]


def _value(text: str) -> Any:
    """A setting's value read as TOML (true, 0.5, "a", [1, 2]), else as JSON, else the text as a string."""
    for parse in (lambda t: tomllib.loads(f"v = {t}")["v"], json.loads):
        try:
            value = parse(text)
        except ValueError:
            continue
        if value is None:
            raise ValueError("null: a variant sets a value, it cannot unset one")
        return value if isinstance(value, (bool, int, float, str, list, dict)) else text  # a TOML date: the text
    return text


def parse_variant(text: str) -> tuple[str, str, dict[str, Any]]:
    """"zpd-rloo=zpd:training.objective=rloo,curator.help.enabled=false" -> (label, strategy, {setting: value})."""
    label, _, rest = (part.strip() for part in text.partition("="))
    strategy, colon, settings = (part.strip() for part in rest.partition(":"))
    if not LABEL.fullmatch(label) or not strategy or not colon or not settings:
        raise ValueError(f"--variant {text!r}: expected {VARIANT} (a label of letters, digits and _.+-), "
                         "e.g. zpd-nohelp=zpd:curator.help.enabled=false")
    overrides: dict[str, Any] = {}
    for item in _items(settings):
        key, eq, value = (part.strip() for part in item.partition("="))
        if not KEY.fullmatch(key) or not eq or not value:
            raise ValueError(f"--variant {label}: {item.strip()!r} is not KEY=VALUE (a dotted setting such as "
                             "curator.help.enabled, then its value)")
        if key in overrides:
            raise ValueError(f"--variant {label}: {key} set twice")
        try:
            overrides[key] = _value(value)
        except ValueError as e:
            raise ValueError(f"--variant {label}: {key}={e}") from None
    return label, strategy, overrides


def parse_variants(texts: list[str], entries: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """--variant options into CompareSpec.variants; each label defined once and listed in --strategies."""
    variants: dict[str, tuple[str, dict[str, Any]]] = {}
    for text in texts:
        label, strategy, overrides = parse_variant(text)
        if label in variants:
            raise ValueError(f"--variant {label} given twice")
        if label not in entries:
            raise ValueError(f"--variant {label} is not in --strategies: list it there to run it")
        variants[label] = (strategy, overrides)
    return variants


def variants_note(spec: CompareSpec) -> str:
    """One line per variant of the compare: its label, strategy and settings."""
    return "\n".join(f"{label} = {strategy} with " + ", ".join(f"{k}={json.dumps(v)}" for k, v in overrides.items())
                     for label, (strategy, overrides) in spec.variants.items())


def compare_command(
    strategies: Annotated[str, typer.Option(help="comma-separated strategy names or --variant labels; the first "
                                                 "is the baseline")] = "random,threshold,zpd",
    variant: Annotated[list[str] | None, typer.Option(help=f"{VARIANT}: a strategy under other settings, run as "
                                                           "LABEL in --strategies (values as in TOML); repeatable, "
                                                           "e.g. zpd-nohelp=zpd:curator.help.enabled=false",
                                                      metavar="VARIANT")] = None,
    seeds: Annotated[int, typer.Option(help="seeds per strategy (FIRST..FIRST+N-1)", min=1)] = 3,
    # Fresh seeds for a second look (e.g. to choose a milestone on runs other than those it is judged on)
    first_seed: Annotated[int, typer.Option(help="the first seed", min=0)] = 0,
    rounds: Annotated[int, typer.Option(help="LoRA rounds per run", min=1)] = 3,
    # 2000 tasks (8000 samples): rounds of a few hundred tasks moved nothing measurable on the embedded student,
    # and nine runs of 3 x 2000 fit in half an hour on two cores (docs/history.md)
    tasks_per_round: Annotated[int, typer.Option(help="tasks per round, the same budget for every run", min=1)] = 2000,
    milestone: Annotated[str | None, typer.Option(help="held-out accuracy to reach on the frontier levels (0.8), or a "
                                                       "gain over their baseline (default +0.015)")] = None,
    # Milestones are chosen on validation runs and judged on test runs (README, "How we measure")
    milestone_from: Annotated[Path | None, typer.Option(help="a validation compare's folder: the milestone is its "
                                                               "baseline's mean frontier gain, rounded down to half a "
                                                               "point", file_okay=False, exists=True)] = None,
    split: Annotated[str | None, typer.Option(help="held-out split the runs are measured on: validation (to choose "
                                                    "settings) or test (to report); default: the config's eval.split, "
                                                    "test")] = None,
    frontier: Annotated[str, typer.Option(help="baseline accuracy band LOW,HIGH that makes a (skill, level) a frontier level")] = "0.1,0.8",
    config: Annotated[Path | None, typer.Option("--config", "-c", help="a TOML RunConfig file (the shared base)",
                                                   exists=True, dir_okay=False)] = None,
    learning_rate: Annotated[float | None, typer.Option(help="the runs' LoRA learning rate (default: the config's "
                                                              "training.learning_rate)")] = None,
    out: Annotated[Path | None, typer.Option(help="compare directory (default runs/compare-<time>); reruns reuse finished runs")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write compare.json here (settings, one row per "
                                                                   "strategy and seed, per strategy, paired)")] = None,
    plot_path: Annotated[Path | None, typer.Option("--plot", help="learning-curve PNG (default OUT/curves.png)")] = None,
    jobs: Annotated[int | None, typer.Option(help="runs at once, each on its share of the CPUs (default: one per "
                                                     "CPU; 1 without --ray: one after the other in this process)",
                                             min=1)] = None,
    ray_address: Annotated[str | None, typer.Option("--ray", help="a Ray cluster's address (HOST:PORT) to run the runs "
                                                                  "on; default: a local Ray instance",
                                                    metavar="ADDRESS")] = None,
) -> None:
    """Run several curriculum strategies side by side from the same student, seeds and task budget, each
    measured on one held-out split: choose settings and the milestone on validation runs (--split validation),
    then report on test runs (the default) with --milestone-from the validation compare. An ablation: a strategy
    beside itself under other settings, `--variant zpd-nohelp=zpd:curator.help.enabled=false --strategies
    zpd,zpd-nohelp`."""
    from cosr.graphs.collaborators import load_skills
    from cosr.graphs.compare import RunFailed, run_all
    from cosr.graphs.plugins import check_plugin_names

    try:
        if milestone is not None and milestone_from is not None:
            raise ValueError("--milestone and --milestone-from both set: give one")
        lo, hi = (float(x) for x in frontier.split(","))
        goal, is_gain = parse_milestone(milestone or "+0.015")
        base = load_config(config, {"training.learning_rate": learning_rate, "eval.split": split})
        check_plugin_names(base)
        names = [s.strip() for s in strategies.split(",") if s.strip()]
        out = out or base.runs_root / ("compare-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S"))
        spec = CompareSpec(strategies=names, seeds=list(range(first_seed, first_seed + seeds)), out_dir=out, rounds=rounds,
                           tasks_per_round=tasks_per_round, milestone=goal, milestone_gain=is_gain, frontier=(lo, hi),
                           split=base.eval.split, variants=parse_variants(variant or [], names))
        note = None
        if milestone_from is not None:
            goal, note = chosen_on(milestone_from, base, spec)
            spec = replace(spec, milestone=goal, milestone_gain=True)
            console.print(note)
    except (ConfigError, ValueError) as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    t0 = time.perf_counter()

    def progress(strategy: str, seed: int, ev: Event) -> None:
        if isinstance(ev, EvaluationEvent):
            what = (f"frontier levels {ev.pooled:.1%}" if ev.partial
                    else f"held-out {sum(ev.accuracy.values()) / len(ev.accuracy):.1%}")
            console.print(f"[dim]{time.perf_counter() - t0:6.0f}s[/] {strategy:>12} seed {seed} round {ev.round}: {what}")

    try:
        summaries = run_all(base, spec, progress, log=lambda m: console.print(f"[dim]{m}[/]"),
                            jobs=jobs, ray_address=ray_address)
    except (KeyError, ValueError) as e:  # an unknown strategy; runs in --out made with other settings
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    except RunFailed as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print(f"\n[yellow]interrupted.[/] Finished rounds are kept; the same command with --out {out} resumes.")
        raise typer.Exit(130) from None
    try:
        distinct_tasks = load_skills(base).distinct_tasks  # one graph: its task-space sizes are cached
        rows = [row(s, spec, distinct_tasks) for s in summaries]
    except ValueError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    never = never_reached(spec)
    outcomes = {(r["strategy"], r["seed"]): task_outcomes(s) for r, s in zip(rows, summaries, strict=True)}
    data = results(rows, spec, never, outcomes, note)
    before = summaries[0].heldout_accuracy["0"]
    console.print(per_skill_table(data["strategies"], before, rows[0]["frontier_pairs"]))
    console.print(leaderboard(data["strategies"], spec, rows[0]["milestone"], never))
    if spec.variants:
        console.print(variants_note(spec), highlight=False, markup=False)
    if data["paired"]:
        console.print(paired_table(data["paired"]))
    png = compare_curves(rows, plot_path or out / "curves.png")
    for path in (out / "compare.json", *([json_path] if json_path else [])):
        path.write_text(json.dumps(data, indent=2))
    console.print(f"frontier levels: {', '.join(rows[0]['frontier_pairs']) or 'none'} "
                  f"({rows[0]['frontier_heldout_tasks']} held-out tasks); "
                  f"{len(rows)} runs in {time.perf_counter() - t0:.0f}s; plot {png}; runs in {out}")
