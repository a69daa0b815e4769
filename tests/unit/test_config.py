"""One configuration: defaults <- TOML <- flags, with readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosr.config import ConfigError, RunConfig, load_config


def test_defaults_then_file_then_flags(tmp_path):
    f = tmp_path / "run.toml"
    f.write_text('seed = 5\nrounds = 4\n[student]\nmax_new_tokens = 12\n[curator]\nstrategy = "random"\n')
    cfg = load_config(f, {"rounds": 1, "student.temperature": 0.3, "seed": None})
    assert cfg.seed == 5  # from the file; a None flag means "not given"
    assert cfg.rounds == 1  # the flag wins over the file
    assert cfg.student.max_new_tokens == 12 and cfg.student.temperature == 0.3
    assert cfg.curator.strategy == "random"
    assert cfg.training == RunConfig().training  # untouched sections keep their defaults


def test_a_commands_own_defaults_sit_under_the_file_and_the_flags(tmp_path):
    f = tmp_path / "run.toml"
    f.write_text("[training]\nepochs = 5\n")
    defaults = {"training.learning_rate": 1e-3, "training.epochs": 2, "rounds": 3}
    cfg = load_config(f, {"rounds": None}, defaults=defaults)
    assert cfg.training.learning_rate == 1e-3 and cfg.rounds == 3  # neither the file nor a flag names them
    assert cfg.training.epochs == 5  # the file wins over the command's default
    assert cfg.training.batch_size == RunConfig().training.batch_size  # the rest of the section kept
    assert load_config(f, {"training.learning_rate": 4e-4}, defaults=defaults).training.learning_rate == 4e-4
    f.write_text("[training]\nlearning_rate = [6e-4, 2e-4]\n")
    assert load_config(f, defaults=defaults).training.learning_rate == [6e-4, 2e-4]


@pytest.mark.parametrize(("text", "message"), [
    ("rounds = -1", "rounds"),
    ("[curator]\ntarget_success = [0.9, 0.2]", "target_success"),
    ("[training]\nlearning_rate = 'fast'", "training.learning_rate"),
    ("[training]\nlearning_rate = []", "learning_rate must be a positive number or a non-empty list"),
    ("[training]\nlearning_rate = [6e-4, -2e-4]", "learning_rate must be a positive number or a non-empty list"),
    ("colour = 'blue'", "colour"),
    ("rounds = ", "not valid TOML"),
    ("[training]\ninterpolation = 1.5", "interpolation for every module must be in"),
    ("[training.interpolation]\nself_attn = 0.5", "names modules LoRA does not adapt: \\['self_attn'\\]"),
])
def test_bad_configs_name_the_field(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message) as e:
        load_config(f)
    assert str(f) in str(e.value)


def test_a_learning_rate_schedule_holds_its_last_value(tmp_path):
    f = tmp_path / "run.toml"
    f.write_text("[training]\nlearning_rate = [1e-3, 5e-4]\n")
    training = load_config(f).training
    assert [training.learning_rate_for(r) for r in (1, 2, 3, 9)] == [1e-3, 5e-4, 5e-4, 5e-4]
    f.write_text("[training]\nlearning_rate = 3e-4\n")
    assert {load_config(f).training.learning_rate_for(r) for r in (1, 4)} == {3e-4}


def test_missing_file_is_a_clear_error():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(Path("/nonexistent/run.toml"))
