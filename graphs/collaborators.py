"""What a session or a command is built from, each made one way: the run directory, the skill graph, the
sandbox, the student (the embedded one built once per machine; replicas on Ray when the run has workers), and
what `cosr eval` and `cosr export --merged` make of a student."""

from __future__ import annotations

import fcntl
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cosr.agents.evaluator import evaluate_student, heldout_tasks
from cosr.agents.pretraining import embedded_examples
from cosr.config import RunConfig, StudentConfig
from cosr.domain import Domain
from cosr.graphs.skills import SkillGraph
from cosr.graphs.workers import LOG_FILE, ray_sandbox, ray_student
from cosr.sandbox import make_executor
from cosr.sandbox.types import Executor
from cosr.training.backends import StudentBackend, make_student
from cosr.training.embedded import EmbeddedSpec, build_embedded_student, default_path, shipped_path
from cosr.training.evaluation import Counts, per_level, per_skill
from cosr.training.export import delivered_adapter, merge_adapter
from cosr.training.lora import RoundStats


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def resolve_run_dir(cfg: RunConfig, resume: str | None) -> tuple[str, Path]:
    """(run id, run directory): a new one, or the run `resume` names (an id under runs_root, or a folder)."""
    if resume:
        candidate = Path(resume)
        run_dir = candidate if (candidate / "config.json").exists() else (cfg.run_dir or cfg.runs_root / resume)
        if not (run_dir / "config.json").exists():
            raise FileNotFoundError(f"no run to resume at {run_dir} (expected {run_dir / 'config.json'})")
        return json.loads((run_dir / "config.json").read_text())["run_id"], run_dir
    run_id = cfg.run_id or new_run_id()
    return run_id, cfg.run_dir or cfg.runs_root / run_id


def load_skills(cfg: RunConfig) -> SkillGraph:
    """The run's skill graph: its file, or the built-in catalog."""
    return SkillGraph.from_file(cfg.skills) if cfg.skills else SkillGraph.builtin()


def uses_ray(cfg: RunConfig) -> bool:
    """Whether the run fans out to Ray (graphs/workers.py): workers > 1 or a cluster named; else one process."""
    return cfg.workers > 1 or cfg.ray_address is not None


def executor_for(skills: SkillGraph, cfg: RunConfig) -> Executor | None:
    """A sandbox executor when the graph has code skills (one on each node with an engine when the run has
    workers); None otherwise (math needs no engine)."""
    if not any(s.domain == Domain.CODE for s in skills.skills()):
        return None
    return ray_sandbox(cfg.sandbox, cfg.ray_address) if uses_ray(cfg) else make_executor(cfg.sandbox)


def student_for(cfg: RunConfig, student: StudentConfig) -> tuple[StudentBackend, Callable[..., RoundStats] | None]:
    """The session's student, and the LoRA round to train it with when not train_lora in this process: with
    workers, `cfg.workers` replicas on Ray and the round as a Ray task. A person (the tutor) is one student."""
    if not uses_ray(cfg) or student.backend == "human":
        return make_student(student), None
    return ray_student(student, cfg.training, workers=cfg.workers, seed=cfg.seed, address=cfg.ray_address,
                       log_path=cfg.run_dir / LOG_FILE if cfg.run_dir else None)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # two processes never build the same student at once
        yield


def ensure_embedded_student(log: Callable[[str], None] = print, force: bool = False) -> Path:
    """The embedded student's folder: one built here (`cosr student build`), else the shipped copy,
    else built now (about 14 minutes on two CPU cores)."""
    path = default_path()
    with _lock(path.with_suffix(".lock")):
        if (path / "config.json").exists() and not force:
            return path
        if (shipped := shipped_path()) is not None and not force:
            return shipped
        log(f"building the embedded student in {path} (about 14 minutes on two CPU cores)")
        skills, spec = SkillGraph.builtin(), EmbeddedSpec()
        examples = embedded_examples(skills, StudentConfig(), spec.examples, spec.seed)  # training problems only
        return build_embedded_student(examples, path, spec, log=log)


def resolve_student(student: StudentConfig, log: Callable[[str], None]) -> tuple[StudentConfig, Path | None]:
    """The student to load, and the embedded student's folder when it is the one (an hf student without a model)."""
    if student.backend == "hf" and student.model is None:
        embedded = ensure_embedded_student(log)
        return student.model_copy(update={"model": str(embedded)}), embedded
    return student, None


def _student_folder(cfg: RunConfig, log: Callable[[str], None]) -> Path:
    if cfg.student.backend != "hf":
        raise ValueError("evaluation and merging here need a local Hugging Face student (student.backend = 'hf')")
    return Path(cfg.student.model) if cfg.student.model else ensure_embedded_student(log)


def evaluate_heldout(cfg: RunConfig, *, adapter: Path | None = None, k: int = 1, temperature: float | None = None,
                     log: Callable[[str], None] = print) -> dict[str, Counts]:
    """Held-out (solved, total) per skill for the configured student, optionally with an adapter on top."""
    skills = load_skills(cfg)
    student = make_student(cfg.student.model_copy(update={"model": str(_student_folder(cfg, log))}))
    if adapter is not None:
        student.load_adapter(adapter, adapter.name)
    executor = executor_for(skills, cfg)
    try:
        tasks = heldout_tasks(skills, cfg.eval)
        return per_skill(per_level(tasks, evaluate_student(student, tasks, cfg.student, executor, k=k,
                                                           temperature=temperature)))
    finally:
        if executor is not None:
            executor.close()


def merged_student(run_dir: Path, out: Path) -> Path:
    """The run's student with its last adapter merged into the weights, as a plain HF folder: the student
    that round delivered, its interpolated adapter when it has one (training.interpolation)."""
    cfg = RunConfig.stored((run_dir / "config.json").read_text())
    adapters = sorted((run_dir / "adapters").glob("round-*")) if (run_dir / "adapters").exists() else []
    if not adapters:
        raise FileNotFoundError(f"{run_dir} has no adapters/round-* to merge (no training round finished)")
    return merge_adapter(_student_folder(cfg, print), delivered_adapter(adapters[-1]), out)
