"""Engine and loading: prompts, truncation, multi-turn, unloading, offline fallback, memory refusal, bad input."""

from __future__ import annotations

import gc
import json
import weakref

import pytest

from playground.generation.chat_session import history_to_messages, stream_turn
from playground.generation.engine import Engine
from playground.generation.request import GenerationRequest, Notice
from playground.models import loading
from playground.models.loading import ModelLoadError, load_model
from playground.models.presets import PRESETS


def test_empty_prompt_and_bad_settings_are_refused(engine):
    with pytest.raises(ValueError, match="empty"):
        list(engine.stream(GenerationRequest(messages=[{"role": "user", "content": "  "}])))
    with pytest.raises(ValueError, match="budget mode"):
        list(engine.stream(GenerationRequest(messages=[{"role": "user", "content": "x"}], budget_mode="nope")))
    with pytest.raises(ValueError, match="minimum thinking"):
        GenerationRequest(messages=[{"role": "user", "content": "x"}], think_budget=10, min_think=20).validate()


def test_huge_prompt_is_cut_to_fit_the_context_with_a_notice(engine):
    req = GenerationRequest(messages=[{"role": "user", "content": "y" * 100_000}], think_budget=16, answer_budget=8)
    ids, opened, notices = engine.render(req)
    assert opened
    assert len(ids) + 16 + 8 <= engine.loaded.context_length
    assert notices and "cut to its first" in notices[0]
    events = list(engine.stream(req))
    assert isinstance(events[0], Notice)
    assert events[-1].stats.thinking_tokens <= 16


def test_huge_system_prompt_is_cut_and_the_question_kept(engine):
    question = "Which way is the exit?"
    req = GenerationRequest(
        messages=[{"role": "user", "content": question}], system_prompt="s" * 20_000, think_budget=16, answer_budget=8
    )
    ids, _, notices = engine.render(req)
    assert len(ids) + 16 + 8 <= engine.loaded.context_length
    assert any(n.startswith("The system prompt was 20,000 tokens; it was cut") for n in notices), notices
    assert question in engine.loaded.tokenizer.decode(ids)  # the user's question survives whole


def test_long_history_is_dropped_by_bisection_not_turn_by_turn(engine, monkeypatch):
    tok = engine.loaded.tokenizer
    calls = []
    original = tok.apply_chat_template
    monkeypatch.setattr(tok, "apply_chat_template", lambda *a, **k: calls.append(1) or original(*a, **k))
    turns = [{"role": r, "content": f"turn {i} " * 4} for i in range(2000) for r in ("user", "assistant")]
    turns.append({"role": "user", "content": "last question"})
    ids, _, notices = engine.render(GenerationRequest(messages=turns, think_budget=16, answer_budget=8))
    assert len(ids) + 16 + 8 <= engine.loaded.context_length
    assert "last question" in tok.decode(ids) and "turn 0 " not in tok.decode(ids)
    assert "Earlier turns were dropped" in notices[0]
    assert len(calls) <= 16  # log2(4001) renders and a few more, not one per dropped turn


def test_text_with_lone_surrogates_is_generated_from(engine):
    req = GenerationRequest(messages=[{"role": "user", "content": "odd \ud800 text"}], think_budget=4, answer_budget=2)
    stats = engine.generate(req)
    assert stats.thinking_tokens <= 4


def test_multi_turn_prompt_keeps_answers_but_not_thoughts(engine):
    history = [
        {"role": "user", "content": "first"},
        {
            "role": "assistant",
            "content": "SECRET THOUGHT",
            "metadata": {"title": "Thought for 1.0 s", "status": "done"},
        },
        {"role": "assistant", "content": [{"type": "text", "text": "first answer"}]},
        {"role": "user", "content": "second"},
    ]
    messages = history_to_messages(history)
    assert messages == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second"},
    ]
    ids, _, _ = engine.render(GenerationRequest(messages=messages))
    text = engine.loaded.tokenizer.decode(ids)
    assert "first answer" in text and "SECRET" not in text and text.index("first") < text.index("second")
    updates = list(stream_turn(engine, history, GenerationRequest(messages=[], think_budget=8, answer_budget=4)))
    final = updates[-1].history
    assert final[: len(history)] == history
    assert final[len(history)]["metadata"]["status"] == "done"
    assert all((m.get("metadata") or {}).get("status") != "pending" for m in final)


def test_switching_models_frees_the_previous_one(tiny_dir, tiny_dir_plain):
    eng = Engine()
    eng.load(str(tiny_dir), device="cpu")
    first = weakref.ref(eng.loaded.model)
    eng.load(str(tiny_dir_plain), device="cpu")
    second = weakref.ref(eng.loaded.model)
    eng.load(str(tiny_dir), device="cpu")
    gc.collect()
    assert first() is None and second() is None, "an unloaded model must not stay in memory"


def test_unknown_model_offline_falls_back_fast_with_a_notice():
    loaded = load_model("someone/no-such-model", device="cpu", offline=True)
    assert loaded.name == "tiny"
    assert any("no-such-model" in n and "unreachable" in n for n in loaded.notices)
    with pytest.raises(ModelLoadError, match="no-such-model"):
        load_model("someone/no-such-model", device="cpu", offline=True, fallback=False)


def test_hub_probe_respects_offline_env(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert loading.hub_reachable() is False


def test_a_preset_too_big_for_memory_is_refused_with_what_fits(monkeypatch):
    monkeypatch.setattr(loading, "free_memory_gb", lambda device: 5.0)
    with pytest.raises(ModelLoadError) as err:
        loading.check_memory(PRESETS["phi-4-reasoning"], "4bit", "cuda")
    msg = str(err.value)
    assert "phi-4-reasoning needs about" in msg and "5.0 GB" in msg
    assert "qwen3-0.6b" in msg and "qwen3-8b" not in msg
    loading.check_memory(PRESETS["qwen3-0.6b"], "4bit", "cuda")  # fits: no error


def test_bad_device_and_quant_are_clear_errors():
    with pytest.raises(ModelLoadError, match="choose one of"):
        load_model("tiny", quant="3bit", device="cpu")
    with pytest.raises(ModelLoadError, match="device"):
        loading.resolve_device("tpu")


def test_a_folder_that_is_not_a_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="config.json"):
        load_model(str(tmp_path), device="cpu")


def test_stop_event_ends_generation_within_a_token(engine):
    import threading

    stop = threading.Event()
    req = GenerationRequest(
        messages=[{"role": "user", "content": "x"}],
        think_budget=None,
        budget_mode="extend",
        min_think=3000,
        answer_budget=None,
        temperature=0.7,
        seed=0,
    )
    events = []
    for event in engine.stream(req, stop):
        events.append(event)
        if len(events) == 3:
            stop.set()
    stats = events[-1].stats
    assert stats.stopped and not stats.thought_closed
    assert stats.thinking_tokens < 3000, "stopped long before the minimum it would otherwise have had to reach"


def test_stop_criterion_ends_generate_on_the_next_token(engine):
    """Stop set while token k is being chosen: generate returns exactly k tokens (it ends within one token)."""
    import threading

    import torch
    from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteriaList

    from playground.generation.streaming import StopOnEvent

    stop = threading.Event()

    class SetStopAt(LogitsProcessor):
        calls = 0

        def __call__(self, input_ids, scores):
            SetStopAt.calls += 1
            if SetStopAt.calls == 10:
                stop.set()
            return scores

    model, tok = engine.loaded.model, engine.loaded.tokenizer
    ids = torch.tensor([tok("<|user|>hi<|end|><|assistant|>", add_special_tokens=False)["input_ids"]])
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=500,
        min_new_tokens=500,
        do_sample=False,
        temperature=None,
        top_p=None,
        top_k=None,
        pad_token_id=tok.pad_token_id,
        logits_processor=LogitsProcessorList([SetStopAt()]),
        stopping_criteria=StoppingCriteriaList([StopOnEvent(stop)]),
    )
    assert out.shape[1] - ids.shape[1] == 10


def test_tags_in_messages_are_shown_literally_but_reach_the_model_raw(engine):
    from playground.generation.chat_session import user_message

    prompt = "Answer as <final_answer>{'Solution': 'True'}</final_answer> & nothing else"
    history = [user_message(prompt)]
    assert "<final_answer>" not in history[0]["content"] and "&lt;final_answer&gt;" in history[0]["content"]
    assert history_to_messages(history) == [{"role": "user", "content": prompt}]
    final = list(stream_turn(engine, history, GenerationRequest(messages=[], think_budget=8, answer_budget=4)))[-1]
    ids, _, _ = engine.render(GenerationRequest(messages=history_to_messages(final.history)))
    assert prompt in engine.loaded.tokenizer.decode(ids)


def test_a_failed_load_keeps_the_model_that_was_loaded(tiny_dir, tmp_path):
    bad = tmp_path / "bad-config"
    bad.mkdir()
    (bad / "config.json").write_text("[]")  # a folder that looks like a model but is not one
    engine = Engine()
    engine.load(str(tiny_dir), device="cpu", offline=True)
    with pytest.raises(ModelLoadError, match="Could not load"):
        engine.load(str(bad), device="cpu", offline=True)
    assert engine.describe().source == str(tiny_dir)  # nothing was unloaded: it still generates
    req = GenerationRequest(messages=[{"role": "user", "content": "hi"}], think_budget=2, answer_budget=2)
    assert engine.generate(req).thinking_tokens <= 2
    adapter = tmp_path / "adapter-on-bad-base"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(bad), "peft_type": "LORA"}))
    with pytest.raises(ModelLoadError):
        engine.load_adapter(adapter, offline=True)
    assert engine.describe().source == str(tiny_dir) and engine.describe().adapter is None


def test_closing_a_stream_ends_its_generation(engine):
    """A visitor who goes away (the UI closes the event's generator) must not leave the model generating."""
    import threading

    before = threading.active_count()
    request = GenerationRequest(messages=[{"role": "user", "content": "go on"}], think_budget=None, answer_budget=None)
    stop = threading.Event()
    stream = engine.stream(request, stop)
    for event in stream:
        if type(event).__name__ == "ThinkingDelta":
            break
    assert engine.busy
    stream.close()
    assert stop.is_set() and not engine.busy
    assert threading.active_count() == before  # the generate thread has ended


def test_a_reply_without_an_answer_says_why(engine):
    history = [{"role": "user", "content": "hi"}]
    request = GenerationRequest(messages=[], think_budget=4, answer_budget=0, temperature=0)
    final = list(stream_turn(engine, history, request))[-1].history
    assert final[-1]["content"] == "*(no answer: the answer budget is 0)*"


def test_a_missing_folder_is_named_as_one_and_a_missing_hub_id_as_offline(tmp_path):
    for path in (str(tmp_path / "no-such-model"), "./no-such-model", "~/no-such-model"):
        with pytest.raises(ModelLoadError, match="no such folder on this machine"):
            load_model(path, device="cpu", offline=True, fallback=False)
    with pytest.raises(ModelLoadError, match="hub is unreachable"):
        load_model("someone/no-such-model", device="cpu", offline=True, fallback=False)
