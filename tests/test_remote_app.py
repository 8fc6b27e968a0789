"""The whole app on a real vLLM server: `python app.py --server URL` chats through gradio_client with a live thought
under an exact budget, and a side-by-side race runs both panels on the served model at once."""

from __future__ import annotations

import pytest
from gradio_client import Client
from vllm_fixture import launched_remote_app, vllm_server, vllm_url  # noqa: F401 - fixtures

from playground.evaluation.race import PanelConfig, race
from playground.generation.chat_session import message_text
from playground.generation.pool import ModelCache, VisitorPool, key_of
from playground.generation.remote import RemoteBackend
from playground.puzzles import generate

pytestmark = pytest.mark.slow

SETTINGS = dict(
    system_prompt="",
    temperature=0.0,
    top_p=0.95,
    top_k=20,
    seed=3,
    budget_mode="hard",
    min_think=0,
    wrapup_text="Time is up.",
)


def test_chat_through_the_app_streams_the_served_models_thought(vllm_url, tmp_path):  # noqa: F811
    maze = generate("maze", 1, 7)
    with launched_remote_app(tmp_path, vllm_url) as url:
        client = Client(url, verbose=False)
        job = client.submit(
            message=maze.prompt, history=[], think_budget=48, answer_budget=64, **SETTINGS, api_name="/chat"
        )
        history, _, stats = job.result(timeout=180)
        updates = job.outputs()
        pending = [u for u in updates if any((m.get("metadata") or {}).get("status") == "pending" for m in u[0])]
        assert pending and "Thinking…" in pending[0][0][-1]["metadata"]["title"], "the thought streams live"
        thought = history[1]
        assert thought["metadata"]["title"].startswith("Thought for")
        assert "48 tokens (budget reached)" in thought["metadata"]["title"]
        assert "48 / 48 thinking tokens" in stats and "first token" in stats
        assert "Final Answer" in message_text(history[-1])


def test_a_race_runs_both_panels_on_the_served_model(vllm_url):  # noqa: F811
    backend = RemoteBackend(vllm_url)
    backend.load()
    pool = VisitorPool(ModelCache(backend, offline=True), key_of(backend.loaded))
    instance = generate("maze", 1, 3)
    a = PanelConfig(think_budget=None, answer_budget=64, temperature=0.0)
    b = PanelConfig(think_budget=0, answer_budget=64, temperature=0.0)
    updates = list(race(pool, instance, a, b))
    final = updates[-1].panels
    assert all(p.finished and p.error is None for p in final.values()), [p.error for p in final.values()]
    assert final["A"].result.verdict.correct, "the tiny reasoner solves this maze when it may think"
    assert final["A"].result.stats.thinking_tokens > 50 and final["B"].result.stats.thinking_tokens == 0
    assert final["A"].model == backend.describe().name
    assert any(u.changed == {"A", "B"} or len(u.changed) == 1 for u in updates[1:-1]), "both panels stream"
