"""The config's plug-in names checked against the registries as a command loads it, so a typo fails at once,
naming the known plug-ins, before any model loads or any directory is made. The skill generators are named
in the skill graph file the config points at, so that file is loaded and checked here too.

The config (the ground) cannot import the registries (the wings); it marks each field that names a plug-in
with the registry's kind (`cosr.config.plugin`), and this module, above the wings, holds the registries.
Importing it loads no model library: each registry's plug-ins import torch or docker only when used.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from cosr.agents.curriculum import STRATEGIES
from cosr.config import ConfigError, RunConfig
from cosr.graphs.skills import SkillGraph, SkillGraphError
from cosr.registry import Registry, RegistryError
from cosr.sandbox.executors import EXECUTORS
from cosr.training.backends import BACKENDS

REGISTRIES: dict[str, Registry] = {r.kind: r for r in (BACKENDS, STRATEGIES, EXECUTORS)}


def plugin_fields(model: type[BaseModel] = RunConfig, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted field name, registry kind) for every field of the config that names a plug-in."""
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if "plugin" in extra:
            yield prefix + name, str(extra["plugin"])
        elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            yield from plugin_fields(field.annotation, f"{prefix}{name}.")


def check_plugin_names(cfg: RunConfig) -> None:
    """ConfigError naming each field whose plug-in is not registered, with the names that are."""
    problems = []
    for dotted, kind in plugin_fields():
        value: object = cfg
        for part in dotted.split("."):
            value = getattr(value, part)
        try:
            REGISTRIES[kind].get(str(value))
        except RegistryError as e:  # "unknown <kind> '<name>' (known: ...)"
            problems.append(f"{dotted}: {e}")
    if cfg.skills is not None:
        try:
            SkillGraph.from_file(cfg.skills)
        except SkillGraphError as e:
            problems.append(f"skills: {e}")
    if problems:
        raise ConfigError("\n".join(problems))
