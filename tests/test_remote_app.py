"""The whole app on a real vLLM server: `python app.py --server URL` chats through gradio_client with a live thought
under an exact budget, a side-by-side race runs both panels on the served model at once, every model a visitor picks
comes from the server's list, and in real Chromium the banner names the server and the model, the thought streams
into its collapsible group and a race is judged (screenshots at 1280 and 390 px in tests/artifacts)."""

from __future__ import annotations

import re

import pytest
from gradio_client import Client
from ui_helpers import open_tab
from vllm_fixture import launched_remote_app, vllm_server, vllm_url  # noqa: F401 - fixtures

from playground.evaluation.race import PanelConfig, race
from playground.generation.chat_session import message_text
from playground.generation.pool import ModelCache, VisitorPool, key_of
from playground.generation.remote import RemoteBackend
from playground.generation.remote_models import ServedModels
from playground.models.loading import ModelLoadError
from playground.models.presets import TINY_EXAMPLES
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
    cache = ModelCache(backend, offline=True, served=ServedModels(backend))
    pool = VisitorPool(cache, key_of(backend.loaded))
    instance = generate("maze", 1, 3)
    a = PanelConfig(think_budget=None, answer_budget=64, temperature=0.0)
    b = PanelConfig(model="tiny", think_budget=0, answer_budget=64, temperature=0.0)
    assert pool.uses_primary(b), "'tiny' names the served model: no weights are loaded here"
    with pytest.raises(ModelLoadError, match="does not serve 'phi-4-mini'"):
        pool.engine_for(PanelConfig(model="phi-4-mini"))
    updates = list(race(pool, instance, a, b))
    final = updates[-1].panels
    assert all(p.finished and p.error is None for p in final.values()), [p.error for p in final.values()]
    assert final["A"].result.verdict.correct, "the tiny reasoner solves this maze when it may think"
    assert final["A"].result.stats.thinking_tokens > 50 and final["B"].result.stats.thinking_tokens == 0
    assert final["A"].model == backend.describe().name
    assert any(u.changed == {"A", "B"} or len(u.changed) == 1 for u in updates[1:-1]), "both panels stream"
    assert cache.keys() == [cache.pinned], "nothing but the served model was opened"


@pytest.fixture(scope="module")
def remote_app(vllm_server, tmp_path_factory):  # noqa: F811
    with launched_remote_app(tmp_path_factory.mktemp("remote-app"), vllm_server.ensure()) as url:
        yield url, vllm_server.url


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_the_remote_app_in_a_browser(browser, remote_app, artifacts, width):
    url, server = remote_app
    page = browser.new_page(viewport={"width": width, "height": 1000})
    try:
        page.goto(url)
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        banner = page.locator("#model-banner").inner_text()
        assert server in banner and "tiny-reasoner" in banner, banner
        page.evaluate(
            """() => { window.__titles = [];
              new MutationObserver(() => document.querySelectorAll('#chatbot .thought-group .title')
                .forEach(t => window.__titles.push(t.innerText))
              ).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
        )
        family, seed = TINY_EXAMPLES[0]
        page.fill("#chat-input textarea", generate(family, 1, seed).prompt)
        page.click("#send")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#chatbot .thought-group .title')].some(t => "
            "t.innerText.includes('Thought for'))",
            timeout=180_000,
        )
        assert page.evaluate("window.__titles.some(t => t.includes('Thinking…'))"), "the thought streams live"
        title = page.locator("#chatbot .thought-group .title").first.inner_text()
        assert re.search(r"Thought for \d+\.\d s · \d+ tokens", title), title
        page.wait_for_function(
            "() => document.querySelector('#chat-stats').innerText.includes('thinking tokens')", timeout=60_000
        )
        assert "first token" in page.locator("#chat-stats").inner_text()
        page.locator("#chatbot .verdict-badge").wait_for(timeout=30_000)
        assert "✓ correct" in page.locator("#chatbot .verdict-badge").inner_text()
        page.locator("#chatbot .thought-group .title").first.click()
        page.locator("#chatbot .thought-group .content .message-content").first.wait_for(timeout=10_000)
        page.screenshot(path=str(artifacts / f"remote_chat_{width}.png"), full_page=True)
        if width == 1280:  # the picker lists what the server serves; another model is refused, saying so
            assert "a model the server serves" in page.locator("#model-picker").inner_text()
            quant = page.get_by_text("Quantization (auto: 4-bit on GPU)", exact=True)
            assert quant.count() == 0 or not quant.first.is_visible()  # the server quantizes its own models
            page.locator("#model-picker input").click()
            options = [o.inner_text() for o in page.get_by_role("option").all()]
            assert options == [next(o for o in options if "tiny-reasoner" in o)] and "loaded" in options[0], options
            page.locator("#model-picker input").fill("phi-4-mini")
            page.keyboard.press("Enter")
            page.click("#load")
            failed = page.locator("#model-banner", has_text="Load failed")
            failed.wait_for(timeout=60_000)
            assert "does not serve 'phi-4-mini'" in failed.inner_text()

        open_tab(page, "Puzzles", "#run-both")
        page.locator("#run-both").click()
        for name in ("a", "b"):
            verdict = "#verdict-{} .verdict-correct, #verdict-{} .verdict-wrong, #verdict-{} .verdict-unparseable"
            page.locator(verdict.format(name, name, name)).first.wait_for(timeout=180_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / f"remote_puzzles_{width}.png"), full_page=True)
    finally:
        page.close()
