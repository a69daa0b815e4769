"""The skill knowledge graph: the built-in graph's shape, task making, and every loader error naming its culprit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import networkx as nx
import pytest
import yaml

from cosr.domain import Domain, Provenance, Skill, VerifierKind
from cosr.graphs.skills import SkillGraph, SkillGraphError


def skill(name: str, generator: str = "addition", **fields) -> dict:
    return {"name": name, "domain": "math", "generator": generator, **fields}


def load(tmp_path: Path, data, suffix: str = ".yaml") -> SkillGraph:
    path = tmp_path / f"graph{suffix}"
    path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data))
    return SkillGraph.from_file(path)


# --- the built-in graph -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builtin() -> SkillGraph:
    return SkillGraph.builtin()


def test_builtin_has_both_domains_and_the_three_code_kinds(builtin):
    domains = [s.domain for s in builtin.skills()]
    assert len(builtin) >= 15
    assert domains.count(Domain.MATH) >= 12
    assert {"code_output", "code_input", "code_synthesis"} <= set(builtin.names())


def test_builtin_is_acyclic_and_ordered_prerequisites_first(builtin):
    assert nx.is_directed_acyclic_graph(builtin.graph)
    position = {name: i for i, name in enumerate(builtin.names())}
    for s in builtin.skills():
        for prerequisite in s.prerequisites:
            assert position[prerequisite] < position[s.name], (prerequisite, s.name)
    assert builtin.roots() == ["addition"]


def test_builtin_prerequisites_and_ancestors(builtin):
    assert builtin.prerequisites("fraction_addition") == ["fraction_simplification", "lcm"]
    assert {"gcd", "remainder", "division", "addition"} <= builtin.ancestors("fraction_addition")
    assert builtin.ancestors("addition") == set()
    assert "code_synthesis" in builtin and "chess" not in builtin


def test_every_builtin_skill_makes_a_task_at_every_level(builtin):
    for s in builtin.skills():
        for level in range(1, s.levels + 1):
            task = builtin.make_task(s.name, level, seed=3, split="train")
            assert task.id == f"train:{s.name}:L{level}:s3"
            assert (task.skill, task.difficulty, task.split, task.seed) == (s.name, level, "train", 3)
            assert task.verifier == (VerifierKind.CODE if s.domain == Domain.CODE else VerifierKind.MATH)
            assert task.metadata["generator"] == s.generator


def test_make_task_is_reproducible_and_keeps_provenance(builtin):
    # Pinned: a change here changes every held-out set ever drawn, so it must be deliberate.
    assert builtin.make_task("addition", 2, 0).prompt == "What is 93 + 74?"
    assert builtin.make_task("chain_sum", 2, 0).prompt == "What is 1 - 5 + 3?"
    provenance = Provenance(strategy="zpd", teacher="gpt", reason="edge of competence")
    task = builtin.make_task("gcd", 1, 11, provenance=provenance)
    assert task == builtin.make_task("gcd", 1, 11, provenance=provenance)
    assert task.provenance == provenance
    assert builtin.make_task("gcd", 1, 11).provenance.strategy == "generator"


def test_make_task_rejects_unknown_skill_and_level(builtin):
    with pytest.raises(KeyError, match="unknown skill 'chess'"):
        builtin.make_task("chess", 1, 0)
    with pytest.raises(SkillGraphError, match="unknown skill 'chess'"):
        builtin["chess"]
    with pytest.raises(SkillGraphError, match=r"skill 'addition' has levels 1..5, got 6"):
        builtin.make_task("addition", 6, 0)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip_through_a_file(builtin, tmp_path, suffix):
    again = load(tmp_path, builtin.to_dict(), suffix)
    assert again.to_dict() == builtin.to_dict()
    assert set(again.graph.edges) == set(builtin.graph.edges)


def test_a_users_graph_with_params_free_generators_and_fewer_levels(tmp_path):
    g = load(tmp_path, {"skills": [skill("sums", levels=2), skill("sums_again", prerequisites=["sums"])]})
    assert g.names() == ["sums", "sums_again"]
    assert g["sums"] == Skill(name="sums", domain="math", generator="addition", levels=2)
    with pytest.raises(SkillGraphError, match="has levels 1..2, got 3"):
        g.make_task("sums", 3, 0)


# --- loader errors: each names its culprit -------------------------------------------------------

ERRORS = {
    "cycle": (
        [skill("a", prerequisites=["c"]), skill("b", prerequisites=["a"]), skill("c", prerequisites=["b"])],
        r"prerequisite cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)",
    ),
    "self_cycle": ([skill("a", prerequisites=["a"])], r"prerequisite cycle: a -> a"),
    "dangling": ([skill("a"), skill("b", prerequisites=["a", "zzz"])], r"skill 'b' needs unknown prerequisite 'zzz'"),
    "unknown_generator": (
        [skill("a", generator="nope")],
        r"skill 'a': unknown generator 'nope' \(known: addition, chain_sum, ",
    ),
    "duplicate": ([skill("a"), skill("b"), skill("a")], r"duplicate skill 'a'"),
    "too_many_levels": ([skill("a", levels=7)], r"skill 'a': 7 levels but generator 'addition' has only 5"),
    "domain_mismatch": (
        [skill("a", generator="code_output")],
        r"skill 'a': domain math but generator 'code_output' makes code tasks",
    ),
    "unknown_param": (
        [skill("a", params={"digits": 3})],
        r"skill 'a': generator 'addition' takes no parameter 'digits'",
    ),
    "bad_name": ([skill("Bad Name")], r"skill 'Bad Name': name: String should match pattern"),
    "missing_field": ([{"name": "a", "domain": "math"}], r"skill 'a': generator: Field required"),
    "bad_levels": ([skill("a", levels="lots")], r"skill 'a': levels: Input should be a valid integer"),
    "bad_domain": ([skill("a", domain="poetry")], r"skill 'a': domain: Input should be 'math' or 'code'"),
    "unknown_field": ([skill("a", prereqs=["b"])], r"skill 'a': prereqs: Extra inputs are not permitted"),
    "not_a_mapping": ([skill("a"), "b"], r"skill #2: expected a mapping, got str"),
    "empty": ([], r"the skill graph has no skills"),
}


@pytest.mark.parametrize("case", ERRORS)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_loader_error_names_the_culprit_and_the_file(tmp_path, case, suffix):
    skills, message = ERRORS[case]
    with pytest.raises(SkillGraphError, match=re.escape(str(tmp_path / f"graph{suffix}")) + ": " + message):
        load(tmp_path, {"skills": skills}, suffix)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"skill": []}, "expected a mapping with a list of skills under 'skills'"),
        ([skill("a")], "expected a mapping with a list of skills under 'skills'"),
        ({"skills": [skill("a")], "version": 2}, r"unknown top-level keys \['version'\]"),
    ],
)
def test_loader_rejects_a_malformed_document(tmp_path, data, message):
    with pytest.raises(SkillGraphError, match=message):
        load(tmp_path, data)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("g.yaml", "skills: [\n  - name: a\n", r"g\.yaml: invalid YAML: "),
        ("g.yml", "skills:\n\t- a", r"g\.yml: invalid YAML: "),
        ("g.json", '{"skills": [}', r"g\.json: invalid JSON: Expecting value: line 1"),
        ("g.toml", "skills = []", r"g\.toml: unsupported file type '\.toml' \(use \.yaml, \.yml or \.json\)"),
    ],
)
def test_unparseable_files_name_the_file_and_the_parser_message(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(SkillGraphError, match=message):
        SkillGraph.from_file(tmp_path / name)


def test_missing_file(tmp_path):
    with pytest.raises(SkillGraphError, match=r"missing\.yaml: cannot read: .*No such file"):
        SkillGraph.from_file(tmp_path / "missing.yaml")


def test_errors_without_a_file_name_the_culprit_alone():
    with pytest.raises(SkillGraphError, match=r"^skill 'b' needs unknown prerequisite 'a'$"):
        SkillGraph([Skill(name="b", domain="math", generator="addition", prerequisites=("a",))])
    with pytest.raises(SkillGraphError, match=r"^skill #1: expected a mapping, got int$"):
        SkillGraph.from_dict({"skills": [1]})
