"""The skill knowledge graph (networkx, loaded from YAML/JSON) and the catalog of task generators."""

from cosr.graphs.skills.graph import SkillGraph, SkillGraphError, UnknownSkill

__all__ = ["SkillGraph", "SkillGraphError", "UnknownSkill"]
