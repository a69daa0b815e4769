"""The small self-play run the resume and fault tests start as a real `cosr selfplay`, written as a TOML file."""

from __future__ import annotations

from pathlib import Path


def write_run_toml(cfg, path: Path, *, rounds: int = 3, top: str = "") -> None:
    """`cfg` (the tiny_run_config fixture) as a TOML file: a few steps a round; `top`: more top-level settings."""
    s = cfg.student
    path.write_text(f"""{top}
seed = {cfg.seed}
rounds = {rounds}
skills = "{cfg.skills}"
[student]
model = "{s.model}"
max_new_tokens = {s.max_new_tokens}
batch_size = {s.batch_size}
[curator]
batch_size = {cfg.curator.batch_size}
[training]
every_verified = 6
max_tasks_per_round = 24
epochs = 1
batch_size = 8
[eval]
per_skill = 4
levels = [1, 2]
""")
