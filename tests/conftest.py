"""Shared fixtures: a tiny real student model, a small math-only skill graph, run configs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from cosr.config import RunConfig, load_config

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def tiny_student(tmp_path_factory) -> Path:
    """A real Hugging Face Llama folder, trained for a few seconds on one-digit addition."""
    from cosr.training.data import Example
    from cosr.training.embedded import EmbeddedSpec, build_embedded_student

    rng = random.Random(0)
    examples = []
    for _ in range(400):
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        examples.append(Example(f"What is {a} + {b}?\nAnswer:", f" {a + b}"))
    spec = EmbeddedSpec(hidden_size=64, layers=2, heads=1, intermediate_size=128, vocab_size=300,
                        steps=200, batch_size=32, max_positions=256)
    return build_embedded_student(examples, tmp_path_factory.mktemp("students") / "tiny", spec, log=lambda m: None)


@pytest.fixture
def math_graph_file() -> Path:
    return DATA / "math_skills.yaml"


@pytest.fixture
def tiny_run_config(tmp_path, tiny_student, math_graph_file) -> RunConfig:
    """A run small enough for a unit test: three math skills, small batches, two short rounds."""
    return load_config(None, {
        "run_dir": tmp_path / "run", "seed": 3, "rounds": 2, "skills": math_graph_file,
        "student.model": str(tiny_student), "student.max_new_tokens": 6, "student.batch_size": 16,
        "curator.batch_size": 8, "training.every_verified": 4, "training.max_tasks_per_round": 32,
        "training.epochs": 1, "training.batch_size": 8, "training.rehearsal_per_level": 16, "eval.per_skill": 4, "eval.levels": [1, 2],
        "sandbox.executor": "unsafe-process",
    })


@pytest.fixture(scope="session")
def sandbox_executor():
    """The real docker pool from a default SandboxConfig. No engine is a failure, never a skip."""
    from cosr.config import SandboxConfig
    from cosr.sandbox import SandboxUnavailable, make_executor

    try:
        executor = make_executor(SandboxConfig(executor="docker"))
    except SandboxUnavailable as e:
        pytest.fail(f"the docker sandbox is required for this test: {e} (scripts/docker-up.sh sets it up)", pytrace=False)
    yield executor
    executor.close()


@pytest.fixture(scope="session")
def hint_reader(tmp_path_factory) -> Path:
    """A tiny student that learned to copy a worked step from a hint when it is given one (two-digit sums),
    in the Teacher's format: the task, then `Hint: ...`, then `Answer:` (agents/teacher.py, hinted_prompt)."""
    from cosr.training.data import Example
    from cosr.training.embedded import EmbeddedSpec, build_embedded_student

    rng = random.Random(2)
    examples = []
    for _ in range(3000):
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        hint = f"{a} + {b} = {a + b}" if rng.random() < 0.7 else rng.choice(["Think.", "Add them.", "Take care."])
        examples.append(Example(f"What is {a} + {b}?\nHint: {hint}\nAnswer:", f" {a} + {b} = {a + b}. So the answer is {a + b}"))
    spec = EmbeddedSpec(hidden_size=64, layers=2, heads=1, intermediate_size=192, vocab_size=300, steps=200,
                        batch_size=48, max_positions=128, learning_rate=3e-3)
    return build_embedded_student(examples, tmp_path_factory.mktemp("students") / "hint-reader", spec, log=lambda m: None)


from tests.support.postgres import postgres_server, postgres_url  # noqa: E402, F401  (a throwaway PostgreSQL)
