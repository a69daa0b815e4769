"""`cosr audit`: proof that no held-out problem reached training, by any path a run or a student has.

Everything a student was trained on, or a teacher was shown, is reduced to task identities (the family
rules of graphs/skills/identity.py) and looked up among the identities of both held-out splits: every
level of every skill, `MAX_PER_SKILL` tasks a skill, which covers the default evaluation and more. For
the embedded student the pretraining stream is replayed from the spec its folder records, and checked
to be the very stream it was trained on (a digest) before it is trusted.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel

from cosr.agents.evaluator import heldout_tasks as run_heldout
from cosr.agents.pretraining import embedded_examples, pretraining_tasks
from cosr.agents.worked_examples import recorded
from cosr.config import RunConfig, StudentConfig, cosr_home
from cosr.domain import HELDOUT_SPLITS, Task
from cosr.graphs.collaborators import load_skills
from cosr.graphs.skills import SkillGraph
from cosr.graphs.skills.splits import MAX_PER_SKILL, heldout_tasks, source_hash
from cosr.store import TrajectoryStore, run_store
from cosr.training.embedded import examples_digest
from cosr.training.results import AuditSummary, StudentAudit

ALL_LEVELS = [1, 2, 3, 4, 5]


class AuditError(ValueError):
    """Something the audit cannot check (no record of what a student was trained on, a changed stream)."""


class Leak(BaseModel):
    heldout_id: str
    split: str
    source: str  # where the training copy came from: pretraining, a trajectory, a rehearsal row, ...
    training_id: str
    identity: str


class AuditReport(BaseModel):
    checked: int  # held-out tasks checked, both splits
    per_skill: int
    levels: list[int]
    sources: dict[str, int]  # training items checked, by where they came from
    leaks: list[Leak]

    @property
    def clean(self) -> bool:
        return not self.leaks


def heldout_index(skills: SkillGraph, per_skill: int = MAX_PER_SKILL,
                  levels: list[int] | None = None, extra: Iterable[Task] = ()) -> dict[str, Task]:
    """Identity -> held-out task, for both splits (plus `extra`: a run's own held-out set)."""
    index = {}
    for split in HELDOUT_SPLITS:
        for t in heldout_tasks(skills, per_skill, levels or ALL_LEVELS, split):
            index.setdefault(skills.identity(t), t)
    for t in extra:
        index.setdefault(skills.identity(t), t)
    return index


def check(skills: SkillGraph, index: dict[str, Task], items: Iterable[tuple[str, Task]], *,
          per_skill: int, levels: list[int]) -> AuditReport:
    """Every (source, training task) against the held-out index."""
    sources: Counter[str] = Counter()
    leaks = []
    for source, task in items:
        sources[source] += 1
        if (key := skills.identity(task)) in index:
            held = index[key]
            leaks.append(Leak(heldout_id=held.id, split=held.split, source=source, training_id=task.id, identity=key))
    return AuditReport(checked=len(index), per_skill=per_skill, levels=levels, sources=dict(sources), leaks=leaks)


def audit_student(folder: Path, per_skill: int = MAX_PER_SKILL) -> AuditReport:
    """Replay an embedded student's pretraining (its folder's cosr_embedded.json) against both splits of the
    built-in graph. The verdict is kept in COSR_HOME by the stream's digest: replaying takes a minute or two."""
    meta_file = Path(folder) / "cosr_embedded.json"
    if not meta_file.exists():
        raise AuditError(f"{folder} records no pretraining (no cosr_embedded.json): a model you bring was "
                         "pretrained on data cosr cannot see; audit a run of it instead (cosr audit RUN_DIR)")
    meta = json.loads(meta_file.read_text())
    digest = meta.get("examples_sha256")
    if digest is None:
        raise AuditError(f"{folder} ({meta.get('version')}) was built before students recorded their "
                         "pretraining stream; it cannot be audited (rebuild it: cosr student build --force)")
    # by the stream and the held-out sets it is checked against (a generator's change redraws them)
    cached = cosr_home() / "audits" / f"{digest[:16]}-{source_hash()[:16]}-{per_skill}.json"
    if cached.exists():
        return AuditReport.model_validate_json(cached.read_text())
    skills, spec = SkillGraph.builtin(), meta["spec"]
    if examples_digest(embedded_examples(skills, StudentConfig(), spec["examples"], spec["seed"])) != digest:
        raise AuditError(f"{folder}: replaying its pretraining gives other examples than it was trained on "
                         "(the catalog changed since it was built); rebuild it: cosr student build --force")
    report = check(skills, heldout_index(skills, per_skill), _pretraining(skills, spec), per_skill=per_skill,
                   levels=ALL_LEVELS)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(report.model_dump_json(indent=2))
    return report


def _pretraining(skills: SkillGraph, spec: dict) -> Iterator[tuple[str, Task]]:
    for task in pretraining_tasks(skills, spec["examples"], spec["seed"]):
        yield "pretraining", task


def audit_run(run_dir: Path, per_skill: int = MAX_PER_SKILL, levels: list[int] | None = None) -> AuditReport:
    """Everything a run trained on or showed a teacher: the tasks it handed out (every trajectory: what a
    round trains on, and what a teacher explains or demonstrates, is one of them), the teacher's worked
    examples (agents/worked_examples.py) and its rehearsal set,
    against both splits (every level, `per_skill` a skill, by default) and the run's own held-out set."""
    cfg = RunConfig.stored((Path(run_dir) / "config.json").read_text())
    skills = load_skills(cfg)
    store = run_store(Path(run_dir), cfg.database_url)
    try:
        items = [*run_items(skills, store, cfg.run_id),
                 *(("worked example", _rebuilt(skills, *row)) for row in recorded(Path(run_dir)))]
    finally:
        store.close()
    levels = levels or ALL_LEVELS
    own = run_heldout(skills, cfg.eval)  # at the run's own size
    return check(skills, heldout_index(skills, per_skill, levels, extra=own), items, per_skill=per_skill, levels=levels)


def summary_audit(run_dir: Path, cfg: RunConfig, embedded: Path | None) -> AuditSummary:
    """What summary.json records: the run checked against both splits at its own evaluation size, and the
    embedded student's pretraining when the run's student is the embedded one (`cosr audit` goes further)."""
    report = audit_run(run_dir, cfg.eval.per_skill, cfg.eval.levels)
    student: StudentAudit | str
    if embedded is None:
        student = "not audited: a student you brought (cosr cannot see its pretraining)"
    else:
        try:
            pretrained = audit_student(embedded)
            student = StudentAudit(folder=str(embedded), checked=pretrained.checked, leaks=len(pretrained.leaks))
        except AuditError as e:
            student = f"not audited: {e}"
    return AuditSummary(checked=report.checked, leaks=len(report.leaks), sources=report.sources,
                        per_skill=report.per_skill, levels=report.levels, student=student)


def run_items(skills: SkillGraph, store: TrajectoryStore, run_id: str) -> Iterator[tuple[str, Task]]:
    for task in store.handed_out(run_id):
        yield "trajectory", task
    for task_id, skill, level, prompt, _, _ in store.rehearsal(run_id) or []:
        yield "rehearsal", _rebuilt(skills, task_id, skill, level, prompt)


def _rebuilt(skills: SkillGraph, task_id: str, skill: str, level: int, prompt: str) -> Task:
    """A stored row's task, made again from its id (its reference is part of some identities); the row's
    own prompt if the id does not make the same task."""
    m = re.fullmatch(r"train:(\w+):L(\d+):s(\d+)", task_id)
    if m and m.group(1) in skills:
        task = skills.make_task(m.group(1), int(m.group(2)), int(m.group(3)))
        if task.prompt == prompt:
            return task
    return Task(id=task_id, skill=skill, difficulty=level, prompt=prompt, answer_format="expression",
                verifier="math", reference="", seed=0)
