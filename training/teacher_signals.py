"""Teacher signals from the papers, for the Teacher to use.

RLT (Reinforcement-Learning Teachers): a teacher is given the question and its solution and writes an
explanation; the explanation's reward is how much likelier the student finds the solution after
reading it, measured as the student's mean log-probability of the solution tokens with the
explanation minus without it. Positive: the explanation teaches; negative: it confuses. The Teacher
(agents/teacher.py) shows the hint of the highest reward among its candidates.
"""

from __future__ import annotations

from cosr.training.data import Example, encode, pad, token_logprobs


def solution_logprobs(model, tokenizer, contexts: list[str], solutions: list[str]) -> list[float]:
    """The mean log-probability the model gives each solution's tokens (and its end) right after its context,
    every (context, solution) pair in one padded forward pass: the rows a LoRA round trains on, scored."""
    import torch

    if not contexts:
        return []
    rows = encode(tokenizer, [Example(c, s) for c, s in zip(contexts, solutions, strict=True)],
                  getattr(model.config, "max_position_embeddings", 2048))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    batch = pad(rows, pad_id, model.device)
    with torch.inference_mode():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    scored = batch["labels"][:, 1:] != -100
    return (token_logprobs(logits, batch["labels"]).sum(dim=1) / scored.sum(dim=1)).tolist()


def best_explanation(model, tokenizer, bare: str, taught: list[str], solution: str) -> tuple[int, list[float]]:
    """Which of the candidate contexts `taught` (the question with one explanation each) makes `solution`
    likeliest against the question alone `bare`: the RLT reward of each, and the index of the best."""
    logps = solution_logprobs(model, tokenizer, [bare, *taught], [solution] * (len(taught) + 1))
    rewards = [lp - logps[0] for lp in logps[1:]]
    return max(range(len(rewards)), key=rewards.__getitem__), rewards
