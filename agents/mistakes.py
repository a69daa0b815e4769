"""Learning from mistakes: a round's samples as examples weighted by their REINFORCE leave-one-out advantage.

Self-play samples k answers a task (student.samples_per_task) and the verifier marks each, so every task
comes with a group of right and wrong samples: the verifiable rewards RLOO needs (Ahmadian et al., 2024,
"Back to Basics"), already collected. A sample's advantage is its reward (1 right, 0 wrong) minus the mean
reward of the task's other k - 1 samples, and the LoRA round follows its gradient, -advantage x grad log
p(completion | prompt), through a clipped surrogate (training/data.py, `weighted_loss`; below). A task all right or all wrong gives every sample advantage
zero: only tasks of mixed outcome carry signal, and a wrong answer is pushed down only where some sample of
its task was right, so the student is shown the task is within its reach.

Not TRL's GRPOTrainer: it generates and scores its own completions inside its training loop, while in cosr
the graph has already sampled (student node), verified (verifier node) and stored the trajectories before
the train node runs; the samples become weighted `Example`s for the one plain loop (training/lora.py).
The samples come from the adapter the round starts from, and the round takes several epochs of steps away
from it: the loss is PPO's (GRPO's) clipped surrogate against that sampling policy, per completion token
-min(r A, clip(r, 1 - eps, 1 + eps) A), r = p_now / p_sampled, A the advantage, eps = cfg.training.clip_epsilon
(training/lora.py computes the sampling policy's log-probs before the first update).

Stability, for a tiny student (cfg.training.objective = "rloo"): pushing a likelihood down has no floor
(log p -> -inf) while pulling one up stops at 1: without a clip, -A x log p lets the model escape by making
its wrong answers arbitrarily unlikely, whatever that does to the rest (tests/unit/test_mistakes.py,
`test_the_clip_bounds_how_far_a_wrong_answer_is_pushed_down`: unclipped, tens of nats). Hence the clip: a wrong
answer's token stops being pushed once it is 1 - eps times as likely as when sampled, so the damage a round
can do is bounded. Besides it, the right samples stay supervised examples of weight 1 (agents/trainer.py), an
anchor that also keeps the tasks every sample solved, which RLOO would drop; a wrong sample's weight is kept
at no less than -negative_weight; the gradient is clipped at norm 1 as for SFT.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from cosr.config import StudentConfig
from cosr.domain import Trajectory
from cosr.training.backends import render_prompt
from cosr.training.data import Example

STRATEGY = "mistakes"  # what the trainer attributes the pushed-down samples to (teacher attribution)


def advantages(rewards: Sequence[float]) -> list[float]:
    """Each reward minus the mean of the group's others (REINFORCE leave-one-out); they sum to zero. A group
    of one has no baseline: zero."""
    k = len(rewards)
    if k < 2:
        return [0.0] * k
    total = sum(rewards)
    return [r - (total - r) / (k - 1) for r in rewards]


def by_task(trajectories: Iterable[Trajectory]) -> dict[str, list[Trajectory]]:
    """The student's own samples of each task: the groups the advantages are taken over. A helped attempt
    (the teacher's hint in its prompt, agents/teacher.py) is left out: it was not sampled from the bare
    prompt, so it is no reward of the policy being trained there."""
    groups: dict[str, list[Trajectory]] = defaultdict(list)
    for t in trajectories:
        if t.attempt.help is None:
            groups[t.task.id].append(t)
    return dict(groups)


def rloo_examples(
    groups: Mapping[str, Sequence[Trajectory]], student: StudentConfig, *, negative_weight: float = 1.0,
    positives: bool = True,
) -> list[Example]:
    """Each sample of a task of mixed outcome as an `Example` weighted by its advantage, a wrong one's no
    lower than -negative_weight; samples of advantage zero are left out. `positives=False` gives only the
    wrong samples (the trainer has the right ones already, as supervised examples).

    Both are the student's raw output after the bare task (a helped attempt is in no group: `by_task`)."""
    out = []
    for samples in groups.values():
        for t, adv in zip(samples, advantages([float(t.verdict.correct) for t in samples]), strict=True):
            if adv > 0 and positives:
                out.append(Example(render_prompt(student, t.task.prompt), t.attempt.raw_output, weight=adv))
            elif adv < 0:
                out.append(Example(render_prompt(student, t.task.prompt), t.attempt.raw_output,
                                   weight=max(adv, -negative_weight)))
    return out
