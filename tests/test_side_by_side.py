"""Side-by-side races on the tiny random-weight model: both panels stream at once, respect their own budgets, get
verified; panels on the loaded model share its Engine, another model is loaded once and cached; Stop ends both."""

from __future__ import annotations

import threading
import time

import pytest

from playground.evaluation.race import PanelConfig, race
from playground.generation.engine import Engine
from playground.generation.pool import ModelCache, VisitorPool
from playground.generation.request import GenerationStats
from playground.models.loading import ModelLoadError, load_model
from playground.puzzles import Verdict, generate, get_family
from playground.ui.verdict import details_rows, verdict_html


@pytest.fixture
def pool(engine):
    """One visitor's pool on the app's cache of two models (the startup model, pinned, and one more)."""
    cache = ModelCache(engine, capacity=2, offline=True)
    return VisitorPool(cache, cache.pinned)


def _run(pool, instance, a, b, stop=None, on_update=None):
    updates = []
    for update in race(pool, instance, a, b, stop):
        updates.append(update)
        if on_update:
            on_update(update)
    return updates


def test_race_streams_both_panels_within_their_own_budgets(pool, engine):
    instance = generate("maze", 1, 3)
    a = PanelConfig(think_budget=32, answer_budget=24, temperature=0.8, seed=1)
    b = PanelConfig(think_budget=80, answer_budget=24, temperature=0.8, seed=2)
    busy, running = [], threading.Event()
    running.set()

    def sample() -> None:  # how many generations the one engine runs, every few milliseconds
        while running.is_set():
            busy.append(engine._active)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        updates = _run(pool, instance, a, b)
    finally:
        running.clear()
        sampler.join()
    final = updates[-1]
    assert final.done and pool.cache.keys() == [pool.current]  # both panels ran on the one loaded engine
    assert max(busy) == 2  # ... at the same time
    for name, budget in (("A", 32), ("B", 80)):
        panel = final.panels[name]
        assert panel.error is None, panel.error
        stats = panel.result.stats
        assert isinstance(stats, GenerationStats) and isinstance(panel.result.verdict, Verdict)
        assert 0 < stats.thinking_tokens <= budget and stats.answer_tokens <= 24 and stats.seconds > 0
        assert panel.result.verdict.status in ("correct", "wrong", "unparseable") and panel.result.verdict.reason
        # the verdict is the family verifier's judgement of exactly the answer the panel showed
        expected = get_family("maze").verify(instance, stats.answer)
        assert panel.result.verdict.to_json() == expected.to_json()
        thought, *answer = panel.history
        assert (
            thought["metadata"]["status"] == "done"
            and f"{stats.thinking_tokens} tokens" in thought["metadata"]["title"]
        )
        assert panel.history[0]["role"] == "assistant"  # the puzzle prompt is not repeated in the panel
    a_stats, b_stats = final.panels["A"].result.stats, final.panels["B"].result.stats
    assert a_stats.thinking_tokens != b_stats.thinking_tokens or a_stats.budget_reached != b_stats.budget_reached


def test_same_model_by_name_shares_the_engine_and_another_model_is_cached(pool, engine, tiny_dir, tiny_dir_plain):
    assert pool.engine_for(PanelConfig(model="current")) is engine
    assert pool.engine_for(PanelConfig(model=str(tiny_dir))) is engine  # the loaded model named explicitly
    other = pool.engine_for(PanelConfig(model=str(tiny_dir_plain)))
    assert other is not engine and other.loaded.source == str(tiny_dir_plain)
    assert pool.engine_for(PanelConfig(model=str(tiny_dir_plain))) is other  # cached, not reloaded
    with pytest.raises(ModelLoadError, match="at most 2 model"):  # in use: it cannot be swapped out
        pool.engine_for(PanelConfig(model="tiny"))
    pool.done_with(other)
    pool.done_with(other)
    instance = generate("sat", 1, 5)
    a = PanelConfig(think_budget=8, answer_budget=16, temperature=0)
    b = PanelConfig(model=str(tiny_dir_plain), think_budget=8, answer_budget=16, temperature=0)
    final = _run(pool, instance, a, b)[-1]
    assert final.panels["A"].result.stats.model == engine.loaded.name
    assert final.panels["B"].result.stats.model == str(tiny_dir_plain)
    assert other.loaded.model is not None  # kept for the next race
    # switching panel B to a third model frees the cached one (two models in all; the startup one stays)
    third = pool.engine_for(PanelConfig(model="tiny"))
    assert third is not other and other.loaded.model is None and pool.cache.peek(pool.key(PanelConfig("tiny"))) is third
    assert engine.loaded.model is not None
    pool.done_with(third)
    with pytest.raises(ValueError, match="two different models"):
        next(race(pool, instance, PanelConfig(model="tiny"), b))


def test_stop_ends_both_panels(pool):
    instance = generate("tsp", 1, 2)
    stop = threading.Event()
    big = PanelConfig(think_budget=None, answer_budget=None, temperature=1.0)
    t0 = time.perf_counter()
    updates = _run(pool, instance, big, PanelConfig(think_budget=2048, temperature=1.0), stop, lambda u: stop.set())
    assert time.perf_counter() - t0 < 20  # unlimited thinking would take minutes
    final = updates[-1]
    for panel in final.panels.values():
        assert panel.finished and panel.result.stats.stopped
        assert panel.result.stats.thinking_tokens < 2048
        assert all(m.get("metadata", {}).get("status") != "pending" for m in panel.history)


def test_bad_settings_and_missing_models_fail_clearly(pool):
    instance = generate("maze", 1, 1)
    with pytest.raises(ValueError, match="Panel B"):
        next(race(pool, instance, PanelConfig(), PanelConfig(think_budget=-5)))
    with pytest.raises(ValueError, match="Panel A: pick a model"):
        next(race(pool, instance, PanelConfig(model=" "), PanelConfig()))
    # a model that cannot be loaded ends its own panel with the reason; the other panel races on and is judged
    final = list(race(pool, instance, PanelConfig(think_budget=8, temperature=0), PanelConfig(model="no-such/model")))
    a, b = final[-1].panels["A"], final[-1].panels["B"]
    assert b.finished and b.result is None and "no-such/model" in b.error and "Loading" not in b.status
    assert a.finished and a.error is None and a.result is not None and a.result.verdict is not None
    assert any("Panel B" in n and "no-such/model" in n for u in final for n in u.notices)
    both = list(race(pool, instance, PanelConfig(model="no-such/model"), PanelConfig(model="no-such/model")))
    assert all(p.finished and "no-such/model" in p.error for p in both[-1].panels.values())
    with pytest.raises(ModelLoadError, match="not a PEFT adapter folder"):
        pool.engine_for(PanelConfig(adapter="/nonexistent/adapter"))
    assert not pool.cache.peek(pool.current).busy


def test_adapter_panel_runs_on_a_second_engine(pool, engine, tiny_dir, tmp_path):
    peft = pytest.importorskip("peft")
    base = load_model(str(tiny_dir), device="cpu").model
    lora = peft.get_peft_model(base, peft.LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    lora.save_pretrained(tmp_path / "adapter")
    config = PanelConfig(adapter=str(tmp_path / "adapter"), think_budget=8, answer_budget=8, temperature=0)
    final = _run(pool, generate("maze", 1, 4), PanelConfig(think_budget=8, answer_budget=8), config)[-1]
    other = pool.cache.peek(pool.key(config))
    assert isinstance(other, Engine) and other is not engine
    assert final.panels["B"].result.stats.model == f"{tiny_dir} + {tmp_path.name}"  # "<base> + <adapter's run>"
    assert final.panels["B"].result.stats.thinking_tokens <= 8


def test_verdict_box_shows_status_reason_checks_and_figures():
    fam = get_family("sat")
    instance = fam.generate(3, 1)
    stats = GenerationStats(thinking_tokens=30, answer_tokens=12, seconds=1.25, budget_reached=True)
    good = verdict_html(fam.verify(instance, instance.reference), stats, 32)
    assert (
        "Correct" in good
        and "verdict-correct" in good
        and "<b>30</b> / 32 thinking tokens" in good
        and "budget reached" in good
    )
    assert "c1 " in good  # each clause appears as a checked row
    bad = fam.verify(instance, "<final_answer>{'Solution': '<b>x</b>'}</final_answer>")
    assert bad.status == "unparseable" and "verdict-unparseable" in verdict_html(bad, stats, None)
    wrong = fam.verify(instance, "<final_answer>{'Solution': 'True'}</final_answer>")
    rows, cut = details_rows(wrong)
    assert wrong.status == "wrong" and rows[0][0] == "✘" and cut == 0
    assert ">Wrong <" in verdict_html(wrong, stats, None)
    hostile = Verdict(False, 0.0, "wrong: <script>x</script>", "wrong", "<img src=x>", [{"check": "<i>", "ok": False}])
    shown = verdict_html(hostile, stats, None)
    assert "<script>" not in shown and "<img" not in shown and "<i>" not in shown and "&lt;script&gt;" in shown
