"""Check that a served LoRA adapter really took effect, by log-probabilities the adapter predicts.

After a hot swap a server can go on sampling from the previous policy: a load that failed or was
skipped, a name an older round already holds, a restarted server that lost it, a container that sees
other files at the adapter's path. RL stacks have trained for whole runs on a stale policy without
noticing. Here the same base weights are run locally with and without the adapter (transformers +
peft, float32) on a probe text: the one the adapter moves most among its own training examples
(`probe.json`, written by train_lora), those prompts with another example's completion, and the
adapter's greedy continuation of the configured probe prompt. The server must return the local
adapter's log-probabilities under the adapter's name and the base's under the base name, within a
tolerance fitted to how closely the served base matches the local one; anything else is a StaleAdapter (or, if even the base disagrees, a ServedWeightsMismatch: the local
weights are not what the server serves). An adapter the probe cannot tell from the base at that
precision is an InconclusiveProbe: an error too, since "not shown stale" is not "shown served".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from cosr.faults import StudentDown
from cosr.training.data import Example
from cosr.training.quiet import quiet_loading

PROBE_FILE = "probe.json"  # in the adapter's folder: candidate probe texts, the round's own examples
PROBE_TEXTS = 16  # texts kept: enough that one is moved clearly, few enough (x2 candidates) for one padded pass
PROBE_TOKENS = 8  # length of the adapter's continuation appended to the probe prompt
# The tolerance is TOLERANCE_FACTOR x the served base's error on the probe, at least TOLERANCE_FLOOR and at
# most student.adapter_probe_tolerance. A float32 server matches transformers to ~1e-6 nats/token, so the
# floor rules (a wrong adapter then shows at 1e-4); a bf16 one errs by ~0.03, and the configured bound rules.
# The served adapter errs a little more than the base (its LoRA matmuls are extra rounding), hence the factor.
TOLERANCE_FACTOR = 10.0
TOLERANCE_FLOOR = 1e-4


class StaleAdapter(StudentDown):
    """The server does not serve the adapter we trained under the name we asked for."""


class ModelNotServed(StaleAdapter):
    """The server knows no model of that name (404): a restarted vLLM forgets runtime-loaded adapters."""


class InconclusiveProbe(StaleAdapter):
    """The adapter moves the probe too little, at the server's precision, to tell it from the base."""


class ServedWeightsMismatch(StudentDown):
    """The served base model disagrees with the local weights, so no adapter can be checked."""


def gap(a: Sequence[float], b: Sequence[float]) -> float:
    """Mean absolute difference of two log-probability sequences (nats per token)."""
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / max(1, len(a))


def fitted_tolerance(base_error: float, upper: float) -> float:
    """The tolerance for the served adapter, from the served base's error on the same probe (rule above)."""
    return min(upper, max(TOLERANCE_FLOOR, TOLERANCE_FACTOR * base_error))


def write_probe_texts(examples: Sequence[Example], out_dir: Path) -> None:
    """Keep the round's shortest distinct examples beside its adapter, for the probe to choose from."""
    texts = sorted({(e.prompt, e.completion) for e in examples}, key=lambda pc: (len(pc[0] + pc[1]), pc))
    rows = [{"prompt": p, "completion": c} for p, c in texts[:PROBE_TEXTS]]
    (out_dir / PROBE_FILE).write_text(json.dumps({"texts": rows}, indent=1))


@dataclass(frozen=True)
class LocalProbe:
    """The chosen probe: its tokens and, from `start` on, the local base's and adapter's log-probabilities."""

    token_ids: list[int]
    start: int  # the first scored token (the completion's); the prompt before it is context
    base: list[float]
    adapter: list[float]

    @property
    def effect(self) -> float:  # how far the adapter moves the probe, nats per scored token
        return gap(self.adapter, self.base)

    def scored(self, logprobs: Sequence[float]) -> list[float]:
        """The scored part of log-probabilities of token_ids[1:] (what the server returns)."""
        return list(logprobs[self.start - 1:])


def local_probe(weights: Path, adapter_dir: Path, prompt: str) -> LocalProbe:
    """Score every candidate text teacher-forced with and without the adapter (float32, two padded forward
    passes) and keep the one whose completion the adapter moves most per token. The candidates: the
    adapter's probe.json texts (none for adapters of older runs), their prompts each with the next text's
    completion, and the adapter's greedy continuation of `prompt`."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_loading()
    tokenizer = AutoTokenizer.from_pretrained(weights)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    base = AutoModelForCausalLM.from_pretrained(weights, dtype=torch.float32).eval()
    model = PeftModel.from_pretrained(base, str(adapter_dir)).eval()

    def ids(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    eos = [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]
    texts = _probe_texts(adapter_dir)
    # Each prompt with its own completion and with the next text's: on its own answers a confident student's
    # log-probabilities sit near 0, where even a large change of logits moves them by ~1e-4; on another
    # task's answer they sit far from 0 and move by the change itself.
    pairs = [(t["prompt"], t["completion"]) for t in texts]
    pairs += [(t["prompt"], texts[(i + 1) % len(texts)]["completion"]) for i, t in enumerate(texts) if len(texts) > 1]
    candidates = [(ids(p), ids(c) + eos) for p, c in pairs]
    prompt_ids = ids(prompt)
    with torch.inference_mode():
        continued = model.generate(torch.tensor([prompt_ids]), max_new_tokens=PROBE_TOKENS, do_sample=False,
                                   pad_token_id=pad)[0, len(prompt_ids):].tolist()
        candidates.append((prompt_ids, continued))
        candidates = [(p, c) for p, c in candidates if p and c]
        width = max(len(p) + len(c) for p, c in candidates)
        batch = torch.full((len(candidates), width), pad)
        mask = torch.zeros_like(batch)
        for row, (p, c) in enumerate(candidates):  # right-padded: a causal model's real positions are unchanged
            batch[row, :len(p) + len(c)], mask[row, :len(p) + len(c)] = torch.tensor(p + c), 1
        targets = batch[:, 1:, None]
        with_adapter = torch.log_softmax(model(input_ids=batch, attention_mask=mask).logits[:, :-1].float(), -1)
        with model.disable_adapter():
            without = torch.log_softmax(model(input_ids=batch, attention_mask=mask).logits[:, :-1].float(), -1)
        with_adapter, without = with_adapter.gather(2, targets)[..., 0], without.gather(2, targets)[..., 0]
    probes = []
    for row, (p, c) in enumerate(candidates):
        scored = slice(len(p) - 1, len(p) + len(c) - 1)
        probes.append(LocalProbe(p + c, len(p), without[row, scored].tolist(), with_adapter[row, scored].tolist()))
    return max(probes, key=lambda probe: probe.effect)


def _probe_texts(adapter_dir: Path) -> list[dict]:
    path = adapter_dir / PROBE_FILE
    return json.loads(path.read_text())["texts"] if path.exists() else []


@dataclass(frozen=True)
class ProbeResult:
    adapter: str
    token_ids: list[int]
    local_base: list[float]
    local_adapter: list[float]
    served_base: list[float]
    served_adapter: list[float]
    tolerance: float  # fitted to the served base's error (fitted_tolerance)

    @property
    def effect(self) -> float:  # how far the adapter moves the probe, locally
        return gap(self.local_adapter, self.local_base)

    @property
    def served_error(self) -> float:  # served adapter vs local adapter
        return gap(self.served_adapter, self.local_adapter)

    @property
    def conclusive(self) -> bool:
        # Within the tolerance of the adapter and farther than twice it from the base, the served adapter is
        # farther than the tolerance from the base (the triangle inequality): it cannot be the base.
        return self.effect > 2 * self.tolerance


def judge(local: LocalProbe, served_base: list[float], served_adapter: list[float], *, adapter_name: str,
          adapter_dir: Path, base_model: str, weights: Path, upper: float) -> ProbeResult:
    """The verdict on the scored log-probabilities: a ProbeResult, or the error that says what is wrong."""
    base_error = gap(served_base, local.base)
    if base_error > upper:
        raise ServedWeightsMismatch(
            f"the served base {base_model!r} differs from the local weights {weights} by {base_error:.4f} "
            f"nats/token (tolerance {upper}): student.weights must be the served model; a bf16 server "
            "needs a larger student.adapter_probe_tolerance (or serve with --dtype float32)")
    tolerance = fitted_tolerance(base_error, upper)
    result = ProbeResult(adapter_name, local.token_ids, local.base, local.adapter, served_base, served_adapter,
                         tolerance)
    if result.served_error > tolerance:
        like_base = gap(served_adapter, local.base) <= tolerance
        what = "the base model's" if like_base else "neither the adapter's nor the base's (an older adapter?)"
        raise StaleAdapter(
            f"adapter {adapter_name!r} did not take effect: the server's log-probabilities for the probe are "
            f"{what}; they differ from the adapter at {adapter_dir} by {result.served_error:.2g} nats/token "
            f"(tolerance {tolerance:.2g}; the adapter itself moves them by {result.effect:.2g})")
    if not result.conclusive:
        raise InconclusiveProbe(
            f"adapter probe inconclusive for {adapter_name!r}: the adapter moves even its most-moved probe text "
            f"by only {result.effect:.2g} nats/token, not clearly above the serving tolerance {tolerance:.2g} "
            f"(the served base is off by {base_error:.2g}), so the server cannot be shown to serve it; serve in "
            "float32 (--dtype float32), or set student.adapter_probe = false to go on unchecked")
    return result


def served_logprobs(base_url: str, model: str, token_ids: list[int], *, api_key: str = "EMPTY",
                    timeout: float = 60.0) -> list[float]:
    """The server's log-probabilities of token_ids[1:] under `model` (vLLM's prompt_logprobs)."""
    r = httpx.post(f"{base_url.rstrip('/')}/completions", timeout=timeout,
                   headers={"Authorization": f"Bearer {api_key}"},
                   json={"model": model, "prompt": token_ids, "max_tokens": 1, "temperature": 0.0,
                         "prompt_logprobs": 0})
    if r.status_code >= 500:  # a server starting or failing: the caller may wait for it
        r.raise_for_status()
    if r.status_code != 200:
        stale = ModelNotServed if r.status_code == 404 else StaleAdapter
        raise stale(f"the server at {base_url} did not score the probe as {model!r} "
                    f"({r.status_code}): {' '.join(r.text[:300].split())}")
    body = r.json()
    if body.get("model") != model:
        raise StaleAdapter(f"asked the server for {model!r}, it answered as {body.get('model')!r}")
    per_token = body["choices"][0].get("prompt_logprobs")
    if not per_token:
        raise StaleAdapter(f"the server at {base_url} returned no prompt_logprobs: is it vLLM?")
    return [entry[str(tok)]["logprob"] for tok, entry in zip(token_ids[1:], per_token[1:], strict=True)]


def check_served(local: LocalProbe, *, base_url: str, base_model: str, adapter_name: str, adapter_dir: Path,
                 weights: Path, upper: float, api_key: str = "EMPTY", timeout: float = 60.0) -> ProbeResult:
    """Raise unless `adapter_name` on the server scores `local`'s probe as the local adapter does."""
    served_base = local.scored(served_logprobs(base_url, base_model, local.token_ids, api_key=api_key,
                                               timeout=timeout))
    served_adapter = local.scored(served_logprobs(base_url, adapter_name, local.token_ids, api_key=api_key,
                                                  timeout=timeout))
    return judge(local, served_base, served_adapter, adapter_name=adapter_name, adapter_dir=adapter_dir,
                 base_model=base_model, weights=weights, upper=upper)


def probe_adapter(*, base_url: str, base_model: str, adapter_name: str, adapter_dir: Path, weights: Path,
                  prompt: str, tolerance: float, api_key: str = "EMPTY", timeout: float = 60.0) -> ProbeResult:
    """Raise StaleAdapter unless `adapter_name` on the server behaves as `adapter_dir` on `weights`;
    `tolerance` bounds the fitted one (student.adapter_probe_tolerance)."""
    return check_served(local_probe(weights, adapter_dir, prompt), base_url=base_url, base_model=base_model,
                        adapter_name=adapter_name, adapter_dir=adapter_dir, weights=weights, upper=tolerance,
                        api_key=api_key, timeout=timeout)
