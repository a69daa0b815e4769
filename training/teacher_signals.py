"""Teacher signals from the papers, for the Teacher to use.

RLT (Reinforcement-Learning Teachers): a teacher is given the question and its solution and writes an
explanation; the explanation's reward is how much likelier the student finds the solution after
reading it, measured as the student's mean log-probability of the solution tokens with the
explanation minus without it. Positive: the explanation teaches; negative: it confuses. The Teacher
(agents/teacher.py) shows the hint of the highest reward among its candidates.
"""

from __future__ import annotations


def solution_logprobs(model, tokenizer, contexts: list[str], solutions: list[str]) -> list[float]:
    """`solution_logprob` for many (context, solution) pairs in one padded forward pass."""
    import torch

    rows, spans = [], []
    for context, solution in zip(contexts, solutions, strict=True):
        ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
        sol = tokenizer(solution, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        rows.append(ctx + sol)
        spans.append((len(ctx), sol))
    if not rows:
        return []
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=model.device)
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=model.device)
    with torch.inference_mode():
        logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
    out = []
    for i, (start, sol) in enumerate(spans):
        picked = logp[i, start - 1:start - 1 + len(sol)].gather(1, torch.tensor(sol, device=model.device)[:, None])
        out.append(float(picked.mean()))
    return out


def best_explanation(model, tokenizer, bare: str, taught: list[str], solution: str) -> tuple[int, list[float]]:
    """Which of the candidate contexts `taught` (the question with one explanation each) makes `solution`
    likeliest against the question alone `bare`: the RLT reward of each, and the index of the best."""
    logps = solution_logprobs(model, tokenizer, [bare, *taught], [solution] * (len(taught) + 1))
    rewards = [lp - logps[0] for lp in logps[1:]]
    return max(range(len(rewards)), key=rewards.__getitem__), rewards
