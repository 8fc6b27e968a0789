"""GRPO runs: reward terms on real puzzles, settings refused before launch, and a real run of TRL's GRPOTrainer on
the embedded tiny reasoner through the subprocess runner (rewards logged per term, samples tied to the seeds their
rewards judged, Stop saves a model that loads and generates)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # children inherit it: nothing may touch the network

from playground.models.loading import resolve_source  # noqa: E402
from playground.puzzles import generate, get_family  # noqa: E402
from training.grpo import build_prompts, failure_prompts  # noqa: E402
from training.rewards import make_reward_funcs, repeated_fraction  # noqa: E402
from training.runner import RunnerError, TrainRunner  # noqa: E402
from training.sft_config import ConfigError, config_from_dict, model_defaults  # noqa: E402

TINY = resolve_source("tiny")


def _grpo(**kw):
    values = {"method": "grpo", "name": "g", "base_model": TINY, "puzzle_families": ["sat"], "num_examples": 8}
    return config_from_dict({**values, **kw})


def test_reward_terms_judge_the_seed_of_each_completion():
    a, b = generate("sat", 1, 100_000), generate("sat", 1, 100_001)
    trace = f"{get_family('sat').trace(a)}\n</think>\n{a.reference}"  # starts inside the thought, as sampled
    correct, fmt, length, repetition = make_reward_funcs(opens_thought=True, max_completion_length=512)
    cols = {"family": ["sat"] * 3, "level": [1] * 3, "seed": [a.seed, b.seed, a.seed]}
    comps = [trace, trace, "no thought closed, no answer"]
    logged: dict[str, list] = {}
    got = correct(completions=comps, log_extra=logged.__setitem__, **cols)
    assert got[0] == 1.0 and got[2] == 0.0
    assert got[1] == (1.0 if a.reference == b.reference else 0.0)  # judged against seed b's own puzzle
    assert logged["puzzle"] == [f"sat L1 #{a.seed}", f"sat L1 #{b.seed}", f"sat L1 #{a.seed}"]
    assert fmt(completions=comps, **cols) == [1.0, 1.0, 0.0]
    ids = [[1] * 100, [1] * 100, [1] * 400]
    short_right, _, long_wrong = length(completions=comps, completion_ids=ids, **cols)
    assert short_right > 0 > long_wrong > -0.5  # a long wrong attempt is punished less than a short one
    assert repetition(completions=comps, completion_ids=[[1, 2, 3] * 20, list(range(60)), []])[1:] == [0.0, 0.0]
    assert repeated_fraction([1, 2] * 20, 8) > 0.5


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"num_generations": 1}, "group"),
        ({"num_generations": 4, "batch_size": 6}, "multiple of the group size"),
        ({"puzzle_families": ["chess"]}, "unknown puzzle families"),
        ({"data_source": "jsonl"}, "verifier"),
        ({"reward_correct": 0.0}, "reward weights"),
    ],
)
def test_bad_settings_get_a_clear_message(kw, words):
    with pytest.raises(ConfigError, match=words):
        _grpo(**kw)


def test_runner_refuses_bad_settings_before_launch(tmp_path):
    runner = TrainRunner(tmp_path / "runs", lock_path=tmp_path / "lock")
    cfg = model_defaults(["sat"], 3_000_000, "grpo")
    cfg.base_model, cfg.name, cfg.num_generations = TINY, "bad", 3  # 16 completions per step: not 3 per prompt
    with pytest.raises(RunnerError, match="multiple of the group size"):
        runner.launch(cfg)
    assert not runner.exists("bad") and not (tmp_path / "lock").exists()


def test_defaults_for_the_tiny_model_train_at_the_edge_of_its_ability():
    cfg = model_defaults(["sat", "maze", "tsp", "spatial_map"], 3_827_968, "grpo")
    assert cfg.method == "grpo" and cfg.puzzle_families == ["sat"] and cfg.finetune == "full"
    assert cfg.batch_size % cfg.num_generations == 0 and cfg.max_minutes <= 45


def test_prompts_come_from_training_seeds_and_failures(tmp_path):
    rows = build_prompts(_grpo(num_examples=6))
    assert all(r["seed"] >= 100_000 for r in rows)
    assert all(r["prompt"][0]["content"] == generate("sat", 1, r["seed"]).prompt for r in rows)
    results = tmp_path / "results.jsonl"
    lines = [{"family": "sat", "level": 1, "seed": s, "correct": s % 2 == 0} for s in range(6)]
    results.write_text("\n".join(json.dumps(x) for x in lines + lines[:2]))
    failed = failure_prompts(_grpo(data_source="failures", data_path=str(results)))
    assert [r["seed"] for r in failed] == [1, 3, 5]


def _wait_for(pred, timeout: float = 600, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := pred():
            return value
        time.sleep(poll)
    raise AssertionError("timed out")


def test_grpo_run_logs_rewards_and_stop_saves_a_loadable_model(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    runner = TrainRunner(tmp_path / "runs", lock_path=tmp_path / "lock", env={"OMP_NUM_THREADS": "1"})
    cfg = _grpo(
        name="tiny-grpo",
        num_generations=2,
        batch_size=4,
        max_completion_length=48,
        max_steps=200,
        num_examples=64,
        reward_format=0.5,
    )
    runner.launch(cfg)
    try:
        rows = _wait_for(lambda: len(runner.metrics("tiny-grpo")) >= 2 and runner.metrics("tiny-grpo"))
        assert runner.stop("tiny-grpo").startswith("Stopping")
        status = runner.wait("tiny-grpo", timeout=300)
    finally:
        if runner.active():
            runner.kill("tiny-grpo")
    assert status["state"] == "finished" and status["stopped"], status
    for key in (
        "reward",
        "reward_std",
        "correct",
        "format",
        "length",
        "repetition",
        "frac_reward_zero_std",
        "completion_length",
        "clipped_ratio",
        "entropy",
    ):
        assert key in rows[0], key
    assert 0.0 <= rows[0]["frac_reward_zero_std"] <= 1.0 and rows[0]["completion_length"] > 0
    run_dir = Path(tmp_path / "runs" / "tiny-grpo")
    samples = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert samples and all("correct" in s["terms"] for s in samples)
    for s in samples:  # the reward judged the very puzzle the prompt showed
        family, level, seed = s["puzzle"].replace("L", "").replace("#", "").split()
        assert s["prompt"] == generate(family, int(level), int(seed)).prompt
        assert int(seed) >= 100_000
    model_dir = Path(status["model_dir"])
    assert (model_dir / "playground.json").is_file() and (model_dir / "training_config.yaml").is_file()
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ids = tok.apply_chat_template(
        [{"role": "user", "content": samples[0]["prompt"]}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=8, do_sample=False)
    assert out.shape[1] > ids["input_ids"].shape[1]
    assert runner.list_runs()[0]["adapter"] == str(model_dir)
    # the teaching loop's last step: base vs the trained model on held-out seeds, answers that changed counted
    from playground.evaluation.compare import CompareConfig
    from playground.generation.engine import Engine
    from training.grpo_compare import compare_model, is_full_model

    assert is_full_model(model_dir)
    cmp_cfg = CompareConfig(family="sat", level=1, puzzles=2, samples=1, think_budget=32, answer_budget=32)
    result = compare_model(Engine(), model_dir, cmp_cfg, offline=True)
    rows = result.rows()
    assert [r["model"] for r in rows][2] == "change" and len(result.before.records) == 2
    counts = result.change_counts()
    assert counts["compared"] == 2 and counts["changed"] >= counts["wrong_to_right"] + counts["right_to_wrong"]
    assert (model_dir.parent / "before-after" / "comparison.json").is_file()
