"""Supervised examples as token ids: loss on the completion only, the prompt is context.

Examples of weight 1 are supervised (the model's own mean token cross-entropy). The others are sampled
answers weighted by a policy-gradient advantage (learning from mistakes, agents/mistakes.py): they take a
PPO/GRPO clipped surrogate against the log-probs of the policy that sampled them (`with_old_logprobs`,
`weighted_loss`), so that pushing a wrong answer down stops once it is 1 - clip_epsilon times as likely.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    prompt: str  # already rendered with the student's prompt template
    completion: str  # what the student should have written after the prompt
    # How much, and which way, to move the completion's likelihood: 1.0 for supervised examples; a
    # policy-gradient advantage for the sampled ones of learning from mistakes (agents/mistakes.py), negative
    # for a wrong answer to push down.
    weight: float = 1.0


# input_ids, labels (-100 over the prompt), weight, and for a weighted row (weight != 1) the sampling policy's
# log-prob of each token at its position in input_ids (0.0 where nothing is scored); None until
# `with_old_logprobs` fills it, and always None for a supervised row.
Encoded = tuple[list[int], list[int], float, list[float] | None]


def encode(tokenizer, examples: Sequence[Example], max_len: int) -> list[Encoded]:
    """(input_ids, labels, weight, None) per example; labels are -100 over the prompt. Too-long examples are cut
    from the left."""
    prompts = tokenizer([ex.prompt for ex in examples], add_special_tokens=False)["input_ids"]
    completions = tokenizer([ex.completion for ex in examples], add_special_tokens=False)["input_ids"]
    out = []
    for ex, p, c in zip(examples, prompts, completions, strict=True):
        c = c + [tokenizer.eos_token_id]
        out.append(((p + c)[-max_len:], ([-100] * len(p) + c)[-max_len:], ex.weight, None))
    return out


def pad(rows: Sequence[Encoded], pad_id: int, device: str) -> dict:
    """Right-padded (input_ids, attention_mask, labels) tensors, each row's weight, and the rows' old log-probs
    (0.0 for a row without them) when some row has them."""
    import torch

    width = max(len(row[0]) for row in rows)
    ids = torch.full((len(rows), width), pad_id)
    labels = torch.full((len(rows), width), -100)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (i, l, *_) in enumerate(rows):
        ids[r, :len(i)], labels[r, :len(l)], mask[r, :len(i)] = torch.tensor(i), torch.tensor(l), 1
    weights = torch.tensor([row[2] for row in rows], dtype=torch.float32)
    batch = {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device),
             "weights": weights.to(device)}
    old = [row[3] if len(row) > 3 else None for row in rows]
    if any(o is not None for o in old):
        if any(o is None and row[2] != 1 for o, row in zip(old, rows, strict=True)):
            raise ValueError("a weighted row without the sampling policy's log-probs (with_old_logprobs)")
        old_lp = torch.zeros((len(rows), width), dtype=torch.float32)
        for r, o in enumerate(old):
            if o is not None:
                old_lp[r, :len(o)] = torch.tensor(o, dtype=torch.float32)
        batch["old_logprobs"] = old_lp.to(device)
    return batch


def batches(encoded: list[Encoded], batch_size: int, pad_id: int, rng: random.Random,
            device: str = "cpu") -> Iterator[dict]:
    """Shuffled, right-padded batches of (input_ids, attention_mask, labels) tensors and each row's weight,
    plus `old_logprobs` (aligned with input_ids, 0.0 where nothing is scored or the row is supervised) in a
    batch that holds a weighted row; an all-supervised batch carries no `old_logprobs`.

    Rows of similar length share a batch (sorted within shuffled windows of 32 batches): with a mix of
    short arithmetic and long code prompts, random batches spent most of their compute on padding.
    """
    order = list(range(len(encoded)))
    rng.shuffle(order)
    window = batch_size * 32
    chunks = []
    for w in range(0, len(order), window):
        part = sorted(order[w:w + window], key=lambda i: len(encoded[i][0]))
        chunks += [part[s:s + batch_size] for s in range(0, len(part), batch_size)]
    rng.shuffle(chunks)
    for chunk in chunks:
        yield pad([encoded[i] for i in chunk], pad_id, device)


def token_logprobs(logits, labels):
    """Each completion token's log-probability given what precedes it, shape (rows, width - 1): entry t is
    that of token t + 1 (as in HF's loss); 0.0 where the label is -100 (prompt, padding)."""
    import torch.nn.functional as F

    logits, target = logits[:, :-1].float(), labels[:, 1:]  # position t predicts token t + 1, as in HF's loss
    return -F.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100, reduction="none")


def completion_nll(logits, labels):
    """Each row's completion negative log-likelihood, summed over its tokens (labels -100 count for nothing):
    minus the log-probability of the whole completion given the prompt."""
    return -token_logprobs(logits, labels).sum(dim=1)


def with_old_logprobs(model, encoded: list[Encoded], batch_size: int, pad_id: int,
                      device: str = "cpu") -> list[Encoded]:
    """`encoded` with each weighted row's (weight != 1) token log-probs under `model` as it is now: call it
    before the first update, when the model is the policy that sampled the round. One forward pass, without
    gradients, over the weighted rows (sorted by length, in batches); supervised rows are left as they are."""
    import torch

    todo = sorted((i for i, row in enumerate(encoded) if row[2] != 1), key=lambda i: len(encoded[i][0]))
    if not todo:
        return list(encoded)
    out = list(encoded)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for s in range(0, len(todo), batch_size):
                chunk = todo[s:s + batch_size]
                batch = pad([encoded[i][:3] for i in chunk], pad_id, device)
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                lp = token_logprobs(logits, batch["labels"]).cpu()
                for r, i in enumerate(chunk):
                    ids, labels, weight = encoded[i][:3]
                    out[i] = (ids, labels, weight, [0.0] + lp[r, :len(ids) - 1].tolist())
    finally:
        model.train(was_training)
    return out


def weighted_loss(logits, labels, weights, old_logprobs=None, clip_epsilon: float = 0.2):
    """The batch's loss: the sum over rows of each row's summed token losses, over the completion tokens in
    the batch.

    A supervised row (weight exactly 1) takes its tokens' NLL. A weighted row (advantage A = its weight) takes,
    given `old_logprobs` (the sampling policy's, aligned with input_ids as `batches` gives them), the PPO/GRPO
    clipped surrogate per token, -min(r A, clip(r, 1 - eps, 1 + eps) A) with r = exp(logp - logp_old): its
    gradient at r = 1 is that of -A log p, and for A < 0 it stops once a token's ratio falls below 1 - eps.
    Without `old_logprobs` a weighted row takes A x NLL, unclipped: log p has no floor (agents/mistakes.py);
    kept for comparison.

    Per row the sum over tokens, not their mean: that is the sequence's log-likelihood, the quantity
    REINFORCE differentiates, and a per-row mean would weigh a token of a long answer less than one of a
    short answer (the length bias Dr. GRPO removes). The one divisor is a constant of the batch, so the step
    size matches supervised training, supervised and weighted rows share one scale, and with every weight 1
    this is the model's own mean token cross-entropy (to rounding)."""
    import torch

    logp = token_logprobs(logits, labels)
    scored = labels[:, 1:] != -100
    total = scored.sum().clamp(min=1)
    weights = weights.to(logp)
    if old_logprobs is None:
        return (weights * -logp.sum(dim=1)).sum() / total
    adv = weights[:, None]
    ratio = torch.exp(logp - old_logprobs[:, 1:].to(logp))
    surrogate = -torch.minimum(ratio * adv, ratio.clamp(1 - clip_epsilon, 1 + clip_epsilon) * adv)
    per_token = torch.where((weights != 1)[:, None], surrogate, -logp)
    return per_token.masked_fill(~scored, 0.0).sum() / total


def train_step(model, batch: dict, opt, sched, clip_epsilon: float = 0.2) -> tuple[float, int]:
    """One optimizer step on `batch` (gradient clipped at 1.0); returns (loss, tokens in the batch).

    A batch whose weights are all 1 (or that has none) takes the model's own loss, unchanged; one with other
    weights (learning from mistakes) takes `weighted_loss`'s clipped surrogate, and must carry the sampling
    policy's `old_logprobs` (`with_old_logprobs`, then `batches`)."""
    import torch

    weights = batch.get("weights")
    old = batch.get("old_logprobs")
    inputs = {k: v for k, v in batch.items() if k not in ("weights", "old_logprobs")}
    if weights is None or bool((weights == 1).all()):
        loss = model(**inputs).loss
    else:
        if old is None:
            raise ValueError("a batch of weighted rows needs the sampling policy's log-probs (with_old_logprobs)")
        labels = inputs.pop("labels")
        loss = weighted_loss(model(**inputs).logits, labels, weights, old, clip_epsilon)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return loss.item(), int(batch["attention_mask"].sum())
