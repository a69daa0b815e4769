"""The student's sampler (training/sampling.py) against transformers' own `generate`: greedy, it must
give the very same tokens, row by row, however the batch's rows differ in length and end, with or
without a LoRA adapter; every row stops at its end-of-sequence token or at the token limit."""

from __future__ import annotations

import pytest
import torch

from cosr.training.sampling import sample

PROMPTS = ["What is 3 + 4?\nAnswer:", "What is 12345 + 9?\nAnswer:", "1 + 1 =", "What is 8 + 8?\nAnswer: 1",
           "What is the sum of 2 and 7? Think it over, then answer.\nAnswer:", "\nAnswer:"]


def _load(folder, adapter: bool):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    if adapter:  # a LoRA adapter whose B matrices are not zero, so it changes what the model says
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(1)
        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"]))
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.data.normal_(0, 0.5)
        model.eval()
    return tok, model


@pytest.mark.parametrize("adapter", [False, True])
@pytest.mark.parametrize("max_new", [1, 5, 24])
def test_greedy_is_token_for_token_what_generate_gives(tiny_student, adapter, max_new):
    tok, model = _load(tiny_student, adapter)
    enc = tok(PROMPTS, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        ref = model.generate(**enc, max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id,
                             eos_token_id=tok.eos_token_id)
    expected = [[t for t in row if t != tok.pad_token_id] for row in ref[:, enc["input_ids"].shape[1]:].tolist()]
    got = sample(model, enc["input_ids"], enc["attention_mask"], eos_id=tok.eos_token_id, temperature=0.0,
                 max_new_tokens=max_new)
    assert got == expected
    if max_new == 24:  # rows end at different steps: some by their end token, some at the limit
        assert len({len(row) for row in got}) > 1


def test_rows_stop_at_their_end_token_or_the_limit_and_a_seed_repeats_them(tiny_student):
    tok, model = _load(tiny_student, adapter=False)
    enc = tok(PROMPTS * 8, return_tensors="pt", padding=True, add_special_tokens=False)

    def draw(seed: int) -> list[list[int]]:
        torch.manual_seed(seed)
        return sample(model, enc["input_ids"], enc["attention_mask"], eos_id=tok.eos_token_id, temperature=1.5,
                      max_new_tokens=10)

    rows = draw(0)
    assert len(rows) == len(PROMPTS) * 8
    for row in rows:
        assert 1 <= len(row) <= 10 and tok.eos_token_id not in row[:-1]  # nothing after an end token
        assert row[-1] == tok.eos_token_id or len(row) == 10
    assert any(row[-1] == tok.eos_token_id for row in rows) and any(len(row) == 10 for row in rows)
    assert draw(0) == rows and draw(1) != rows  # torch's seed decides the samples
