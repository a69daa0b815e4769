"""Check that a served LoRA adapter really took effect, by log-probabilities the adapter predicts.

After a hot swap a server can go on sampling from the previous policy: a load that failed or was
skipped, a name an older round already holds, a container that sees other files at the adapter's
path. RL stacks have trained for whole runs on a stale policy without noticing. Here the same base
weights are run locally with and without the adapter (transformers + peft) on a probe text: the
adapter's own greedy continuation of a probe prompt. The server must return the local adapter's
log-probabilities under the adapter's name and the base's under the base name, and the two must
differ as the local pair does; anything else is a StaleAdapter (or, if even the base disagrees, a
ServedWeightsMismatch: the local weights are not what the server serves).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from cosr.training.quiet import quiet_loading

log = logging.getLogger(__name__)
PROBE_TOKENS = 8  # length of the adapter's continuation appended to the probe prompt


class StaleAdapter(RuntimeError):
    """The server does not serve the adapter we trained under the name we asked for."""


class ServedWeightsMismatch(RuntimeError):
    """The served base model disagrees with the local weights, so no adapter can be checked."""


def gap(a: Sequence[float], b: Sequence[float]) -> float:
    """Mean absolute difference of two log-probability sequences (nats per token)."""
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / max(1, len(a))


@dataclass(frozen=True)
class ProbeResult:
    adapter: str
    token_ids: list[int]
    local_base: list[float]
    local_adapter: list[float]
    served_base: list[float]
    served_adapter: list[float]
    tolerance: float

    @property
    def effect(self) -> float:  # how far the adapter moves the probe, locally
        return gap(self.local_adapter, self.local_base)

    @property
    def served_error(self) -> float:  # served adapter vs local adapter
        return gap(self.served_adapter, self.local_adapter)

    @property
    def conclusive(self) -> bool:  # the adapter moves the probe well beyond serving noise
        return self.effect > 2 * self.tolerance


def local_logprobs(weights: Path, adapter_dir: Path, prompt: str) -> tuple[list[int], list[float], list[float]]:
    """(probe token ids, base log-probs, adapter log-probs) of every probe token after the first."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_loading()
    tokenizer = AutoTokenizer.from_pretrained(weights)
    base = AutoModelForCausalLM.from_pretrained(weights, dtype=torch.float32).eval()
    model = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        ids = model.generate(torch.tensor([prompt_ids]), max_new_tokens=PROBE_TOKENS, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
        targets = ids[0, 1:, None]
        with_adapter = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1).gather(1, targets)
        with model.disable_adapter():
            without = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1).gather(1, targets)
    return ids[0].tolist(), without[:, 0].tolist(), with_adapter[:, 0].tolist()


def served_logprobs(base_url: str, model: str, token_ids: list[int], *, api_key: str = "EMPTY",
                    timeout: float = 60.0) -> list[float]:
    """The server's log-probabilities of the same tokens under `model` (vLLM's prompt_logprobs)."""
    r = httpx.post(f"{base_url.rstrip('/')}/completions", timeout=timeout,
                   headers={"Authorization": f"Bearer {api_key}"},
                   json={"model": model, "prompt": token_ids, "max_tokens": 1, "temperature": 0.0,
                         "prompt_logprobs": 0})
    if r.status_code != 200:
        raise StaleAdapter(f"the server at {base_url} did not score the probe as {model!r} "
                           f"({r.status_code}): {r.text[:300]}")
    body = r.json()
    if body.get("model") != model:
        raise StaleAdapter(f"asked the server for {model!r}, it answered as {body.get('model')!r}")
    per_token = body["choices"][0].get("prompt_logprobs")
    if not per_token:
        raise StaleAdapter(f"the server at {base_url} returned no prompt_logprobs: is it vLLM?")
    return [entry[str(tok)]["logprob"] for tok, entry in zip(token_ids[1:], per_token[1:], strict=True)]


def probe_adapter(*, base_url: str, base_model: str, adapter_name: str, adapter_dir: Path, weights: Path,
                  prompt: str, tolerance: float, api_key: str = "EMPTY", timeout: float = 60.0) -> ProbeResult:
    """Raise StaleAdapter unless `adapter_name` on the server behaves as `adapter_dir` on `weights`."""
    ids, local_base, local_adapter = local_logprobs(weights, adapter_dir, prompt)
    served_base = served_logprobs(base_url, base_model, ids, api_key=api_key, timeout=timeout)
    served_adapter = served_logprobs(base_url, adapter_name, ids, api_key=api_key, timeout=timeout)
    result = ProbeResult(adapter_name, ids, local_base, local_adapter, served_base, served_adapter, tolerance)
    base_error = gap(served_base, local_base)
    if base_error > tolerance:
        raise ServedWeightsMismatch(
            f"the served base {base_model!r} differs from the local weights {weights} by {base_error:.4f} "
            f"nats/token (tolerance {tolerance}): student.weights must be the served model; a bf16 server "
            "needs a larger student.adapter_probe_tolerance (or serve with --dtype float32)")
    if result.served_error > tolerance:
        like_base = gap(served_adapter, local_base) <= tolerance
        what = "the base model's" if like_base else "neither the adapter's nor the base's (an older adapter?)"
        raise StaleAdapter(
            f"adapter {adapter_name!r} did not take effect: the server's log-probabilities for the probe are "
            f"{what}; they differ from the adapter at {adapter_dir} by {result.served_error:.4f} nats/token "
            f"(tolerance {tolerance}; the adapter itself moves them by {result.effect:.4f})")
    if not result.conclusive:  # served == predicted, but predicted is too close to the base to tell
        log.warning("adapter probe inconclusive for %s: the adapter moves the probe by only %.4f nats/token "
                    "(tolerance %s)", adapter_name, result.effect, tolerance)
    return result
