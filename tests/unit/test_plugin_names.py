"""A plug-in name no registry knows fails the command at once, as a user meets it: an error naming the field, the
name and the known names, no traceback, no run directory, long before a model could load."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cosr.config import ConfigError, load_config
from cosr.graphs.plugins import REGISTRIES, check_plugin_names, plugin_fields
from cosr.graphs.skills import SkillGraph
from cosr.graphs.skills.catalog import GENERATORS

COSR = [sys.executable, "-m", "cosr.cli"]
FIELDS = dict(plugin_fields())
BAD = "nonsense"
Ran = tuple[subprocess.CompletedProcess, float, float]  # the result, wall-clock seconds, CPU seconds


def toml_setting(dotted: str, value: str) -> str:
    *sections, key = dotted.split(".")
    return (f"[{'.'.join(sections)}]\n" if sections else "") + f"{key} = {json.dumps(value)}\n"


def run_cosr(cwd: Path, *args: str) -> Ran:
    before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run([*COSR, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    wall, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    return done, wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def assert_fails_fast_and_clean(ran: Ran, cwd: Path, *expected: str) -> None:
    done, wall, cpu = ran
    said = " ".join((done.stdout + done.stderr).split())  # rich wraps long lines at the terminal's width
    assert done.returncode != 0, said
    # Under 5 s of work, where loading a model takes more; the wall clock, which also counts the neighbours of a
    # busy machine (this suite shares its cores), only guards against a wait.
    assert cpu < 5 and wall < 20, f"took {cpu:.1f} s of CPU, {wall:.1f} s in all"
    for text in expected:
        assert text in said, f"{text!r} not in {said!r}"
    assert "Traceback" not in said and "╭" not in said, said  # neither Python's traceback nor rich's
    assert not (cwd / "runs").exists(), "a run directory was created"


def test_the_config_marks_every_plugin_field():
    assert FIELDS == {"student.backend": "student backend", "curator.strategy": "curriculum strategy",
                      "sandbox.executor": "sandbox executor"}
    assert set(FIELDS.values()) <= set(REGISTRIES)


@pytest.mark.parametrize("dotted", list(FIELDS))
def test_an_unknown_plugin_name_in_the_config_file_stops_selfplay(tmp_path, dotted):
    (tmp_path / "run.toml").write_text(toml_setting(dotted, BAD))
    ran = run_cosr(tmp_path, "selfplay", "--config", "run.toml")
    known = ", ".join(REGISTRIES[FIELDS[dotted]].names())
    assert_fails_fast_and_clean(ran, tmp_path, f"{dotted}: unknown {FIELDS[dotted]} '{BAD}' (known: {known})")


def test_an_unknown_strategy_flag_stops_selfplay(tmp_path):
    ran = run_cosr(tmp_path, "selfplay", "--strategy", BAD)
    known = ", ".join(REGISTRIES["curriculum strategy"].names())  # every strategy file registered, whatever its name
    assert_fails_fast_and_clean(ran, tmp_path, f"curator.strategy: unknown curriculum strategy '{BAD}' (known: {known})")


def test_an_unknown_generator_in_the_skill_graph_stops_selfplay(tmp_path):
    (tmp_path / "graph.yaml").write_text("skills:\n  - {name: addition, domain: math, generator: additon}\n")
    (tmp_path / "run.toml").write_text('skills = "graph.yaml"\n')
    ran = run_cosr(tmp_path, "selfplay", "--config", "run.toml")
    assert_fails_fast_and_clean(ran, tmp_path, "skills: graph.yaml: skill 'addition': unknown generator "
                                f"'additon' (known: {', '.join(GENERATORS.names())})")


@pytest.mark.parametrize("command", ["eval", "compare", "judge", "tutor", "sandbox check", "heldout export"])
def test_every_command_that_loads_a_config_checks_it(tmp_path, command):
    (tmp_path / "run.toml").write_text(toml_setting("sandbox.executor", BAD))
    args = [*command.split(), "--config", "run.toml"]
    if command == "tutor":  # a session takes no config file, only flags
        args = ["tutor", "--sandbox", BAD]
    elif command == "judge":
        line = {"task": SkillGraph.builtin().make_task("addition", 1, 0).to_export(), "answer": "1"}
        (tmp_path / "answers.jsonl").write_text(json.dumps(line) + "\n")
        args.insert(1, "answers.jsonl")
    elif command == "heldout export":
        args.insert(2, "heldout.jsonl")
    ran = run_cosr(tmp_path, *args)
    assert_fails_fast_and_clean(ran, tmp_path, f"sandbox.executor: unknown sandbox executor '{BAD}'")


def test_every_problem_is_named_at_once():
    cfg = load_config(None, {"student.backend": "hff", "sandbox.executor": "podman"})
    with pytest.raises(ConfigError) as e:
        check_plugin_names(cfg)
    assert str(e.value).splitlines() == [
        "student.backend: unknown student backend 'hff' (known: hf, human, openai)",
        "sandbox.executor: unknown sandbox executor 'podman' (known: docker, unsafe-process)",
    ]
    check_plugin_names(load_config())  # the defaults name registered plug-ins
