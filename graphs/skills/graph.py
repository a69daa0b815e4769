"""The skill knowledge graph: skills as nodes, prerequisite -> skill as edges, checked once at load.

Users bring their own graph as YAML or JSON. Every mistake in it (a cycle, a dangling prerequisite,
an unknown generator, a bad field, a plug-in that cannot be imported) is a SkillGraphError naming the
skill and file at fault, raised when the graph is loaded rather than in the middle of a run.

A skill family from outside cosr is one module that calls `register_generator` (catalog/__init__.py),
named under `plugins:` by its dotted import path; it must be importable (installed, or on PYTHONPATH):

    plugins: [my_skills.doubling]
    skills:
      - {name: addition, domain: math, generator: addition}
      - {name: doubling, domain: math, generator: doubling, prerequisites: [addition]}

The graph also answers for its skills' teaching (`worked_answer`, `fundamentals`, `walkthrough`), so no
user reaches into the catalog.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx
import yaml
from pydantic import ValidationError

from cosr.domain import HELDOUT_SPLITS, Provenance, Skill, Split, Task
from cosr.graphs.skills import catalog
from cosr.graphs.skills.catalog import SkillSpec
from cosr.graphs.skills.splits import NoTaskInSplit, split_of
from cosr.registry import RegistryError

_LOADERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    ".yaml": ("YAML", yaml.safe_load),
    ".yml": ("YAML", yaml.safe_load),
    ".json": ("JSON", json.loads),
}


MAX_DRAWS = 2000  # draws of a level before it is taken to have no problem in the split asked for


class SkillGraphError(ValueError):
    """A skill graph that cannot be used; the message names the culprit."""


class UnknownSkill(SkillGraphError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


class SkillGraph:
    def __init__(self, skills: Iterable[Skill], plugins: Iterable[str] = ()) -> None:
        self.plugins = tuple(plugins)  # the modules named under `plugins:`, imported for the families they register
        skills = list(skills)
        if not skills:
            raise SkillGraphError("the skill graph has no skills")
        graph = nx.DiGraph()
        for skill in skills:
            if skill.name in graph:
                raise SkillGraphError(f"duplicate skill {skill.name!r}")
            _check_generator(skill)
            graph.add_node(skill.name, skill=skill)
        for skill in skills:
            for prerequisite in skill.prerequisites:
                if prerequisite not in graph:
                    raise SkillGraphError(f"skill {skill.name!r} needs unknown prerequisite {prerequisite!r}")
                graph.add_edge(prerequisite, skill.name)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            pass
        else:
            path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
            raise SkillGraphError(f"prerequisite cycle: {path} (each is a prerequisite of the next)")
        self.graph = graph
        self._order: list[str] = list(nx.lexicographical_topological_sort(graph))
        self._distinct: dict[tuple[str, int], int] = {}

    def skills(self) -> list[Skill]:
        """Every skill, prerequisites first; ties broken by name."""
        return [self.graph.nodes[name]["skill"] for name in self._order]

    def names(self) -> list[str]:
        return list(self._order)

    def __getitem__(self, name: str) -> Skill:
        if name not in self.graph:
            raise UnknownSkill(f"unknown skill {name!r} (known: {', '.join(self._order)})")
        return self.graph.nodes[name]["skill"]

    def __contains__(self, name: object) -> bool:
        return name in self.graph

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def prerequisites(self, name: str) -> list[str]:
        """The direct prerequisites, in the order the skill declares them."""
        return list(self[name].prerequisites)

    def ancestors(self, name: str) -> set[str]:
        """Every skill that `name` builds on, directly or not."""
        return nx.ancestors(self.graph, self[name].name)

    def roots(self) -> list[str]:
        return [name for name in self._order if self.graph.in_degree(name) == 0]

    def make_task(
        self,
        skill: str,
        level: int,
        seed: int,
        *,
        split: Split = "train",
        provenance: Provenance | None = None,
    ) -> Task:
        """Task `seed` of (skill, level) in `split`: a draw whose problem belongs to another split is drawn
        again (splits.py), so a training task is never a held-out problem, however it is spelt. Each held-out
        split draws from a seed space of its own."""
        spec = self[skill]
        if not 1 <= level <= spec.levels:
            raise SkillGraphError(f"skill {skill!r} has levels 1..{spec.levels}, got {level}")
        base = "" if split == "train" else f":{split}"
        for draw in range(MAX_DRAWS):
            problem = catalog.generate(spec.generator, level, seed, base + (f":r{draw}" if draw else ""), **spec.params)
            task = Task(
                id=f"{split}:{skill}:L{level}:s{seed}",
                skill=skill,
                difficulty=level,
                prompt=problem.prompt,
                answer_format=problem.answer_format,
                verifier=problem.verifier,
                reference=problem.reference,
                check=problem.check,
                seed=seed,
                split=split,
                metadata={"generator": spec.generator, **problem.metadata, **({"redraws": draw} if draw else {})},
                **({"provenance": provenance} if provenance else {}),
            )
            if split_of(self.identity(task)) == split:
                return task
        raise NoTaskInSplit(f"skill {skill!r} level {level}: no {split} problem in {MAX_DRAWS} draws")

    def _family_name(self, task: Task) -> str:
        return self[task.skill].generator if task.skill in self else task.metadata.get("generator", task.skill)

    def family(self, task: Task) -> SkillSpec | None:
        """The family that poses a task, whoever wrote it: its skill's generator, else the generator the task
        names; None for a family no module has registered."""
        name = self._family_name(task)
        return catalog.GENERATORS.get(name) if name in catalog.GENERATORS else None

    def identity(self, task: Task) -> str:
        """The problem a task poses, whoever wrote it: its family and that family's rule (identity.py). Two
        tasks with one identity are the same problem for every exclusion."""
        spec = self.family(task)
        return f"{self._family_name(task)}:{(spec.identity if spec else catalog.normalized_prompt)(task)}"

    def worked_solution(self, task: Task) -> list[str] | None:
        """The task's worked solution, one line a step, the last giving the answer; None where its family
        declares none (code) or the task carries none of the data it works from (an LLM wrote it)."""
        spec = self.family(task)
        return spec.worked(task) if spec and spec.worked else None

    def worked_answer(self, task: Task) -> str:
        """The worked solution then `So the answer is X`, or the bare reference (SkillSpec.worked_answer)."""
        spec = self.family(task)
        return spec.worked_answer(task) if spec else task.reference

    def fundamentals(self, task: Task) -> str:
        spec = self.family(task)
        return spec.fundamentals if spec else catalog.GENERIC_FUNDAMENTALS

    def walkthrough(self, task: Task) -> list[str] | None:
        """The steps a person is walked through, the last one completing the answer (SkillSpec.walkthrough)."""
        spec = self.family(task)
        return spec.walkthrough(task) if spec else None

    def heldout_problem(self, task: Task) -> bool:
        """Whether a task (from any source: a generator, an LLM, a file) poses a held-out problem."""
        return split_of(self.identity(task)) in HELDOUT_SPLITS

    def distinct_tasks(self, skill: str, level: int, draws: int = 256) -> int:
        """Distinct tasks among `draws` seeds of (skill, level): how large the level's task space looks.
        A level with a few dozen tasks (one-digit division: 80) is learnt by heart, not generalised
        from, so practising it moves no held-out accuracy. Cached per graph."""
        key = (skill, level)
        if key not in self._distinct:
            self._distinct[key] = len({self.identity(self.make_task(skill, level, seed)) for seed in range(draws)})
        return self._distinct[key]

    def to_dict(self) -> dict[str, Any]:
        """The graph in the file format, skills in topological order."""
        return {**({"plugins": list(self.plugins)} if self.plugins else {}),
                "skills": [skill.model_dump(mode="json") for skill in self.skills()]}

    @classmethod
    def from_dict(cls, data: Any, source: str | None = None) -> SkillGraph:
        """Build from the file format; `source` (a file name) prefixes every error message."""
        try:
            if not isinstance(data, dict) or not isinstance(data.get("skills"), list):
                raise SkillGraphError("expected a mapping with a list of skills under 'skills'")
            if extra := sorted(set(data) - {"skills", "plugins"}):
                raise SkillGraphError(f"unknown top-level keys {extra} (only 'plugins' and 'skills' are read)")
            plugins = _import_plugins(data.get("plugins", []))
            return cls((_parse_skill(entry, index) for index, entry in enumerate(data["skills"], 1)), plugins)
        except SkillGraphError as e:
            if source is None:
                raise
            raise SkillGraphError(f"{source}: {e}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> SkillGraph:
        path = Path(path)
        if path.suffix.lower() not in _LOADERS:
            raise SkillGraphError(f"{path}: unsupported file type {path.suffix!r} (use .yaml, .yml or .json)")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SkillGraphError(f"{path}: cannot read: {e}") from None
        return cls._from_text(text, path.suffix.lower(), str(path))

    @classmethod
    def builtin(cls) -> SkillGraph:
        """The catalog's own graph, shipped as package data (`builtin.yaml`)."""
        text = resources.files(__package__).joinpath("builtin.yaml").read_text(encoding="utf-8")
        return cls._from_text(text, ".yaml", "builtin.yaml")

    @classmethod
    def _from_text(cls, text: str, suffix: str, source: str) -> SkillGraph:
        kind, load = _LOADERS[suffix]
        try:
            data = load(text)
        except (yaml.YAMLError, json.JSONDecodeError) as e:
            raise SkillGraphError(f"{source}: invalid {kind}: {e}") from None
        return cls.from_dict(data, source)


def _import_plugins(names: Any) -> list[str]:
    """Import each module named under `plugins:`, so that its `register_generator` calls run. A module already
    imported is not run again (Python caches it), so loading a graph twice registers nothing twice."""
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise SkillGraphError(f"'plugins' must be a list of module names (a.b.c), got {names!r}")
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise SkillGraphError(f"plugin {name!r} cannot be imported ({e}): install its package or put it on "
                                  "PYTHONPATH") from None
        except RegistryError as e:  # a family name taken by cosr or another plug-in
            raise SkillGraphError(f"plugin {name!r}: {e}") from None
    return names


def _parse_skill(entry: Any, index: int) -> Skill:
    if not isinstance(entry, dict):
        raise SkillGraphError(f"skill #{index}: expected a mapping, got {type(entry).__name__}")
    name = entry.get("name")
    label = f"skill {name!r}" if isinstance(name, str) else f"skill #{index}"
    try:
        return Skill.model_validate(entry)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'entry'}: {err['msg']}" for err in e.errors())
        raise SkillGraphError(f"{label}: {problems}") from None


def _check_generator(skill: Skill) -> None:
    try:
        spec = catalog.GENERATORS.get(skill.generator)
    except RegistryError:
        known = ", ".join(catalog.GENERATORS.names())
        message = f"skill {skill.name!r}: unknown generator {skill.generator!r} (known: {known})"
        raise SkillGraphError(message) from None
    if spec.domain != skill.domain:
        raise SkillGraphError(
            f"skill {skill.name!r}: domain {skill.domain.value} "
            f"but generator {spec.name!r} makes {spec.domain.value} tasks"
        )
    if skill.levels > spec.levels:
        raise SkillGraphError(
            f"skill {skill.name!r}: {skill.levels} levels but generator {spec.name!r} has only {spec.levels}"
        )
    parameters = list(inspect.signature(spec.generate).parameters.values())[2:]  # after (level, rng)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = {p.name for p in parameters}
    if unknown := sorted(set(skill.params) - accepted):
        raise SkillGraphError(
            f"skill {skill.name!r}: generator {spec.name!r} takes no parameter {unknown[0]!r} "
            f"(accepts: {', '.join(sorted(accepted)) or 'none'})"
        )
