"""Figures for the embedded student on this machine: training tokens/s, batched generation tokens/s
(KV cache), time and peak memory of one LoRA round, and the adapter's size.

    python benchmarks/training_bench.py [--model DIR] [--examples 512] [--json]

Each figure is printed with what produced it. The LoRA round runs in a child process so its peak
memory (ru_maxrss) is its own, not this process's.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import tempfile
import time
from pathlib import Path


def _examples(n: int, template: str):
    from cosr.graphs.skills import SkillGraph
    from cosr.training.data import Example

    skills, rng = SkillGraph.builtin(), random.Random(0)
    tasks = [skills.make_task(rng.choice(skills.names()), rng.randint(1, 3), rng.randrange(2**31)) for _ in range(n)]
    return [Example(template.replace("{prompt}", t.prompt), " " + skills.worked_answer(t)) for t in tasks], tasks


def _lora_round(model: str, n: int, out: str, queue) -> None:
    from cosr.config import StudentConfig, TrainingConfig
    from cosr.training.lora import train_lora

    examples, _ = _examples(n, StudentConfig().prompt_template)
    t0 = time.perf_counter()
    stats = train_lora(Path(model), examples, TrainingConfig(epochs=2), Path(out))
    queue.put({**stats.to_dict(), "wall_s": round(time.perf_counter() - t0, 2)})


def main() -> None:
    from cosr.config import StudentConfig
    from cosr.graphs.collaborators import ensure_embedded_student

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="HF folder (default: the embedded student)")
    p.add_argument("--examples", type=int, default=512)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    default = args.model is None
    args.model = args.model or str(ensure_embedded_student())

    from cosr.training.backends.hf import HFStudent

    cfg = StudentConfig(model=args.model)
    student = HFStudent(cfg)
    _, tasks = _examples(256, cfg.prompt_template)
    student.generate([t.prompt for t in tasks[:64]], temperature=cfg.temperature, max_new_tokens=cfg.max_new_tokens)
    t0 = time.perf_counter()
    gens = student.generate([t.prompt for t in tasks], temperature=cfg.temperature, max_new_tokens=cfg.max_new_tokens)
    gen_s = time.perf_counter() - t0
    gen_tokens = sum(g.completion_tokens for g in gens)

    queue = mp.get_context("spawn").Queue()
    with tempfile.TemporaryDirectory() as out:
        child = mp.get_context("spawn").Process(target=_lora_round, args=(args.model, args.examples, out, queue))
        child.start()
        child.join()
        lora = queue.get(timeout=5)
    figures = {
        "model": args.model,
        "generation_tokens_per_s": round(gen_tokens / gen_s, 1),
        "generation_answers_per_s": round(len(tasks) / gen_s, 1),
        "generation": f"{len(tasks)} prompts (levels 1-3), batches of {cfg.batch_size}, sampling at {cfg.temperature}, "
                      f"<={cfg.max_new_tokens} new tokens, KV cache",
        "training_tokens_per_s": lora["tokens_per_s"],
        "lora_round_s": lora["wall_s"],
        "lora_round_peak_memory_mb": lora["peak_memory_mb"],
        "lora_round": f"{lora['examples']} examples, {lora['steps']} steps, 2 epochs, device {lora['device']}",
        "adapter_bytes": lora["adapter_bytes"],
        "command": "python benchmarks/training_bench.py" + ("" if default else f" --model {args.model}"),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:<28} {value}")


if __name__ == "__main__":
    main()
