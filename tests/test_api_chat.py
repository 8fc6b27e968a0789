"""The chat API of a launched app, through gradio_client: streaming, named endpoints, Stop, bad input."""

from __future__ import annotations

import time

import pytest
from gradio_client import Client

from playground.generation.chat_session import message_text

SETTINGS = dict(
    system_prompt="",
    temperature=0.8,
    top_p=0.95,
    top_k=20,
    seed=3,
    budget_mode="hard",
    min_think=0,
    wrapup_text="Time is up.",
)


SKIP = {"__type__": "update"}  # an output the handler left as it was (gr.skip())


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def chat(client, text, history=(), think=32, answer=16, **extra):
    settings = {**SETTINGS, "think_budget": think, "answer_budget": answer, **extra}
    return client.submit(message=text, history=list(history), **settings, api_name="/chat")


def test_named_endpoints_exist(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/chat", "/stop", "/load_model"} <= names


def test_chat_streams_a_collapsible_thought_then_the_answer(client):
    job = chat(client, "What is 2+2?", think=256, answer=16)  # long enough for several throttled updates
    final = job.result(timeout=120)
    updates = job.outputs()
    assert len(updates) > 3, "the reply must arrive in several streamed updates"
    pending = [u for u in updates if any((m.get("metadata") or {}).get("status") == "pending" for m in u[0])]
    assert pending, "the thought is shown as pending while it streams"
    assert "Thinking…" in pending[0][0][-1]["metadata"]["title"]
    history, _, stats = final
    boxes = [u[1] for u in updates]
    assert boxes.count("") == 1 and all(b == SKIP for b in boxes if b != ""), "the input is cleared once, then kept"
    assert history[0]["role"] == "user" and message_text(history[0]) == "What is 2+2?"
    thought = history[1]
    assert thought["metadata"]["status"] == "done"
    assert (
        thought["metadata"]["title"].startswith("Thought for")
        and "256 tokens (budget reached)" in thought["metadata"]["title"]
    )
    assert "duration" not in thought["metadata"], "one time in the title: Gradio would add a second badge"
    assert history[-1]["role"] == "assistant" and not (history[-1].get("metadata") or {}).get("title")
    assert "256 / 256 thinking tokens" in stats and "tokens/s" in stats and "first token" in stats


def test_multi_turn_keeps_the_conversation(client):
    first = chat(client, "first question", think=8, answer=4).result(timeout=120)[0]
    second = chat(client, "second question", history=first, think=8, answer=4).result(timeout=120)[0]
    assert [message_text(m) for m in second if m["role"] == "user"] == ["first question", "second question"]
    assert len(second) > len(first) + 1


def test_stop_ends_generation_and_leaves_nothing_pending(client):
    # unlimited budgets and a minimum of 4000 thinking tokens: the random model cannot end by itself early
    job = chat(client, "think forever", think=8192, answer=4096, budget_mode="extend", min_think=4000)
    deadline = time.time() + 60
    while len(job.outputs()) < 3 and time.time() < deadline:
        time.sleep(0.05)
    client.predict([], api_name="/stop")
    client.predict([], api_name="/stop")  # pressing Stop twice is harmless
    history, _, stats = job.result(timeout=120)
    assert "stopped" in stats
    assert all((m.get("metadata") or {}).get("status") != "pending" for m in history)
    tokens = int(stats.split(" thinking tokens")[0].split("·")[-1].strip().replace(",", ""))
    assert tokens < 4000, "generation must stop long before the context is full"


def test_empty_prompt_and_send_while_generating_keep_the_conversation(client):
    history = chat(client, "hello", think=8, answer=4).result(timeout=120)[0]
    same = chat(client, "   ", history=history).result(timeout=60)
    assert list(same) == [SKIP, SKIP, SKIP]
    running = chat(client, "long one", history=history, think=8192, answer=4096, budget_mode="extend", min_think=4000)
    while len(running.outputs()) < 2:
        time.sleep(0.05)
    refused = chat(client, "impatient", history=history).result(timeout=60)
    assert list(refused) == [SKIP, SKIP, SKIP], "the second Send is refused and touches nothing: the text stays"
    client.predict([], api_name="/stop")
    running.result(timeout=120)


def test_long_prompt_is_truncated_with_a_notice(client):
    history, _, _ = chat(client, "x" * 100_000, think=8, answer=4).result(timeout=120)
    titles = [(m.get("metadata") or {}).get("title", "") for m in history]
    assert any("cut to its first" in t for t in titles)


def test_budget_zero_has_no_thought_and_no_budget_reached(client):
    history, _, stats = chat(client, "answer now", think=0, answer=8).result(timeout=120)
    assert not any((m.get("metadata") or {}).get("title") for m in history), "no thought block at budget 0"
    assert "no thinking (budget 0)" in stats and "budget reached" not in stats
