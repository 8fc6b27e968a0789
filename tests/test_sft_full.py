"""Full fine-tuning SFT (`finetune: full`) on the embedded tiny reasoner through the subprocess runner: the time limit
stops the run and saves `model/`, a whole model with changed weights that the app loads as the same kind of model,
and that is the base of a GRPO run (the SFT + GRPO lesson); settings that cannot work are refused before launch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # children inherit it: nothing may touch the network

from playground.models.loading import resolve_source  # noqa: E402
from training.grpo_compare import is_full_model  # noqa: E402
from training.runner import TrainRunner  # noqa: E402
from training.sft_config import ConfigError, config_from_dict, load_config  # noqa: E402

TINY = resolve_source("tiny")
MAZE2 = {"puzzle_families": ["maze"], "puzzle_levels": [2]}


def test_full_sft_saves_a_whole_model_that_is_the_base_of_a_grpo_run(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from playground.generation.engine import Engine
    from playground.models.loading import load_model, unload

    runner = TrainRunner(tmp_path / "runs", lock_path=tmp_path / "lock", env={"OMP_NUM_THREADS": "1"})
    sft = {"method": "sft", "name": "full-sft", "base_model": TINY, "finetune": "full", **MAZE2}
    # a time limit far below the steps asked for: the run stops after its first step and still saves
    sft |= {"num_examples": 8, "batch_size": 2, "max_steps": 50, "max_minutes": 0.01}
    sft |= {"learning_rate": 1e-3, "warmup": 0, "lr_scheduler": "constant"}  # the first step already moves weights
    runner.launch(config_from_dict(sft))
    status = runner.wait("full-sft", timeout=300)
    assert status["state"] == "finished" and status["time_limit"] and 1 <= status["step"] < 50, status
    model_dir = Path(status["model_dir"])
    assert model_dir == tmp_path / "runs" / "full-sft" / "model" and is_full_model(model_dir)
    assert "adapter_dir" not in status and not (model_dir.parent / "adapter").exists()
    assert (model_dir / "playground.json").read_text() == (Path(TINY) / "playground.json").read_text()
    assert "full fine-tune" in (model_dir / "README.md").read_text()
    assert load_config(model_dir / "training_config.yaml").finetune == "full"
    assert runner.list_runs()[0]["adapter"] == str(model_dir)  # what 'Use this adapter' and Before/after pick

    base = AutoModelForCausalLM.from_pretrained(TINY).state_dict()
    tuned = AutoModelForCausalLM.from_pretrained(model_dir).state_dict()
    changed = [k for k in base if not torch.equal(base[k], tuned[k])]
    assert len(changed) > len(base) // 2, changed  # every weight trains, not a few adapter layers
    loaded = load_model(str(model_dir), "none", "cpu", True, fallback=False)
    try:
        assert Engine(loaded).describe().families == ["sat", "maze", "tsp", "spatial_map"]  # the same kind of model
    finally:
        unload(loaded)

    grpo = {"method": "grpo", "name": "grpo-after-sft", "base_model": str(model_dir), **MAZE2}
    grpo |= {"num_examples": 4, "num_generations": 2, "batch_size": 2, "max_completion_length": 16, "max_steps": 1}
    runner.launch(config_from_dict(grpo))
    status = runner.wait("grpo-after-sft", timeout=300)
    assert status["state"] == "finished" and status["step"] == 1, status
    trained = load_config(Path(status["model_dir"]) / "training_config.yaml")
    assert trained.base_model == str(model_dir) and trained.method == "grpo"
    assert (Path(status["model_dir"]) / "playground.json").is_file()  # the kind carries through both runs


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"finetune": "whole"}, "'finetune' must be auto, full or lora"),
        ({"finetune": "full", "load_in_4bit": True}, "cannot load the base in 4-bit"),
    ],
)
def test_full_sft_settings_that_cannot_work_are_refused_before_launch(tmp_path, kw, words):
    with pytest.raises(ConfigError, match=words):
        config_from_dict({"method": "sft", "name": "x", "base_model": TINY, **kw})
    runner = TrainRunner(tmp_path / "runs", lock_path=tmp_path / "lock")
    with pytest.raises(ValueError, match=words):  # the Train tab's Launch shows the message
        runner.launch({"method": "sft", "name": "x", "base_model": TINY, **kw})
    assert not (tmp_path / "runs" / "x").exists()
