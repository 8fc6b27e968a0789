"""Training runs through the real subprocess on the tiny placeholder model.

Metrics grow, loss falls, Stop saves an adapter that reloads with PeftModel and changes the output; crashes
and kills show `failed`; bad input is refused before launch (path-like names, missing base, a second run)."""

from __future__ import annotations

import json
import os
import time

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # children inherit it: nothing may touch the network

from training.preflight import estimate_memory  # noqa: E402
from training.runner import RunnerError, TrainRunner, validate_name  # noqa: E402
from training.sft_config import ConfigError, SFTConfig, config_from_dict, load_config, save_config  # noqa: E402

TARGET = "<think>\nadd one\n</think>\nAnswer: 42"  # a fixed reply: learnable in a few dozen steps


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from playground.models.placeholder import build_placeholder

    root = tmp_path_factory.mktemp("train")
    base = build_placeholder(root / "base")
    data = root / "data.jsonl"
    data.write_text("\n".join(json.dumps({"prompt": f"What is {i} + 1?", "completion": TARGET}) for i in range(64)))
    # One thread: on a small shared CPU, two spinning OpenMP threads per child make steps erratic.
    runner = TrainRunner(root / "runs", lock_path=root / "train.lock", env={"OMP_NUM_THREADS": "1"})
    return {"root": root, "base": str(base), "data": str(data), "runner": runner}


@pytest.fixture(autouse=True)
def _no_run_left_behind(request):
    """A test that fails mid-run must not leave its run holding the lock: the next test would fail for it."""
    yield
    if "env" in request.fixturenames:
        runner = request.getfixturevalue("env")["runner"]
        active = runner.active()
        if active:
            runner.kill(active["name"])
            deadline = time.monotonic() + 30
            while runner.active() is not None and time.monotonic() < deadline:
                time.sleep(0.2)


def _cfg(env, name: str, **kw) -> SFTConfig:
    values = {
        "name": name,
        "base_model": env["base"],
        "data_source": "jsonl",
        "data_path": env["data"],
        "max_steps": 2000,
        "batch_size": 8,
        "lora_r": 8,
        "learning_rate": 1e-2,
        "lr_scheduler": "constant",
        "warmup": 0,
    }
    return SFTConfig(**{**values, **kw})


def _wait_for(pred, timeout: float = 60, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(poll)
    return value


@pytest.mark.parametrize(
    "bad", ["../x", "/abs/path", "a/b", "..", ".hidden", "-x", "", "a b", "x" * 65, "a\\b", "a\x00b", "a\nb"]
)
def test_path_like_names_rejected(bad):
    with pytest.raises(RunnerError, match="invalid run name"):
        validate_name(bad)


def test_plain_names_accepted():
    assert validate_name(" run-1.v2_a ") == "run-1.v2_a"


def test_config_yaml_round_trip_and_errors(tmp_path):
    path = tmp_path / "r" / "config.yaml"
    path.parent.mkdir()
    path.write_text("base_model: x\nlearning_rate: 2e-4\nmax_steps: '10'\npuzzle_levels: 1, 2\n")
    cfg = load_config(path)  # YAML reads 2e-4 as a string: coerced to the field's type
    assert (cfg.learning_rate, cfg.max_steps, cfg.puzzle_levels) == (2e-4, 10, [1, 2])
    assert cfg.name == "r" and cfg.output_dir == str(path.parent)
    assert load_config(save_config(cfg, tmp_path / "again.yaml")) == cfg
    with pytest.raises(ConfigError, match="unknown config field.*lora_rank"):
        config_from_dict({"base_model": "x", "lora_rank": 8})
    with pytest.raises(ConfigError, match="'batch_size'"):
        config_from_dict({"base_model": "x", "batch_size": "many"})
    with pytest.raises(ConfigError, match="base_model"):
        config_from_dict({})


def test_refused_before_launch(env):
    runner = env["runner"]
    with pytest.raises(RunnerError, match="does not exist"):
        runner.launch(_cfg(env, "nobase", base_model=str(env["root"] / "missing-model")))
    with pytest.raises(RunnerError, match="not in the Hugging Face cache"):
        runner.launch(_cfg(env, "nohub", base_model="no-such-org/no-such-model"))
    with pytest.raises(RunnerError, match="lora_r"):
        runner.launch(_cfg(env, "badr", lora_r=0))
    bad = env["root"] / "bad.jsonl"
    bad.write_text('{"prompt": "a"}\n')
    with pytest.raises(RunnerError, match="line 1: missing 'completion'"):
        runner.launch(_cfg(env, "baddata", data_path=str(bad)))
    assert runner.active() is None and not runner.lock_path.exists()


def test_memory_estimate(env):
    est = estimate_memory(_cfg(env, "m"))
    assert 0 < est["total_gb"] < est["available_gb"] and est["fits"]
    assert est["lora_params_m"] > 0 and "GB" in est["text"]


@pytest.mark.slow
def test_crash_in_child_shows_failed_with_the_error(env):
    runner = env["runner"]
    runner.launch(_cfg(env, "crash", target_modules=["no_such_proj"]))
    status = runner.wait("crash", timeout=90)
    assert status["state"] == "failed" and "no_such_proj" in status["error"]
    assert runner._procs["crash"].returncode == 1
    assert "Traceback" in runner.log_tail("crash", 200)
    assert runner.active() is None and not runner.lock_path.exists()  # the next launch may go


@pytest.mark.slow
def test_finished_child_is_reaped_without_waiting(env):
    """A run that ends is reaped by the runner itself: no `<defunct>` child of the app is left behind, even when
    nobody calls wait() (the app only reads status.json)."""
    runner = env["runner"]
    runner.launch(_cfg(env, "short", max_steps=2))
    proc = runner._procs["short"]
    _wait_for(lambda: runner.status("short").get("state") == "finished", timeout=120)

    def state() -> str | None:
        """The child's process state ('Z' = a zombie, exited but not reaped); None once reaped."""
        try:
            return open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return None

    deadline = time.monotonic() + 20
    while state() is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state() is None, f"the finished run's process is still in the process table (state {state()})"
    assert proc.returncode == 0  # set by the runner's own reaping, not by this test


def test_taken_names_get_a_free_suffix_and_the_refusal_suggests_one(env):
    runner = env["runner"]
    taken = runner.run_dir("taken")
    taken.mkdir(parents=True, exist_ok=True)
    (taken / "config.yaml").write_text("base_model: x\n")
    assert runner.free_name("taken") == "taken-2" and runner.free_name("free") == "free"
    (runner.run_dir("taken-2")).mkdir()
    (runner.run_dir("taken-2") / "train.log").write_text("")
    assert runner.free_name("taken") == "taken-3"
    runner.run_dir("t" * 64).mkdir()
    (runner.run_dir("t" * 64) / "train.log").write_text("")
    assert runner.free_name("t" * 64) == "t" * 62 + "-2"  # still a valid name (≤ 64 characters)
    with pytest.raises(RunnerError, match="already exists.*e.g. 'taken-3'"):
        runner.launch(_cfg(env, "taken"))


def test_log_tail_is_the_newest_lines_without_library_warnings(env):
    runner = env["runner"]
    run = runner.run_dir("noisy")
    run.mkdir(parents=True, exist_ok=True)
    lines = [
        "Loading weights:   0%|  | 0/38\rLoading weights: 100%|██| 38/38",
        "/site-packages/transformers/modeling_utils.py:3312: FutureWarning: `is_gradient_checkpointing` is deprecated",
        "  warnings.warn(",
        "2026-01-01 10:00:00 - WARNING - torch: something noisy",
    ]
    lines += [f"[sft] step {i}/40 loss 0.1" for i in range(1, 41)]
    (run / "train.log").write_text("\n".join(lines) + "\n")
    tail = runner.log_tail("noisy", 30).splitlines()
    assert tail == [f"[sft] step {i}/40 loss 0.1" for i in range(11, 41)]  # oldest first, the newest last
    full = runner.log_tail("noisy", 100)
    assert full.splitlines()[0] == "Loading weights: 100%|██| 38/38"  # a progress bar shows its last state
    assert "Warning" not in full and "warnings.warn" not in full and "WARNING" not in full
    assert "FutureWarning" in (run / "train.log").read_text()  # train.log keeps everything


@pytest.mark.slow
def test_real_run_metrics_stop_adapter(env):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    runner = env["runner"]
    runner.launch(_cfg(env, "learn"))
    assert runner.active()["name"] == "learn"  # what a reloaded page re-attaches to
    with pytest.raises(RunnerError, match="already training on this machine"):
        runner.launch(_cfg(env, "second"))
    first = _wait_for(lambda: len(runner.metrics("learn")) >= 3 and len(runner.metrics("learn")))
    rows = _wait_for(lambda: len(runner.metrics("learn")) >= 60 and runner.metrics("learn"))
    assert len(rows) > first  # metrics.jsonl grows while it trains
    for key in (
        "step",
        "loss",
        "learning_rate",
        "grad_norm",
        "tokens_per_s",
        "elapsed_s",
        "eta_s",
        "gpu_mem_gb",
    ):
        assert key in rows[-1]
    assert [r["step"] for r in rows[:30]] == list(range(1, 31))
    losses = [r["loss"] for r in rows[:60]]  # fixed steps, however many rows the polling happened to catch
    # a fixed reply is learnable: the loss falls (lr 1e-2 on random weights is erratic: some runs plateau near 3.9
    # from 4.6, others reach 2.9 by step 60; a run whose LoRA gets no gradient stays flat and fails this)
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5, losses

    assert runner.stop("learn").startswith("Stopping")
    status = runner.wait("learn", timeout=60)
    assert runner._procs["learn"].returncode == 0
    assert status["state"] == "finished" and status["stopped"] and status["step"] < 2000
    assert runner.active() is None and not runner.lock_path.exists()
    adapter = status["adapter_dir"]
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "training_config.yaml"} <= set(
        os.listdir(adapter)
    )
    progress = runner.progress("learn")
    assert progress["state"] == "finished" and "stop requested" in progress["log"]
    assert runner.list_runs()[0]["name"] == "learn" and runner.list_runs()[0]["adapter"] == adapter

    tok = AutoTokenizer.from_pretrained(env["base"])
    text = (
        tok.apply_chat_template(
            [{"role": "user", "content": "What is 7 + 1?"}], add_generation_prompt=True, tokenize=False
        )
        + TARGET
        + "<|end|>"
    )
    ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "What is 7 + 1?"}], add_generation_prompt=True, tokenize=False
    )
    labels = ids.clone()
    labels[:, : len(tok(prompt, add_special_tokens=False)["input_ids"])] = -100  # the loss of the reply alone
    with torch.no_grad():
        base_out = AutoModelForCausalLM.from_pretrained(env["base"])(ids, labels=labels)
        tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(env["base"]), adapter)
        tuned_out = tuned(ids, labels=labels)
    assert not torch.allclose(base_out.logits, tuned_out.logits)
    assert tuned_out.loss < base_out.loss - 0.5  # the adapter made the learned reply likelier


@pytest.mark.slow
def test_kill_is_immediate_and_reported(env):
    runner = env["runner"]
    runner.launch(_cfg(env, "killme"))
    _wait_for(lambda: runner.metrics("killme"))
    assert runner.kill("killme").startswith("Killed")
    status = runner.status("killme")
    assert status["state"] == "failed" and "killed by the user" in status["error"]
    assert not (runner.run_dir("killme") / "adapter").exists()
    assert runner.active() is None and not runner.lock_path.exists()
    assert runner.stop("killme").endswith("is not running (failed).")


def test_bad_config_file_and_oom_reported_in_status(tmp_path, monkeypatch):
    import torch

    from training import sft

    bad = tmp_path / "bad" / "config.yaml"
    bad.parent.mkdir()
    bad.write_text("base_model: x\nlora_rank: 8\n")
    assert sft.main([str(bad)]) == 1
    status = json.loads((bad.parent / "status.json").read_text())
    assert status["state"] == "failed" and "unknown config field" in status["error"]

    def out_of_memory(cfg):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(sft, "run", out_of_memory)
    path = save_config(SFTConfig(base_model="x"), tmp_path / "oom" / "config.yaml")
    assert sft.main([str(path)]) == 1
    error = json.loads((path.parent / "status.json").read_text())["error"]
    assert error.startswith("Out of memory") and "smaller batch" in error and "4-bit" in error
