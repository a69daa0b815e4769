"""Teacher signals from the papers, for the Curator's strategies to use.

RLT (Reinforcement-Learning Teachers): a teacher is given the question and its solution and writes an
explanation; the explanation's reward is how much likelier the student finds the solution after
reading it, measured as the student's mean log-probability of the solution tokens with the
explanation minus without it. Positive: the explanation teaches; negative: it confuses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RLTReward:
    with_explanation: float  # mean log-probability per solution token, explanation in context
    without: float  # the same, question only
    reward: float  # with_explanation - without


def solution_logprob(model, tokenizer, context: str, solution: str) -> float:
    """Mean log-probability the model gives the tokens of `solution` (and its end) right after `context`."""
    import torch

    ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
    sol = tokenizer(solution, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids = torch.tensor([ctx + sol], device=model.device)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0, len(ctx) - 1:-1].float()
    logp = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(sol, device=model.device)[:, None])
    return float(logp.mean())


def rlt_reward(model, tokenizer, question: str, explanation: str, solution: str,
               template: str = "{question}\n{explanation}\nAnswer:") -> RLTReward:
    """The RLT reward of `explanation` for teaching `solution` to the student `model`."""
    bare = template.replace("{question}", question).replace("{explanation}\n", "").replace("{explanation}", "")
    taught = template.replace("{question}", question).replace("{explanation}", explanation)
    with_expl = solution_logprob(model, tokenizer, taught, solution)
    without = solution_logprob(model, tokenizer, bare, solution)
    return RLTReward(with_expl, without, with_expl - without)
