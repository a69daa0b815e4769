"""RunConfig: built-in defaults <- a command's own defaults <- a TOML file <- command-line flags, validated
once and passed down."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


def cosr_home() -> Path:
    """Where cosr keeps what it builds once per machine (students, the vLLM venv, held-out sets)."""
    return Path(os.environ.get("COSR_HOME", Path.home() / ".cache" / "cosr"))


def plugin(kind: str, default: str) -> Any:
    """A field that names a registered plug-in of `kind` (a registry's kind). A plain string, as the ground
    imports no wing: each command checks it against the registry when it loads the config (graphs/plugins.py)."""
    return Field(default=default, json_schema_extra={"plugin": kind})


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StudentConfig(Section):
    backend: str = plugin("student backend", "hf")
    # A Hugging Face model folder (hf), or the served model name (openai). None: the embedded student.
    model: str | None = None
    base_url: str | None = None  # openai: e.g. http://127.0.0.1:8000/v1
    api_key_env: str = "OPENAI_API_KEY"
    # openai: a local copy of the served model's weights, so LoRA rounds can train; None: no training.
    weights: Path | None = None
    # How a task prompt is shown to the model. "{prompt}" is the task; chat models get it as the user turn.
    prompt_template: str = "{prompt}\nAnswer:"
    use_chat_template: bool = False  # hf: the tokenizer's chat template; openai: /chat/completions
    concurrency: int = Field(default=8, ge=1, description="openai: requests in flight at once")
    # The embedded student writes its steps: room for its longest worked solutions (levels 4-5).
    max_new_tokens: int = Field(default=128, ge=1)
    # 1.0: self-play samples from the model's own distribution (expert iteration's proposal), as the
    # training defaults below were tuned with.
    temperature: float = Field(default=1.0, ge=0.0)
    # Self-play samples k answers per task (expert iteration): a task the student solves only sometimes
    # still yields a verified sample most of the time, and those hard tasks are the ones that teach.
    samples_per_task: int = Field(default=4, ge=1)
    eval_temperature: float = Field(default=0.0, ge=0.0)
    # hf: rows computed at once, a matter of speed only: the samples do not depend on it. 256 was the
    # fastest on a CPU; larger batches run to their longest row (docs/history.md).
    batch_size: int = Field(default=256, ge=1)
    request_timeout_s: float = Field(default=60.0, gt=0)
    # openai: how long to retry a server that stopped answering before the run stops (a vLLM restart: ~40 s on 2 CPUs)
    server_wait_s: float = Field(default=120.0, ge=0)
    # openai + weights: after loading an adapter, check that the server really serves it (adapter_probe.py).
    adapter_probe: bool = True
    adapter_probe_prompt: str = "What is 2 + 3?"  # rendered with prompt_template
    # mean nats/token between served and predicted, at most: the probe fits a tighter one to a float32 server's
    # precision; this bound is loose enough for a bf16 server (adapter_probe.py, fitted_tolerance)
    adapter_probe_tolerance: float = Field(default=0.1, gt=0)


class CuratorLLMConfig(Section):
    """The curator LLM of the `llm` strategy: any OpenAI-compatible server ([curator.llm] in TOML)."""

    base_url: str | None = None  # e.g. http://127.0.0.1:8001/v1
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = Field(default=0.7, ge=0.0)
    request_timeout_s: float = Field(default=60.0, gt=0)
    tasks_per_batch: int = Field(default=8, ge=0, description="tasks the LLM writes per batch; the rest come from generators")
    explanation_budget: int = Field(default=16, ge=0, description="explanations of failures the LLM may write per run")
    weakest: int = Field(default=3, ge=1, description="how many of the weakest open skills it writes for")


class HelpConfig(Section):
    """Graded help (agents/teacher.py): on a task every sample failed, the teacher helps in steps, the
    least help first, and the student answers again; what the Verifier accepts becomes training data."""

    # Off by default: on validation (scripts/teaching_ablation.sh, docs/teaching.md) help moved the frontier
    # gain by -0.3 ± 0.6 points against zpd without it (noise) and reached +2 points later (5120 tasks
    # against 2048, 2 seeds), at more compute a round. `--variant` or [curator.help] turns it on.
    enabled: bool = False
    # The strategies whose failed tasks get help; `teachers` decides by arm ("zpd+help"). Random and the
    # threshold rule are left plain: they are the baselines a teacher is measured against.
    strategies: list[str] = ["zpd", "learnability", "progress", "ladder", "llm"]
    # The ladder after an optional hint: prefixes of the task's worked solution, as shares of its length
    # (cut at a word's end), the student writing the rest. 1.0 leaves it only the final answer to state.
    prefixes: list[float] = [0.34, 0.67]
    # A first rung that shows a hint with the task: the explanation the RLT reward ranks best among the
    # skill's fundamentals, its worked steps kept short of the answer, and an LLM teacher's when one is set.
    # Off: on validation it added +0.7 ± 0.9 frontier points to help without it (noise; docs/teaching.md).
    hint: bool = False
    samples: int = Field(default=2, ge=1, description="samples per task at each rung")
    # Help fades as the student succeeds: none at a level whose predicted success is at or above
    # fade_at, and below it the highest rung shrinks with the success (agents/teacher.py, top_rung).
    fade_at: float = Field(default=0.8, gt=0.0, le=1.0)
    # How a helped answer is trained: "bare" (the task alone, then the teacher's start and the student's
    # rest as the answer) or "hinted" (the task with the hint and the start as the prompt, the student's
    # own words as the answer). On validation bare read -0.2 ± 0.6 frontier points against hinted (noise).
    form: Literal["bare", "hinted"] = "hinted"
    # Worked examples (agents/worked_examples.py), with or without the ladder (`enabled`): for each task of
    # these strategies that no sample solved, at a level where the round solved another, this many fresh
    # training problems of that skill and level, answered with the teacher's worked solution. On validation
    # (scripts/teaching_worked.sh, docs/teaching.md) 6 added +4.7 ± 0.9 frontier points to zpd, 2 added +0.9
    # (noise); 18 at one epoch (the compute of 6 at three) -2.7 against 6. 0 turns them off.
    worked_examples: int = Field(default=6, ge=0)

    @model_validator(mode="after")
    def _prefixes(self) -> HelpConfig:
        if any(not 0.0 < f <= 1.0 for f in self.prefixes) or self.prefixes != sorted(self.prefixes):
            raise ValueError(f"help.prefixes must be increasing shares in (0, 1], got {self.prefixes}")
        return self


class CuratorConfig(Section):
    strategy: str = plugin("curriculum strategy", "zpd")
    batch_size: int = Field(default=128, ge=1)
    # Wide: the embedded student learned most on levels it solved rarely; a narrow middle band sent runs to
    # a small level it could only memorise (docs/history.md).
    target_success: tuple[float, float] = (0.1, 0.9)
    mastery_threshold: float = Field(default=0.8, gt=0, lt=1)
    # 12, the Diagnostician's whole recent window: zpd teaches pairs of low success, where a short run of
    # failures comes often by chance.
    stuck_after: int = Field(default=12, ge=1, le=12)
    llm: CuratorLLMConfig = CuratorLLMConfig()
    help: HelpConfig = HelpConfig()
    # The arms the `teachers` strategy shares each batch among (agents/curriculum/teachers.py): registered
    # strategies, each optionally "+help": its failed tasks get graded help (agents/teacher.py), the others'
    # none, so the bandit weighs help too. The field's own rule and random are arms: what they teach is
    # measured beside cosr's teachers in every run.
    teachers: list[str] = ["random", "threshold", "zpd", "zpd+help", "learnability+help"]

    @model_validator(mode="after")
    def _band(self) -> CuratorConfig:
        lo, hi = self.target_success
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"target_success must be 0 <= low < high <= 1, got {self.target_success}")
        return self


class TrainingConfig(Section):
    # Rounds of a few hundred examples moved nothing measurable on the embedded student (docs/history.md).
    every_verified: int = Field(default=3000, ge=1, description="train after this many distinct verified samples")
    max_tasks_per_round: int = Field(default=2000, ge=1, description="end a round after this many tasks even if few verified")
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    # One number, or one per round with the last repeating. 1e-3 for three rounds of 2000 tasks (`cosr
    # selfplay` and `cosr compare` alike): at 2e-4 such a run moved the frontier by about the noise of the
    # student's own samples; faster rates read better after three rounds and worse after six, where they
    # forget held-out facts (docs/history.md, "Learning rate", "Comparing curricula").
    learning_rate: float | list[float] = 1e-3
    epochs: int = Field(default=3, ge=1)
    batch_size: int = Field(default=32, ge=1)
    replay_fraction: float = Field(default=0.5, ge=0.0, le=1.0, description="share of earlier rounds' data mixed in")
    # Train only on tasks that some sample failed: a task every sample solved is one the student already
    # answers, so it seemed to teach little. Off: it taught less, though rounds ran faster (docs/history.md).
    mixed_only: bool = False
    # Rehearsal (agents/rehearsal.py): the base student's own correct greedy answers on a broad sample
    # of training tasks, up to this many rehearsal examples per example of the round's own.
    rehearsal_ratio: float = Field(default=0.5, ge=0.0)
    rehearsal_per_level: int = Field(default=128, ge=1, description="rehearsal tasks drawn per (skill, level)")
    # Its own seed, not the run's: the set is a reading of the base student, so runs of other seeds share it
    # and a compare answers it once instead of once a seed.
    rehearsal_seed: int = 0
    # Teacher demonstrations (TeacherLM/RLT-style): for a task the student failed, the task's verified
    # reference becomes a training sample, up to this many per verified attempt of the student's own.
    # Off: demonstrations, bare or worked, taught no more and cost held-out accuracy, as most failures are
    # far past the student (docs/history.md).
    demonstrations_ratio: float = Field(default=0.0, ge=0.0)
    demonstration_template: str = " {reference}"
    # The student a round delivers (evaluated, exported) is base + w x the trained change, a weight-space
    # interpolation (WiSE-FT; training/export.py), w per adapted module (1.0 for those not named) or one
    # number for all; self-play and the next round go on from the trained adapter. Halving the attention
    # change kept what a run taught on the levels it practised and lost fewer facts it never saw
    # (docs/history.md).
    interpolation: float | dict[str, float] = {"q_proj": 0.5, "k_proj": 0.5, "v_proj": 0.5, "o_proj": 0.5}
    # Learning from mistakes (agents/mistakes.py). "sft": train on the verified samples only (rejection
    # sampling). "rloo": also push down the round's wrong samples of tasks some sample got right, each by its
    # REINFORCE leave-one-out advantage (reward minus the mean of the task's other samples), kept at no
    # less than -negative_weight; the right ones stay supervised examples. On validation, on top of help: -0.5 ± 0.9
    # frontier points against sft (noise; docs/teaching.md), so sft stays the default.
    objective: Literal["sft", "rloo"] = "sft"
    negative_weight: float = Field(default=0.5, gt=0.0, le=1.0, description="largest weight a wrong sample is pushed down by")
    # The weighted samples take a PPO/GRPO clipped surrogate against the policy that sampled them
    # (training/data.py, `weighted_loss`): a wrong answer is pushed down until it is 1 - clip_epsilon times as
    # likely, then no further (unclipped, log p has no floor: agents/mistakes.py).
    clip_epsilon: float = Field(default=0.2, gt=0.0, lt=1.0, description="PPO clip range of the probability ratio (rloo)")
    device: Literal["auto", "cpu", "cuda"] = "auto"

    def _learning_rates(self) -> list[float]:
        return self.learning_rate if isinstance(self.learning_rate, list) else [self.learning_rate]

    def learning_rate_for(self, round_no: int) -> float:
        """The learning rate of LoRA round `round_no` (1-based); a schedule's last value holds after it."""
        rates = self._learning_rates()
        return rates[min(round_no, len(rates)) - 1]

    @model_validator(mode="after")
    def _learning_rate(self) -> TrainingConfig:
        rates = self._learning_rates()
        if not rates or any(r <= 0 for r in rates):
            raise ValueError(f"learning_rate must be a positive number or a non-empty list of them, got {self.learning_rate}")
        return self

    @model_validator(mode="after")
    def _interpolation(self) -> TrainingConfig:
        weights = self.interpolation if isinstance(self.interpolation, dict) else {"every module": self.interpolation}
        for name, w in weights.items():
            if not 0.0 < w <= 1.0:
                raise ValueError(f"interpolation for {name} must be in (0, 1], got {w}")
        if unknown := sorted(set(weights) - {"every module", *self.target_modules}):
            raise ValueError(f"interpolation names modules LoRA does not adapt: {unknown} (target_modules: {self.target_modules})")
        return self


class EvalConfig(Section):
    # 240: 80 tasks per (skill, level) at the default levels, enough to read a level's paired gain to a
    # few points; much fewer left the frontier reading in noise. A small level gives only what its share holds.
    per_skill: int = Field(default=240, ge=1)
    levels: list[int] = [1, 2, 3]
    # Which held-out split a run is measured on: `validation` to choose settings, `test` to report
    # (graphs/skills/splits.py). Each has its own seed space and its own share of every level's tasks.
    split: Literal["validation", "test"] = "test"
    # (low, high): after a round before the last, answer only the held-out tasks of the levels whose baseline
    # accuracy lies in that band, the frontier `cosr compare` reads its milestone on; the baseline and the
    # last round answer every task. None: every task after every round.
    # `cosr compare` sets it to its --frontier; a round evaluated in part is left out of per-skill accuracy.
    between_rounds: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _between_rounds(self) -> EvalConfig:
        if self.between_rounds is not None and not 0.0 <= self.between_rounds[0] <= self.between_rounds[1] <= 1.0:
            raise ValueError(f"between_rounds must be (low, high) with 0 <= low <= high <= 1, got {self.between_rounds}")
        return self


class SandboxConfig(Section):
    executor: str = plugin("sandbox executor", "docker")
    image: str = "cosr-sandbox:2"  # `cosr sandbox build` makes it, with this cosr's runner inside (sandbox/image.py)
    timeout_s: float = Field(default=5.0, gt=0)
    memory_mb: int = Field(default=256, ge=32)
    cpus: float = Field(default=1.0, gt=0)
    pids: int = Field(default=64, ge=8)
    tmpfs_mb: int = Field(default=16, ge=1)
    output_limit_bytes: int = Field(default=64_000, ge=1024)
    pool_size: int = Field(default=2, ge=1)
    startup_timeout_s: float = Field(default=60.0, gt=0, description="longest wait for a fresh worker to be ready")
    # How long the pool waits for a Docker engine that went away (restarted, upgraded) before the run stops
    # with one line and exit code 3 (cosr/faults.py); executions in flight meanwhile run again once it is back.
    engine_wait_s: float = Field(default=120.0, ge=0)


# Settings whose default changed after runs were stored: a config.json without one ran with this value.
AS_RUN_BEFORE: dict[tuple[str, ...], Any] = {("curator", "help", "worked_examples"): 0}


class RunConfig(Section):
    run_id: str | None = None
    runs_root: Path = Path("runs")
    run_dir: Path | None = None
    seed: int = 0
    # 3 rounds of 2000 tasks at learning rate 1e-3: `cosr selfplay` in under ten minutes on two cores, with
    # graded help, measured on the validation split (docs/teaching.md). Six rounds of ~4600 tasks at 2e-4
    # took 23 minutes for a gain of the same size (docs/history.md).
    rounds: int = Field(default=3, ge=0)
    max_steps: int = Field(default=400, ge=1, description="hard cap on graph cycles, a guard against loops")
    skills: Path | None = None  # a YAML/JSON skill graph; None: the built-in catalog
    student: StudentConfig = StudentConfig()
    curator: CuratorConfig = CuratorConfig()
    training: TrainingConfig = TrainingConfig()
    eval: EvalConfig = EvalConfig()
    sandbox: SandboxConfig = SandboxConfig()
    # postgresql://user:password@host:port/db: the store and checkpoints in a database many runs and machines share
    # (a password left out comes from PGPASSWORD or ~/.pgpass); None: store.sqlite, checkpoints.sqlite in run_dir.
    database_url: str | None = None
    # Self-play's student replicas on Ray (graphs/workers.py): 1 with no ray_address runs everything in this
    # process, nothing to set up. More: each batch's generation is cut among that many replicas, code is checked
    # in a sandbox pool on every node with a Docker engine, and the LoRA round runs as a Ray task (a GPU where the
    # cluster has one); the controller (the graph, the store, the checkpoints) stays in this process.
    workers: int = Field(default=1, ge=1, description="student replicas on Ray (1 and no ray_address: no Ray)")
    # A Ray cluster to join, "HOST:PORT" (or "auto": the one RAY_ADDRESS or this machine's `ray start` names);
    # None with workers > 1: a local Ray instance of this machine's cores.
    ray_address: str | None = None

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("postgresql://", "postgres://")):
            # what it is, not the URL itself: it may hold a password
            got = f"a {url.partition('://')[0]}:// URL" if "://" in url else "no scheme"
            raise ValueError(f"must be a PostgreSQL URL, postgresql://user:password@host:port/database (got {got})")
        return url

    @classmethod
    def stored(cls, text: str) -> RunConfig:
        """A run's own config.json. A setting added after it was written takes the value the run ran with
        (AS_RUN_BEFORE), not today's default: a resumed run goes on as it began."""
        try:
            data = json.loads(text)
        except ValueError:
            return cls.model_validate_json(text)  # pydantic's own error for a file that is not JSON
        for path, value in AS_RUN_BEFORE.items():
            node = data
            for key in path[:-1]:
                node = node.setdefault(key, {}) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.setdefault(path[-1], value)
        return cls.model_validate(data)

    def steps_per_round(self) -> int:
        """The most graph cycles one round can take: a batch a cycle, and a round ends at
        training.max_tasks_per_round tasks at the latest (plus the cycle that trains)."""
        return -(-self.training.max_tasks_per_round // self.curator.batch_size) + 1


class ConfigError(ValueError):
    pass


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"student.model": x} -> {"student": {"model": x}}; a None value is a flag not given, left out."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = nested
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return nested


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None,
                defaults: dict[str, Any] | None = None) -> RunConfig:
    """Built-in defaults, then a command's own `defaults` (`cosr compare` trains its short runs faster), then
    the TOML file, then flags; dotted keys such as "student.model" allowed in `overrides` and `defaults`."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    try:
        return RunConfig.model_validate(_merge(_merge(_nest(defaults or {}), data), _nest(overrides or {})))
    except ValidationError as e:
        where = f"{path}: " if path else ""
        lines = [f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()]
        raise ConfigError(where + "invalid configuration\n  " + "\n  ".join(lines)) from None
