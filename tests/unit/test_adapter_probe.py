"""The adapter probe's choices without a server: which text it probes (the one the round's adapter moves
most, from the examples train_lora keeps beside it), the tolerance it fits to the serving precision, and
its verdicts, inconclusive included, on given served log-probabilities."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from cosr.config import TrainingConfig
from cosr.faults import StudentDown
from cosr.training.adapter_probe import (
    PROBE_FILE,
    PROBE_TEXTS,
    TOLERANCE_FLOOR,
    InconclusiveProbe,
    LocalProbe,
    ServedWeightsMismatch,
    StaleAdapter,
    fitted_tolerance,
    judge,
    local_probe,
)
from cosr.training.data import Example

PROMPT = "What is 2 + 3?\nAnswer:"


@pytest.fixture(scope="module")
def student_dir() -> Path:
    from cosr.graphs.collaborators import ensure_embedded_student

    return ensure_embedded_student(log=lambda m: None)


EXAMPLES = [Example(f"What is {a} * {b}?" + " Think." * n + "\nAnswer:", " 42")  # of many lengths
            for a, b, n in ((rng.randint(2, 9), rng.randint(2, 9), rng.randint(0, 6)) for rng in [random.Random(0)]
                            for _ in range(40))]


@pytest.fixture(scope="module")
def adapter(student_dir, tmp_path_factory) -> Path:
    """A round that taught the student to answer a product with 42."""
    from cosr.training.lora import train_lora

    cfg = TrainingConfig(lora_r=8, lora_alpha=16, epochs=2, batch_size=8, learning_rate=5e-3, device="cpu")
    out = tmp_path_factory.mktemp("adapters") / "round-001"
    train_lora(student_dir, EXAMPLES, cfg, out, seed=0)
    return out


def test_a_round_keeps_its_shortest_distinct_examples_for_the_probe(adapter):
    kept = [t["prompt"] for t in json.loads((adapter / PROBE_FILE).read_text())["texts"]]
    left = {e.prompt for e in EXAMPLES} - set(kept)
    assert len(set(kept)) == len(kept) == PROBE_TEXTS and left
    assert max(map(len, kept)) <= min(map(len, left))


def test_the_probe_takes_the_text_the_adapter_moves_most(student_dir, adapter, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(student_dir)
    trained, other = "What is 3 * 7?\nAnswer:", "Write a function that returns the sum of a list.\n"
    chosen = tmp_path / "two-texts"  # the adapter with two candidates: a trained-on kind of text, and another
    shutil.copytree(adapter, chosen)
    rows = [{"prompt": other, "completion": " def f(xs): return sum(xs)"}, {"prompt": trained, "completion": " 42"}]
    (chosen / PROBE_FILE).write_text(json.dumps({"texts": rows}))
    probe = local_probe(student_dir, chosen, PROMPT)

    def ids(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    texts = {(p, c): ids(p + c) + [tokenizer.eos_token_id] for p in (other, trained) for c in (" 42", " def f(xs): return sum(xs)")}
    assert probe.token_ids in texts.values()  # each prompt with its own completion or the other's
    prompt = next(p for (p, _), t in texts.items() if t == probe.token_ids)
    assert probe.start == len(ids(prompt)) and len(probe.base) == len(probe.adapter) == len(probe.token_ids) - probe.start
    alone = tmp_path / "one-text"  # only the trained-on text: nothing to pair it with
    shutil.copytree(adapter, alone)
    (alone / PROBE_FILE).write_text(json.dumps({"texts": rows[1:]}))
    own = local_probe(student_dir, alone, PROMPT)
    assert own.token_ids == texts[(trained, " 42")] and probe.effect >= own.effect

    older = tmp_path / "older"  # an adapter of an older run: no probe.json, the prompt's continuation only
    shutil.copytree(adapter, older, ignore=shutil.ignore_patterns(PROBE_FILE))
    fallback = local_probe(student_dir, older, PROMPT)
    prompt_ids = tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    assert fallback.token_ids[:len(prompt_ids)] == prompt_ids and fallback.start == len(prompt_ids)
    assert probe.effect > fallback.effect > 0
    assert local_probe(student_dir, adapter, PROMPT).effect >= probe.effect  # 16 trained-on texts: one moves most


@pytest.mark.parametrize("base_error, upper, expected", [
    (1e-6, 0.1, TOLERANCE_FLOOR),  # a float32 server: the floor
    (2e-3, 0.1, 2e-2),  # ten times the served base's error
    (0.03, 0.1, 0.1),  # a bf16 server: the configured bound
])
def test_the_tolerance_fits_the_serving_precision(base_error, upper, expected):
    assert fitted_tolerance(base_error, upper) == pytest.approx(expected)


LOCAL = LocalProbe(token_ids=[1, 2, 3, 4], start=1, base=[-1.0, -2.0, -3.0], adapter=[-0.5, -1.5, -2.5])


def _judge(local: LocalProbe, served_base: list[float], served_adapter: list[float], upper: float = 0.1):
    return judge(local, served_base, served_adapter, adapter_name="round-001", adapter_dir=Path("/a"),
                 base_model="student", weights=Path("/w"), upper=upper)


def test_a_served_adapter_that_matches_is_conclusive_at_float32_precision():
    result = _judge(LOCAL, [x + 1e-6 for x in LOCAL.base], [x - 1e-6 for x in LOCAL.adapter])
    assert result.conclusive and result.tolerance == TOLERANCE_FLOOR and result.effect == pytest.approx(0.5)


@pytest.mark.parametrize("served, message", [
    (LOCAL.base, "the base model's"),
    ([x + 0.3 for x in LOCAL.adapter], "neither the adapter's nor the base's"),
    ([x - 0.001 for x in LOCAL.adapter], "differ from the adapter"),  # 1e-3 off: far beyond a float32 server's noise
])
def test_a_served_adapter_that_does_not_match_is_stale(served, message):
    with pytest.raises(StaleAdapter, match=message) as e:
        _judge(LOCAL, LOCAL.base, served)
    assert not isinstance(e.value, InconclusiveProbe)


def test_an_adapter_that_barely_moves_is_told_apart_at_float32_and_inconclusive_at_bf16():
    barely = LocalProbe(token_ids=[1, 2, 3], start=1, base=[-1.0, -2.0], adapter=[-1.001, -2.001])  # 1e-3 nats
    assert _judge(barely, barely.base, barely.adapter).conclusive  # float32: tolerance 1e-4
    bf16_base = [x + 0.02 for x in barely.base]
    with pytest.raises(InconclusiveProbe, match=r"student\.adapter_probe = false") as e:
        _judge(barely, bf16_base, [x + 0.02 for x in barely.adapter])
    assert "\n" not in str(e.value) and isinstance(e.value, StudentDown) and e.value.exit_code == 4


def test_a_served_base_off_the_local_weights_is_a_mismatch():
    with pytest.raises(ServedWeightsMismatch, match="student.weights must be the served model"):
        _judge(LOCAL, [x + 0.5 for x in LOCAL.base], LOCAL.adapter)
