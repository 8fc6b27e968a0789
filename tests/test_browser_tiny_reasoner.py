"""What a person sees on a fresh machine: `python app.py` opens on the shipped tiny reasoner, the banner says what it
is, and a Chat example (a held-out maze it solves) is thought through in a collapsible thought and answered
correctly — checked by the puzzle's own verifier on the answer shown in the page."""

from __future__ import annotations

import re

import pytest

from playground.models.presets import TINY_EXAMPLES, TINY_REASONER_DIR
from playground.puzzles import generate, get_family

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (TINY_REASONER_DIR / "config.json").exists(), reason="assets/tiny-reasoner not shipped"),
]


@pytest.fixture(scope="module")
def tiny_app_url(launch_app):
    with launch_app("tiny") as url:  # what `python app.py` loads on a machine without a GPU
        yield url


def test_chat_example_is_solved_by_the_shipped_reasoner(browser, tiny_app_url, artifacts):
    family, seed = TINY_EXAMPLES[0]
    inst = generate(family, 1, seed)
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    try:
        page.goto(tiny_app_url)
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        banner = page.locator("#model-banner").inner_text()
        assert "tiny" in banner and "trained from scratch" in banner and "solved with unlimited thinking" in banner, (
            banner
        )
        # the first example fills the input with the puzzle
        page.locator(".gradio-container button", has_text=inst.prompt[:40]).first.click()
        page.wait_for_function(
            "(start) => document.querySelector('#chat-input textarea').value.startsWith(start)",
            arg=inst.prompt[:40],
            timeout=10_000,
        )
        page.click("#send")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#chatbot .thought-group .title')].some(t => "
            "t.innerText.includes('Thought for'))",
            timeout=120_000,
        )
        page.wait_for_function(
            "() => document.querySelector('#chat-stats').innerText.includes('thinking tokens')", timeout=60_000
        )
        title = page.locator("#chatbot .thought-group .title").first.inner_text()
        assert re.search(r"Thought for \d+\.\d s · \d+ tokens", title), title
        answer = page.locator("#chatbot .message-content").all_inner_texts()[-1]
        verdict = get_family(family).verify(inst, answer)
        page.screenshot(path=str(artifacts / "chat_tiny_reasoner.png"), full_page=True)
        assert verdict.correct, (verdict.reason, answer)
        # the thought can be opened and holds the trace the model wrote
        page.locator("#chatbot .thought-group .title").first.click()
        thought = page.locator("#chatbot .thought-group .content .message-content").first
        thought.wait_for(timeout=10_000)
        assert thought.inner_text().strip()
        page.screenshot(path=str(artifacts / "chat_tiny_reasoner_thought.png"), full_page=True)
    finally:
        page.close()
