"""Using a trained adapter: `Engine.load_adapter` (outputs change, the banner names it, refused while generating),
the Puzzles tab's base-vs-adapter pairing, and the before/after evaluation on held-out seeds — all on real tiny
models and a real PEFT adapter."""

from __future__ import annotations

import json
import threading

import pytest

from playground.evaluation.compare import CompareConfig, answer_changes, compare_adapter, default_config
from playground.evaluation.race import PanelConfig
from playground.generation.engine import Engine
from playground.generation.pool import CURRENT, ModelCache, VisitorPool
from playground.generation.request import GenerationRequest, ThinkingDelta
from playground.models.loading import ModelLoadError, load_model
from playground.ui.chat import model_banner
from playground.ui.state import AppState

PROMPT = [{"role": "user", "content": "Is 3599 prime?"}]


@pytest.fixture(scope="module")
def adapter(tiny_dir, tmp_path_factory):
    """A real PEFT LoRA adapter for the tiny model, saved like a run's (runs/<run>/adapter + its config)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_dir))
    cfg = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    peft_model = get_peft_model(model, cfg)
    out = tmp_path_factory.mktemp("runs") / "demo-run" / "adapter"
    peft_model.save_pretrained(str(out))
    (out / "training_config.yaml").write_text("puzzle_families: [sat]\npuzzle_levels: [1]\npuzzle_seed_start: 100000\n")
    return out


def _greedy(engine: Engine) -> str:
    stats = engine.generate(GenerationRequest(PROMPT, temperature=0, think_budget=24, answer_budget=8))
    return stats.thinking + stats.answer


def test_load_adapter_changes_outputs_and_names_it(tiny_dir, adapter):
    engine = Engine(load_model(str(tiny_dir), device="cpu"))
    before = _greedy(engine)
    info = engine.load_adapter(adapter)
    assert info == engine.describe() and info.name == f"{tiny_dir} + demo-run" and info.base_name == str(tiny_dir)
    assert engine.loaded.adapter == str(adapter) and engine.base_name == str(tiny_dir)
    assert engine.loaded.name == f"{tiny_dir} + demo-run"
    banner = model_banner(AppState(engine=engine).first_visitor())
    assert "demo-run" in banner and str(adapter) in banner
    after = _greedy(engine)
    assert after != before  # the adapter really changed the model's weights
    assert _greedy(engine) == after  # greedy: deterministic, so the change is the adapter's

    # again (the model now carries the adapter): reloaded on fresh base weights, not stacked on the merged ones
    engine.load_adapter(adapter)
    assert engine.base_name == str(tiny_dir) and _greedy(engine) == after

    # loading a plain model forgets the adapter
    engine.load(str(tiny_dir), device="cpu")
    assert engine.base_name is None and engine.loaded.adapter is None and _greedy(engine) == before


def test_load_adapter_refused_while_generating_and_bad_folders(tiny_dir, adapter, tmp_path):
    engine = Engine(load_model(str(tiny_dir), device="cpu"))
    stop = threading.Event()
    stream = engine.stream(GenerationRequest(PROMPT, think_budget=4000, answer_budget=8), stop)
    assert isinstance(next(e for e in stream if isinstance(e, ThinkingDelta)), ThinkingDelta)  # generating now
    with pytest.raises(RuntimeError, match="generation is running"):
        engine.load_adapter(adapter)
    assert engine.loaded.adapter is None  # nothing was touched
    stop.set()
    for _ in stream:  # let the generation end
        pass
    with pytest.raises(ModelLoadError, match="not a PEFT adapter folder"):
        engine.load_adapter(tmp_path)
    assert engine.loaded is not None and engine.loaded.adapter is None
    assert engine.load_adapter(adapter).name.endswith(" + demo-run")  # idle again: accepted


def test_puzzle_panels_pair_base_and_adapter(tiny_dir, tiny_dir_plain, adapter):
    engine = Engine(load_model(str(tiny_dir), device="cpu"))
    engine.load_adapter(adapter)
    cache = ModelCache(engine, capacity=2, offline=True)
    pool = VisitorPool(cache, cache.pinned)
    base_panel, adapter_panel = PanelConfig(model=engine.base_name), PanelConfig(model=CURRENT)
    assert pool.engine_for(adapter_panel) is engine
    other = pool.engine_for(base_panel)  # the base by name: a second engine, without the adapter
    assert other is not engine and other.loaded.adapter is None and other.loaded.name == str(tiny_dir)
    request = GenerationRequest(PROMPT, temperature=0, think_budget=24, answer_budget=8)
    a, b = other.generate(request), engine.generate(request)
    assert a.thinking + a.answer != b.thinking + b.answer
    pool.done_with(other)
    # another model for a panel: the cached base is freed first, so the app never holds three models
    pool.done_with(engine)
    third = pool.engine_for(PanelConfig(model=str(tiny_dir_plain)))
    assert third is not other and other.loaded.model is None and third.loaded.name == str(tiny_dir_plain)
    assert pool.engine_for(PanelConfig(model=CURRENT)) is engine  # the visitor's own model stays


def test_before_after_on_held_out_seeds(tiny_dir, adapter, tmp_path):
    engine = Engine(load_model(str(tiny_dir), device="cpu"))
    cfg = default_config(adapter, puzzles=3, samples=2, think_budget=32, answer_budget=24)
    assert (cfg.family, cfg.level, cfg.first_seed) == ("sat", 1, 0)  # what the run trained on, below its seeds
    calls: list[tuple[int, int]] = []
    result = compare_adapter(engine, adapter, cfg, progress=lambda d, t, m: calls.append((d, t)), out_dir=tmp_path)
    assert engine.loaded.adapter is None  # the app's model served as the base and was left as it was
    for ev in (result.before, result.after):
        assert len(ev.records) == 6 and {r["seed"] for r in ev.records} == {0, 1, 2}
    assert result.before.adapter is None and result.after.adapter == str(adapter)
    assert [r["answer"] for r in result.before.records] != [r["answer"] for r in result.after.records]
    assert calls[-1] == (12, 12) and max(d for d, _ in calls[:-1]) <= 12

    rows = result.rows()
    assert [r["model"] for r in rows] == [f"{tiny_dir} (before)", f"{tiny_dir} + demo-run (after)", "change"]
    before, after, change = rows
    for key in ("pass@1 %", "majority %", "thinking tokens", "answer tokens"):
        assert 0 <= before[key] and 0 <= after[key]
        assert change[key] == pytest.approx(after[key] - before[key], abs=0.11)
    assert after["thinking tokens"] <= 32 and before["thinking tokens"] <= 32
    assert list(result.frame().columns)[:2] == ["model", "pass@1 %"] and "held-out" in result.summary()
    saved = json.loads((tmp_path / "comparison.json").read_text())
    assert saved["rows"][2]["model"] == "change" and (tmp_path / "base" / "results.jsonl").exists()
    assert len((tmp_path / "adapter" / "results.jsonl").read_text().splitlines()) == 6

    # which answers the adapter changed, puzzle by puzzle and sample by sample
    counts, changes = result.change_counts(), result.changes()
    assert counts["compared"] == 6 and counts["changed"] == len(changes) > 0  # the answers above differ
    for c in changes:
        b = next(r for r in result.before.records if (r["seed"], r["sample"]) == (c["seed"], c["sample"]))
        a = next(r for r in result.after.records if (r["seed"], r["sample"]) == (c["seed"], c["sample"]))
        assert a["answer"] != b["answer"]
        assert c["change"] == f"{'right' if b['correct'] else 'wrong'} → {'right' if a['correct'] else 'wrong'}"
    assert f"changed {counts['changed']} of 6" in result.summary().replace("*", "")
    assert saved["change_counts"] == counts and len(saved["changes"]) == len(changes)


def _record(seed: int, sample: int, correct: bool, answer: str) -> dict:
    return {
        "family": "maze",
        "level": 1,
        "seed": seed,
        "budget": None,
        "sample": sample,
        "correct": correct,
        "answer": answer,
        "extracted": answer,
    }


def test_answer_changes_are_matched_by_puzzle_and_sample():
    before = [_record(0, 0, True, "A"), _record(0, 1, False, "B"), _record(1, 0, False, "C"), _record(1, 1, True, "D")]
    after = [_record(1, 1, False, "X"), _record(0, 1, True, "A"), _record(1, 0, False, "E"), _record(0, 0, True, "A")]
    changes = answer_changes(before, after)  # the order of the records does not matter: (seed, sample) does
    assert [(c["seed"], c["sample"], c["change"]) for c in changes] == [
        (0, 1, "wrong → right"),
        (1, 0, "wrong → wrong"),
        (1, 1, "right → wrong"),
    ]
    assert changes[0]["before"] == "B" and changes[0]["after"] == "A"
    assert answer_changes(before, before) == []  # the same answers: nothing changed


def test_before_after_refuses_training_seeds(adapter):
    with pytest.raises(ValueError, match="not held out"):
        CompareConfig(family="sat", first_seed=99_995, puzzles=8).validate()
    with pytest.raises(ValueError):
        CompareConfig(family="sat", puzzles=0).validate()
