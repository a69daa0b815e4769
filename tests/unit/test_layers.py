"""The layer contract, read off the source: every import between cosr's modules, at module level, inside a
function or typing-only, points down, and no module runs past 400 lines.

  ground         cosr/domain, config, registry, store, humaneval (a file format): imports only the ground
  wings          graphs/skills, sandbox/, training/: the ground; graphs/state, graphs/context: the ground
                 (context names its collaborators' interfaces, typing only); agents/: the ground, the
                 skill graph, the state and context, and the wings they drive (sandbox/, training/)
  orchestration  the rest of graphs/ (the assemblies, sessions, compare, audit, server): anything below
  faces          cosr/cli*.py, cosr/display.py, cosr/ui/: anything below

Inside a function a module imports only from its own wing or face (a heavy module it needs late), and a
command (cosr/cli*.py) the orchestration or wing modules it runs: `cosr --help` then loads no graph
(langgraph and sympy take seconds).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"cosr": "cosr", "agents": "cosr.agents", "graphs": "cosr.graphs", "sandbox": "cosr.sandbox",
            "training": "cosr.training"}
MAX_LINES = 400

GROUND = {"cosr", "cosr.domain", "cosr.config", "cosr.faults", "cosr.registry", "cosr.store", "cosr.humaneval"}
WINGS = {"skills": ("cosr.graphs.skills",), "state": ("cosr.graphs.state", "cosr.graphs.context"),
         "sandbox": ("cosr.sandbox",), "training": ("cosr.training",), "agents": ("cosr.agents",)}
FACES = ("cosr.cli", "cosr.display", "cosr.ui")
ORCHESTRATION = ("cosr.graphs",)  # what graphs/ holds besides its wings

# What each layer may import (module level, in a function, typing only).
MAY_IMPORT = {
    "ground": {"ground"},
    "skills": {"ground", "skills"},
    "state": {"ground", "state"},
    "sandbox": {"ground", "sandbox"},
    "training": {"ground", "training"},
    "agents": {"ground", "skills", "state", "sandbox", "training", "agents"},
    "orchestration": {"ground", *WINGS, "orchestration"},
    "faces": {"ground", *WINGS, "orchestration", "faces"},
}
TYPING_ONLY = {"state": {"skills", "sandbox", "training", "agents"}}  # the Context names what it holds


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            out[".".join((package, *(p for p in parts if p != "__init__")))] = path
    return out


MODULES = modules()


def layer(module: str) -> str:
    if module in GROUND:
        return "ground"
    for name, prefixes in WINGS.items():
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return name
    if any(module == p or module.startswith(p + ".") or module.startswith(p + "_") for p in FACES):
        return "faces"
    if any(module == p or module.startswith(p + ".") for p in ORCHESTRATION):
        return "orchestration"
    raise AssertionError(f"{module} is in no layer: add it to the contract in {__file__}")


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    line: int
    where: str  # "module", "function", "typing", or "registration": a registry importing its plug-ins at its
    # end, each of which imports it back to register itself (left out of the cycle check)

    def __str__(self) -> str:
        return f"{MODULES[self.importer].relative_to(ROOT)}:{self.line} imports {self.target} ({self.where})"


def _targets(node: ast.Import | ast.ImportFrom, importer: str) -> list[str]:
    """The cosr modules an import statement loads: `from a import b` is the module a.b where b is one."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("cosr")]
    base = node.module or ""
    if node.level:
        package = importer if MODULES[importer].name == "__init__.py" else importer.rsplit(".", 1)[0]
        base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *[base] * bool(base)])
    if not base.startswith("cosr"):
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text())
    found: list[Import] = []

    def walk(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend(Import(module, t, child.lineno, where) for t in _targets(child, module))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                walk(child, "function")
            elif isinstance(child, ast.If) and _is_type_checking(child):
                walk(child, "typing")
            else:
                walk(child, where)

    walk(tree, "module")
    last_definition = max((n.end_lineno or 0 for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)), default=0)
    return [Import(i.importer, i.target, i.line, "registration") if i.where == "module" and 0 < last_definition < i.line
            else i for i in found]


ALL = [i for m in MODULES for i in imports(m)]


def allowed(i: Import) -> bool:
    source, target = layer(i.importer), layer(i.target)
    if i.where == "typing" and target in TYPING_ONLY.get(source, set()):
        return True
    if target not in MAY_IMPORT[source]:
        return False
    # Inside a function: the same wing or face (a heavy module needed late), or a command loading what it runs.
    command = i.importer.startswith("cosr.cli") and target not in ("ground", "faces")
    return i.where != "function" or source == target != "orchestration" or command


def test_every_import_points_down():
    wrong = [str(i) for i in ALL if not allowed(i)]
    assert not wrong, "imports against the layer contract:\n" + "\n".join(wrong)


def test_the_ground_imports_no_wing_anywhere():
    assert not [str(i) for i in ALL if layer(i.importer) == "ground" and layer(i.target) != "ground"]


def test_module_level_imports_have_no_cycle():
    graph = {m: {i.target for i in ALL if i.importer == m and i.where == "module" and i.target != m} for m in MODULES}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(n):], n]))
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in MODULES.values() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("i, ok", [
    (Import("cosr.agents.evaluator", "cosr.graphs.session", 1, "module"), False),  # a wing importing orchestration
    (Import("cosr.training.evaluation", "cosr.agents.evaluator", 1, "module"), False),  # training sees the ground only
    (Import("cosr.graphs.session", "cosr.agents.evaluator", 1, "function"), False),  # orchestration hiding an arrow
    (Import("cosr.sandbox.executors", "cosr.sandbox.docker_pool", 1, "function"), True),  # lazy within one wing
    (Import("cosr.cli", "cosr.graphs.session", 1, "function"), True),  # a command loads its session when it runs
    (Import("cosr.cli", "cosr.store", 1, "function"), False),  # the ground is loaded anyway: at the top
    (Import("cosr.ui.data", "cosr.graphs.selfplay", 1, "function"), False),  # only a command defers
    (Import("cosr.store", "cosr.cli", 1, "function"), False),
    (Import("cosr.graphs.context", "cosr.agents.curriculum", 1, "typing"), True),
    (Import("cosr.graphs.context", "cosr.agents.curriculum", 1, "module"), False),
])
def test_the_contract_catches_what_it_should(i, ok):
    assert allowed(i) is ok
