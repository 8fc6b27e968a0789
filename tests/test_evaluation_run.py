"""Real evaluations through the engine on the tiny random-weight model: record counts, exact budgets, saved files,
repeatability, Stop, adapters, and the CLI (JSON output, exit codes). The model's answers are noise, so these tests
check mechanics and wiring, never accuracy."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from playground.evaluation.run import EvalConfig, run_evaluation
from playground.puzzles import generate, get_family

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"family", "level", "seed", "budget", "sample", "correct", "status", "extracted", "thinking_tokens"}
KEYS |= {"answer_tokens"}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """On a shared 2-core machine two intra-op threads can make the tiny model ~30× slower (oversubscription)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small(**changes) -> EvalConfig:
    base = dict(family="maze", levels=[1], puzzles=2, samples=3, budgets=[0, 16], answer_budget=16, seed=1)
    return EvalConfig(**{**base, **changes})


def test_sweep_records_budgets_and_files(engine, tmp_path):
    calls = []
    result = run_evaluation(engine, small(), progress=lambda *a: calls.append(a), out_dir=tmp_path / "run")
    recs = result.records
    assert len(recs) == 2 * 3 * 2
    assert {(r["seed"], r["budget"], r["sample"]) for r in recs} == {
        (s, b, j) for s in (0, 1) for b in (0, 16) for j in range(3)
    }
    for r in recs:
        assert KEYS <= set(r)
        assert r["thinking_tokens"] <= r["budget"]
        assert r["status"] in ("correct", "wrong", "unparseable")
        # the stored verdict is the verifier's verdict on the stored answer
        assert get_family("maze").verify(generate("maze", 1, r["seed"]), r["answer"]).status == r["status"]
    assert all(r["thinking_tokens"] == 0 for r in recs if r["budget"] == 0)
    assert any(r["thinking_tokens"] > 0 for r in recs if r["budget"] == 16)
    # progress: starts at 0, never goes back, ends at the total
    assert calls[0][:2] == (0, 12) and calls[-1][:2] == (12, 12)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)

    out = tmp_path / "run"
    lines = (out / "results.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == recs
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["budgets"]) == ["0", "16"] and summary["stopped"] is False
    assert summary["budgets"]["16"]["puzzles"] == 2 and summary["budgets"]["16"]["samples"] == 3
    think16 = [r["thinking_tokens"] for r in recs if r["budget"] == 16]
    assert summary["budgets"]["16"]["tokens"]["thinking"]["mean"] == pytest.approx(sum(think16) / 6)
    # the CSV is the table as people read it, named after the run: rates in %, model, family and temperature
    csv_lines = (out / "run-summary.csv").read_text().splitlines()
    assert csv_lines[0].startswith("model,family,temperature,budget,level,puzzles,samples,pass@1 %,pass@1 std %")
    assert len(csv_lines) == 3 and csv_lines[1].startswith(f"{engine.describe().name},maze,")
    rows = list(csv.DictReader(csv_lines))
    pass16 = summary["budgets"]["16"]["pass1"]["mean"]
    assert float(rows[1]["pass@1 %"]) == round(100 * pass16, 1) and rows[1]["budget"] == "16"
    assert all(re.fullmatch(r"\d+(\.\d)?", r["thinking tokens"]) for r in rows)  # rounded to 0.1 at most

    from training.data import failure_examples  # the Train tab reads failed puzzles from this file

    assert {ex.seed for ex in failure_examples(out)} <= {0, 1}


def test_same_seed_repeats_and_another_seed_differs(engine):
    cfg = dict(budgets=[8], answer_budget=8, samples=2)
    first = run_evaluation(engine, small(**cfg), save=False).records
    again = run_evaluation(engine, small(**cfg), save=False).records
    other = run_evaluation(engine, small(**cfg, seed=2), save=False).records
    assert first == again
    assert [r["answer"] for r in first] != [r["answer"] for r in other]


def test_greedy_samples_are_identical(engine):
    result = run_evaluation(engine, small(temperature=0, budgets=[8], answer_budget=8), save=False)
    for seed in (0, 1):
        assert len({r["answer"] for r in result.records if r["seed"] == seed}) == 1
    assert result.sweep["8"]["pass1"]["std"] == 0


def test_stop_keeps_complete_batches_only(engine, tmp_path):
    stop = threading.Event()
    # one puzzle per batch (3 rows): stopping after the first batch leaves exactly its 3 records
    progress = lambda done, total, msg: stop.set() if done >= 3 else None
    cfg = small(batch_rows=3)
    result = run_evaluation(engine, cfg, progress=progress, stop=stop, out_dir=tmp_path)
    assert result.stopped and len(result.records) == 3
    assert {(r["seed"], r["budget"]) for r in result.records} == {(0, 0)}
    assert json.loads((tmp_path / "summary.json").read_text())["stopped"] is True
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 3


def _adapter(tiny_dir: Path, out: Path) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny_dir))
    cfg = LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(model, cfg).save_pretrained(out)
    return out


def test_adapter_changes_what_is_evaluated(engine, tiny_dir, tmp_path):
    from playground.generation.engine import Engine
    from playground.models.adapters import apply_adapter
    from playground.models.loading import load_model

    adapter = _adapter(tiny_dir, tmp_path / "adapter")
    adapted = Engine(apply_adapter(load_model(str(tiny_dir), device="cpu"), adapter))
    assert adapted.loaded.adapter == str(adapter)
    cfg = small(temperature=0, samples=1, budgets=[12], answer_budget=4)
    base = run_evaluation(engine, cfg, save=False)
    tuned = run_evaluation(adapted, cfg, save=False)
    assert tuned.adapter == str(adapter) and base.adapter is None
    assert [r["answer"] for r in base.records] != [r["answer"] for r in tuned.records]


def test_cli_json_with_adapter_and_levels(tiny_dir, tmp_path):
    adapter = _adapter(tiny_dir, tmp_path / "adapter")  # its config names tiny_dir as the base: no --model needed
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "playground.evaluation", "--family", "sat", "--levels", "1,2", "--puzzles", "2"]
    cmd += ["--samples", "2", "--budgets", "0,8", "--answer-budget", "8", "--seed", "3", "--device", "cpu"]
    cmd += ["--adapter", str(adapter), "--out", str(out), "--json"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)  # stdout is exactly one JSON object
    assert data["adapter"] == str(adapter) and data["levels"] == [1, 2] and data["config"]["seed"] == 3
    assert list(data["budgets"]) == ["0", "8"]
    for entry in data["budgets"].values():
        assert {"mean", "std"} <= set(entry["pass1"])
        for key in ("majority", "best_of_n", "worst_of_n", "mean_tokens"):
            assert isinstance(entry[key], int | float)
        assert set(entry["levels"]) == {"1", "2"} and entry["puzzles"] == 4
    assert "gen" in proc.stderr  # the tqdm bar went to stderr
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 2 * 2 * 2  # levels × puzzles × samples × budgets
    assert (out / "summary.json").is_file() and (out / "cli-summary.csv").is_file()


def test_cli_defaults_are_the_config_defaults():
    from playground.evaluation.__main__ import _config, parse_args

    config = _config(parse_args(["--family", "maze"]))
    assert config == EvalConfig(family="maze", levels=[get_family("maze").default_level])
    unlimited = _config(parse_args(["--family", "maze", "--budgets", "none,0", "--answer-budget", "unlimited"]))
    assert unlimited.budgets == [None, 0] and unlimited.answer_budget is None


def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    from playground.evaluation.__main__ import main

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "playground.evaluate", "--family", "maze", "--budgets", "0,lots"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "bad budget 'lots'" in proc.stderr
    for argv, message in [
        (["--family", "chess"], "unknown puzzle family"),
        (["--family", "maze", "--level", "42"], "no level 42"),
        (["--family", "maze", "--level", "1", "--levels", "1,2"], "not both"),
        (["--family", "maze", "--samples", "0"], "≥ 1"),
        (["--family", "maze", "--adapter", str(tmp_path)], "not a PEFT adapter folder"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err
    with pytest.raises(SystemExit) as exc:
        main(["--family", "maze", "--temperature", "hot"])
    assert exc.value.code == 2


def test_shared_prefill_gives_the_same_samples(engine):
    """generate_batch runs each prompt through the model once and repeats its cache for the N samples; that must not
    change a single sample compared with plain num_return_sequences."""
    cfg = small(levels=[1, 2], budgets=[12], answer_budget=6)
    assert engine.batching.share_prefill
    shared = run_evaluation(engine, cfg, save=False).records
    engine.batching.share_prefill = False
    try:
        plain = run_evaluation(engine, cfg, save=False).records
    finally:
        engine.batching.share_prefill = True
    assert shared == plain


def test_a_static_cache_only_when_the_reply_may_be_at_most_twice_the_prompt(engine):
    """A static cache attends over all its slots at every step: sized for a long thought it costs more than it saves."""
    from transformers import DynamicCache, StaticCache

    model = engine.loaded.model
    ids = torch.tensor([[5] * 40, [6] * 40])
    mask = torch.ones_like(ids)
    inputs = engine.batching.sample_inputs
    assert isinstance(inputs(model, ids, mask, 1, 80)["cache"], StaticCache)
    assert "cache" not in inputs(model, ids, mask, 1, 81)  # generate grows its own cache
    assert isinstance(inputs(model, ids, mask, 2, 81)["cache"], DynamicCache)  # the shared prefill's
