"""The Chat tab's text work without a browser: rendered answers keep the raw text for the model, verdict badges on
known puzzles, export with thoughts, reply versions, s1 "Wait" marks, and what follows the loaded model."""

from __future__ import annotations

import json

from playground.generation.chat_session import history_to_messages, mark_waits, shown, stats_line, user_message
from playground.generation.request import GenerationStats
from playground.models.presets import TINY_EXAMPLES
from playground.puzzles import generate
from playground.ui import chat_model
from playground.ui.answer_view import clean_answer, known_puzzle, render_answer
from playground.ui.chat_export import to_json, to_markdown
from playground.ui.chat_versions import drop_reply, nav_label, record_version
from playground.ui.widgets import THINK_MAX


def test_a_rendered_answer_is_clean_badged_and_the_model_sees_the_raw_text():
    inst = generate("sat", 1, 1)
    thought = {"role": "assistant", "content": "x", "metadata": {"title": "Thought for 1.0 s", "status": "done"}}
    history = [user_message(inst.prompt), thought, {"role": "assistant", "content": shown(inst.reference)}]
    rendered = render_answer(history)[-1]["content"]
    assert rendered.startswith("**Solution:** Unsatisfiable")
    assert "✓ correct" in rendered and "3SAT verifier" in rendered
    assert history_to_messages(render_answer(history))[-1]["content"] == inst.reference
    wrong = [user_message(inst.prompt), {"role": "assistant", "content": "<final_answer>{'Solution': 'True'}"}]
    assert "✗ wrong" in render_answer(wrong)[-1]["content"]


def test_answers_without_a_marker_or_a_known_puzzle_stay_as_written():
    history = [user_message("hello"), {"role": "assistant", "content": "just words"}]
    assert render_answer(history) == history
    assert clean_answer("Final Answer: L L U") == "**Answer:** L L U"
    assert clean_answer("so the count is \\boxed{496}.") == "**Answer:** 496"  # math answers come boxed
    assert known_puzzle("hello") is None
    family, seed = TINY_EXAMPLES[1]
    assert known_puzzle(generate(family, 1, seed).prompt).seed == seed


def test_export_keeps_thoughts_and_raw_text():
    inst = generate("sat", 1, 1)
    thought = {"role": "assistant", "content": "a &lt;b&gt;", "metadata": {"title": "Thought for 1.0 s"}}
    history = render_answer([user_message("q <1>"), thought, {"role": "assistant", "content": shown(inst.reference)}])
    md = to_markdown(history, "tiny")
    assert "## User\n\nq <1>" in md and "### Thought for 1.0 s\n\n> a <b>" in md and inst.reference in md
    records = json.loads(to_json(history, "tiny"))["messages"]
    assert [r["kind"] for r in records] == ["question", "thought", "answer"]
    assert records[2]["text"] == inst.reference


def test_regenerated_replies_are_kept_as_versions():
    q = [user_message("q")]
    first = record_version([*q, {"role": "assistant", "content": "one"}], {})
    assert nav_label(first) == ""
    second = record_version([*q, {"role": "assistant", "content": "two"}], first)
    assert nav_label(second) == "Reply 2 / 2" and len(second["replies"]) == 2
    assert drop_reply([*q, {"role": "assistant", "content": "two"}]) == q
    assert record_version([user_message("new")], second)["replies"] == []


def test_inserted_waits_are_marked_and_budget_zero_reads_as_no_thinking():
    assert mark_waits("a\nWait, b\nWait, c", 1) == "a\nWait, b\n**Wait,** c"
    assert mark_waits("a\nWait, b", 0) == "a\nWait, b"
    line = stats_line(GenerationStats(answer_tokens=3, budget_reached=True), 0)
    assert "no thinking (budget 0)" in line and "budget reached" not in line


def test_token_counts_read_as_words():
    one = stats_line(GenerationStats(thinking_tokens=1, answer_tokens=1), None)
    assert "· 1 thinking token ·" in one and "· 1 answer token ·" in one
    many = stats_line(GenerationStats(thinking_tokens=1, answer_tokens=2), 64)
    assert "· 1 / 64 thinking tokens ·" in many and "· 2 answer tokens ·" in many


def test_what_follows_the_loaded_model(engine):
    info = engine.describe()  # the random-weight placeholder: a general model
    assert chat_model.capability_hint(info) == "" and chat_model.default_budgets(info) == (512, 1024)
    tiny = type(info)(**{**info.__dict__, "name": "tiny", "families": ["maze", "tsp", "sat", "spatial_map"]})
    prompts, labels = chat_model.examples(tiny)
    assert labels == ["Maze (level 1)", "Travelling salesperson (level 1)", "3SAT (level 1)", "Spatial map (level 1)"]
    assert len(prompts) == 4 and chat_model.default_budgets(tiny)[1] == 128
    assert "solves small puzzles only" in chat_model.capability_hint(tiny)
    assert chat_model.effort_budgets(tiny)["unlimited"] == THINK_MAX
    assert chat_model.budget_note(THINK_MAX, THINK_MAX) == "= unlimited"
    assert "quantization: none (fp32)" in chat_model.banner_markdown(info)
    assert chat_model.where("tiny", offline=True) == "embedded"


def test_a_notice_is_surfaced_once_in_a_turn(engine):
    from playground.generation.chat_session import stream_turn
    from playground.generation.request import GenerationRequest

    long_wrapup = "Time is up, so I stop thinking here and write down the best answer I have. " * 3
    req = GenerationRequest(
        messages=[], temperature=0, think_budget=8, answer_budget=8, budget_mode="wrapup", wrapup_text=long_wrapup
    )
    updates = list(stream_turn(engine, [user_message("Is 91 prime?")], req))
    notices = [n for u in updates for n in u.notices]
    assert len([n for n in notices if "wrap-up sentence" in n]) == 1, notices
    assert updates[-1].done is not None


def test_an_extend_minimum_above_the_budget_is_said_and_kept_within_it():
    from playground.ui.widgets import min_think_note, read_budgets

    values = {"think_budget": 16, "answer_budget": 64, "min_think": 200, "budget_mode": "extend"}
    assert read_budgets(values)["min_think"] == 16
    assert "200 tokens" in min_think_note(values) and "(16)" in min_think_note(values)
    assert min_think_note(values | {"budget_mode": "hard"}) is None  # the minimum means nothing there
    assert min_think_note(values | {"min_think": 16}) is None
    assert min_think_note(values | {"think_budget": THINK_MAX}) is None  # unlimited: any minimum fits
