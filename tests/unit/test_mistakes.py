"""Learning from mistakes: leave-one-out advantages, the weighted examples they make, and the weighted loss
on a tiny random Llama (a few hundred parameters, CPU)."""

from __future__ import annotations

import math
import random

import pytest
import torch

from cosr.agents.mistakes import advantages, by_task, rloo_examples
from cosr.config import StudentConfig
from cosr.domain import AnswerFormat, Attempt, Task, Trajectory, Verdict, VerifierKind
from cosr.training.data import Example, batches, completion_nll, encode, train_step, weighted_loss, with_old_logprobs

STUDENT = StudentConfig()


def sample(task: int, k: int, correct: bool) -> Trajectory:
    t = Task(id=f"train:addition:L1:s{task}", skill="addition", difficulty=1, prompt=f"What is {task} + 1?",
             answer_format=AnswerFormat.NUMBER, verifier=VerifierKind.MATH, reference=str(task + 1), seed=task)
    out = f" {task + 1}" if correct else f" {task + 10 + k}"
    return Trajectory(id=f"r:{task}:{k}", run_id="r", round=1, step=1, task=t,
                      attempt=Attempt(task_id=t.id, student_id="s", raw_output=out),
                      verdict=Verdict(correct=correct, score=float(correct), status="correct" if correct else "wrong"))


@pytest.mark.parametrize("rewards", [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 0, 1, 1, 0, 0]])
def test_advantages_of_a_mixed_group_sum_to_zero_and_leave_each_sample_out(rewards):
    adv = advantages(rewards)
    assert sum(adv) == pytest.approx(0.0, abs=1e-12)
    k = len(rewards)
    assert adv == pytest.approx([r - (sum(rewards) - r) / (k - 1) for r in rewards])
    assert all((a > 0) == bool(r) for a, r in zip(adv, rewards, strict=True))


def test_a_group_all_right_or_all_wrong_makes_no_example():
    assert advantages([1, 1, 1, 1]) == [0.0] * 4 and advantages([0, 0, 0]) == [0.0] * 3 and advantages([1]) == [0.0]
    groups = by_task([sample(1, k, True) for k in range(4)] + [sample(2, k, False) for k in range(4)])
    assert len(groups) == 2 and rloo_examples(groups, STUDENT) == []


def test_a_mixed_group_pushes_its_wrong_answers_down_and_its_right_one_up():
    groups = by_task([sample(3, 0, True)] + [sample(3, k, False) for k in (1, 2, 3)])
    examples = rloo_examples(groups, STUDENT)
    right = [e for e in examples if e.weight > 0]
    wrong = [e for e in examples if e.weight < 0]
    assert [e.weight for e in right] == pytest.approx([1.0]) and [e.weight for e in wrong] == pytest.approx([-1 / 3] * 3)
    assert right[0].completion == " 4" and sorted(e.completion for e in wrong) == [" 14", " 15", " 16"]
    assert all(e.prompt == STUDENT.prompt_template.replace("{prompt}", "What is 3 + 1?") for e in examples)
    # The bound, and only the wrong ones (the trainer keeps the right ones as supervised examples).
    bounded = rloo_examples(by_task([sample(4, k, k != 0) for k in range(4)]), STUDENT, negative_weight=0.5,
                            positives=False)
    assert [e.weight for e in bounded] == [-0.5]  # advantage -1, bounded



def test_a_helped_attempt_is_no_sample_of_the_group():
    """Solved with the teacher's hint in its prompt, it says nothing of the student on the bare prompt."""
    import cosr.domain

    if not hasattr(cosr.domain, "Help"):
        pytest.skip("no graded help in this tree")
    helped = sample(5, 0, True)
    helped = helped.model_copy(update={"attempt": helped.attempt.model_copy(update={"help": cosr.domain.Help(rung=1)})})
    assert rloo_examples(by_task([helped] + [sample(5, k, False) for k in (1, 2, 3)]), STUDENT) == []

# A tiny random Llama and a tokenizer of single characters.

class CharTokenizer:
    eos_token_id = 1

    def __call__(self, texts, add_special_tokens=False):
        return {"input_ids": [[2 + ord(ch) % 30 for ch in t] for t in texts]}


@pytest.fixture(scope="module")
def tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=32, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                         tie_word_embeddings=True, pad_token_id=0, eos_token_id=1, bos_token_id=1)
    model = LlamaForCausalLM(config)
    assert sum(p.numel() for p in model.parameters()) < 1000
    return model


def one_batch(examples: list[Example]) -> dict:
    encoded = encode(CharTokenizer(), examples, max_len=64)
    return next(batches(encoded, len(encoded), pad_id=0, rng=random.Random(0)))


def test_weights_travel_with_their_rows():
    examples = [Example("ab", "c" * n, weight=float(n)) for n in (1, 2, 3, 4)]
    batch = one_batch(examples)
    lengths = (batch["labels"] != -100).sum(dim=1) - 1  # each completion, less its end-of-sequence token
    assert batch["weights"].tolist() == lengths.float().tolist()


def test_the_weighted_loss_with_every_weight_one_is_the_models_own_loss(tiny_llama):
    batch = one_batch([Example("What is 2 + 3?", " 5"), Example("7 + 1 =", " 8, so the answer is 8"),
                       Example("x", " yz")])
    inputs = {k: v for k, v in batch.items() if k not in ("weights", "labels")}
    with torch.no_grad():
        ours = weighted_loss(tiny_llama(**inputs).logits, batch["labels"], torch.ones(3))
        theirs = tiny_llama(**inputs, labels=batch["labels"]).loss
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)


def sampled_batch(model, examples: list[Example]) -> dict:
    """One batch of `examples`, the weighted ones carrying `model`'s log-probs: the policy that sampled them."""
    encoded = with_old_logprobs(model, encode(CharTokenizer(), examples, max_len=64), batch_size=8, pad_id=0)
    return next(batches(encoded, len(encoded), pad_id=0, rng=random.Random(0)))


def inputs_of(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k not in ("weights", "labels", "old_logprobs")}


def logprob(model, batch: dict) -> torch.Tensor:
    """Each row's completion log-probability."""
    with torch.no_grad():
        return -completion_nll(model(**inputs_of(batch)).logits, batch["labels"])


def constant(opt):
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


def test_the_old_logprobs_are_the_sampling_policys_and_only_for_weighted_rows(tiny_llama):
    examples = [Example("What is 2 + 3?", " 5"), Example("7 + 1 =", " 9, or so", weight=-0.5),
                Example("x", " yz", weight=0.25)]
    encoded = with_old_logprobs(tiny_llama, encode(CharTokenizer(), examples, max_len=64), batch_size=2, pad_id=0)
    assert encoded[0][3] is None and all(len(row[3]) == len(row[0]) for row in encoded[1:])
    batch = next(batches(encoded, 3, pad_id=0, rng=random.Random(0)))
    old = batch["old_logprobs"]
    weighted = batch["weights"] != 1
    assert torch.allclose(old.sum(dim=1)[weighted], logprob(tiny_llama, batch)[weighted], atol=1e-5)
    assert (old[~weighted] == 0).all()
    assert "old_logprobs" not in one_batch(examples[:1])  # a batch of supervised rows carries none


def test_at_the_sampling_policy_the_clipped_loss_has_the_unclipped_gradient(tiny_llama):
    """r = 1 there: the surrogate's gradient is -A grad log p, REINFORCE's; a supervised row's is its NLL's."""
    from copy import deepcopy

    model = deepcopy(tiny_llama)
    batch = sampled_batch(model, [Example("What is 2 + 3?", " 7", weight=-0.5), Example("7 + 1 =", " 8"),
                                  Example("x", " yz", weight=0.25)])
    grads = []
    for old in (batch["old_logprobs"], None):
        model.zero_grad()
        weighted_loss(model(**inputs_of(batch)).logits, batch["labels"], batch["weights"], old).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


@pytest.mark.parametrize("weight", [-1.0, 0.5])
def test_a_step_moves_a_completions_likelihood_the_way_its_weight_says(tiny_llama, weight):
    from copy import deepcopy

    model = deepcopy(tiny_llama)
    batch = sampled_batch(model, [Example("What is 2 + 3?", " 7", weight=weight)])
    before = logprob(model, batch).item()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss, _ = train_step(model, batch, opt, constant(opt))
    after = logprob(model, batch).item()
    assert (after - before) * weight > 0, (before, after)
    assert loss == pytest.approx(-weight, rel=1e-5)  # every ratio 1 at the first step: -A per token, over the tokens


def test_the_clip_bounds_how_far_a_wrong_answer_is_pushed_down(tiny_llama):
    """50 AdamW steps at lr 1e-2 on one wrong answer alone: unclipped, -A log p has no floor and the
    log-likelihood falls without end; clipped, each token stops once its ratio is below 1 - eps (AdamW's momentum
    carries it a few steps past), and the log-likelihood stays near log(1 - eps) per token below where it was."""
    from copy import deepcopy

    eps, steps = 0.2, 50
    after = {}
    for clipped in (True, False):
        model = deepcopy(tiny_llama)
        batch = sampled_batch(model, [Example("What is 2 + 3?", " 7", weight=-0.5)])
        before = logprob(model, batch).item()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        for _ in range(steps):
            if clipped:
                train_step(model, batch, opt, constant(opt), clip_epsilon=eps)
            else:  # the first version of learning from mistakes: the weighted NLL, no old log-probs
                weighted_loss(model(**inputs_of(batch)).logits, batch["labels"], batch["weights"]).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad()
        after[clipped] = logprob(model, batch).item()
    tokens = int((batch["labels"][:, 1:] != -100).sum())
    floor = before + tokens * math.log(1 - eps)
    assert after[True] < before  # pushed down ...
    assert after[True] > floor - 3.0, (before, after, floor)  # ... by a bounded amount
    assert after[False] < after[True] - 10.0, (before, after)  # unclipped: far lower, and still falling


def test_a_weighted_batch_without_old_logprobs_is_refused(tiny_llama):
    from copy import deepcopy

    model = deepcopy(tiny_llama)
    batch = one_batch([Example("What is 2 + 3?", " 7", weight=-0.5)])
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with pytest.raises(ValueError, match="log-probs"):
        train_step(model, batch, opt, constant(opt))


def test_an_all_supervised_batch_takes_exactly_the_models_own_loss(tiny_llama):
    from copy import deepcopy

    model = deepcopy(tiny_llama)
    examples = [Example("What is 2 + 3?", " 5"), Example("7 + 1 =", " 8, so the answer is 8")]
    batch = sampled_batch(model, examples)
    assert "old_logprobs" not in batch
    with torch.no_grad():
        theirs = model(**inputs_of(batch), labels=batch["labels"]).loss.item()
        # Given old log-probs, all-ones rows are still plain NLL.
        ours = weighted_loss(model(**inputs_of(batch)).logits, batch["labels"], batch["weights"],
                             torch.zeros_like(batch["labels"], dtype=torch.float32)).item()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss, _ = train_step(model, batch, opt, constant(opt))
    assert loss == theirs  # the same computation, exactly
    assert ours == pytest.approx(theirs, rel=1e-5)


def test_supervised_and_weighted_rows_share_the_batchs_token_count(tiny_llama):
    """A mixed batch: the supervised rows' summed NLL plus the weighted rows' surrogate (-A per token at
    r = 1), over all the completion tokens."""
    examples = [Example("What is 2 + 3?", " 5"), Example("7 + 1 =", " 9, or so", weight=-0.5),
                Example("x", " yz", weight=0.25)]
    batch = sampled_batch(tiny_llama, examples)
    scored = (batch["labels"][:, 1:] != -100).sum(dim=1).float()
    sft = batch["weights"] == 1
    with torch.no_grad():
        loss = weighted_loss(tiny_llama(**inputs_of(batch)).logits, batch["labels"], batch["weights"],
                             batch["old_logprobs"]).item()
    expected = (-logprob(tiny_llama, batch)[sft].sum() - (batch["weights"] * scored)[~sft].sum()) / scored.sum()
    assert loss == pytest.approx(expected.item(), rel=1e-5)


def test_the_rloo_objective_adds_the_wrong_samples_of_mixed_tasks_to_a_round(tmp_path):
    from cosr.agents.curriculum import make_strategy
    from cosr.agents.trainer import training_examples
    from cosr.config import load_config
    from cosr.graphs.context import Context
    from cosr.store import TrajectoryStore

    cfg = load_config(None, {"run_dir": tmp_path, "training.rehearsal_ratio": 0.0, "training.replay_fraction": 0.0,
                             "training.objective": "rloo", "training.negative_weight": 0.5,
                             "curator.help.worked_examples": 0})
    # Without rehearsal, demonstrations or worked examples the round's examples need only the store: no student,
    # no skills.
    ctx = Context(config=cfg, run_id="r", run_dir=tmp_path, skills=None, store=TrajectoryStore(tmp_path / "s.sqlite"),
                  student=None, strategy=make_strategy("zpd", cfg.curator))
    mixed = [sample(1, 0, True)] + [sample(1, k, False) for k in (1, 2, 3)]  # advantages 1, -1/3 x 3
    ctx.store.add_trajectories(mixed + [sample(2, k, True) for k in range(4)] + [sample(3, k, False) for k in range(4)])
    pairs = training_examples(ctx, 1)
    pushed = sorted((e.completion, e.weight) for e, who in pairs if who == "mistakes")
    assert pushed == [(" 12", pytest.approx(-1 / 3)), (" 13", pytest.approx(-1 / 3)), (" 14", pytest.approx(-1 / 3))]
    assert sorted(e.completion for e, who in pairs if who != "mistakes") == [" 2", " 3"]  # the right ones, distinct
    assert all(e.weight == 1.0 for e, who in pairs if who != "mistakes")
    sft = cfg.model_copy(update={"training": cfg.training.model_copy(update={"objective": "sft"})})
    assert not any(who == "mistakes" for _, who in training_examples(Context(**{**vars(ctx), "config": sft}), 1))
