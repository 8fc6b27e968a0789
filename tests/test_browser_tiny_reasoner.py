"""What a person sees on a fresh machine: `python app.py` opens on the shipped tiny reasoner, the banner says what it
is, and a Chat example (a held-out maze it solves) is thought through in a collapsible thought and answered
correctly — checked by the puzzle's own verifier on the answer shown in the page."""

from __future__ import annotations

import re

import pytest

from playground.models.presets import TINY_ANSWER_BUDGET, TINY_EXAMPLES, TINY_REASONER_DIR
from playground.puzzles import generate, get_family

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (TINY_REASONER_DIR / "config.json").exists(), reason="assets/tiny-reasoner not shipped"),
]


def test_chat_example_is_solved_by_the_shipped_reasoner(browser, tiny_app_url, artifacts):
    family, seed = TINY_EXAMPLES[0]
    inst = generate(family, 1, seed)
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    try:
        page.goto(tiny_app_url)
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        banner = page.locator("#model-banner").text_content()  # the short line, details collapsed below it
        assert "tiny" in banner and "trained from scratch" in banner and "solved with unlimited thinking" in banner, (
            banner
        )
        assert "quantization: none (fp32)" in page.locator("#model-banner").inner_text()
        # it says what it can do, and an answer budget that fits its one-line answers
        assert "solves small puzzles only" in page.locator("#chat-hint").inner_text()
        assert page.locator("#answer-budget input[type=number]").input_value() == str(TINY_ANSWER_BUDGET)
        # one titled example per family it solves; the first fills the input with the puzzle
        titles = [f"{get_family(f).short_title} (level 1)" for f, _ in TINY_EXAMPLES]
        for title in titles:
            page.locator(".gradio-container button", has_text=title).first.wait_for(timeout=10_000)
        page.locator(".gradio-container button", has_text=titles[0]).first.click()
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
        assert not re.search(r"\(\d+(\.\d+)?s\)", title), f"one duration in the title: {title}"
        # a clean answer with the verifier's badge; the raw text one click away
        page.locator("#chatbot .verdict-badge").wait_for(timeout=30_000)
        assert "✓ correct" in page.locator("#chatbot .verdict-badge").inner_text()
        raw = page.locator("#chatbot details.raw-answer").last
        raw.locator("summary").click()
        answer = raw.inner_text()
        verdict = get_family(family).verify(inst, answer)
        page.screenshot(path=str(artifacts / "chat_tiny_reasoner.png"), full_page=True)
        assert verdict.correct, (verdict.reason, answer)
        # the thought can be opened and holds the trace the model wrote
        page.locator("#chatbot .thought-group .title").first.click()
        thought = page.locator("#chatbot .thought-group .content .message-content").first
        thought.wait_for(timeout=10_000)
        assert thought.inner_text().strip()
        page.screenshot(path=str(artifacts / "chat_tiny_reasoner_thought.png"), full_page=True)

        # a model that cannot load: the embedded model stays, the page says why, the picker shows it again
        picker = page.locator("#model-picker input")
        picker.fill("/no/such/model-folder")
        picker.press("Enter")
        page.click("#load")
        page.locator(".toast-body", has_text="Could not load").first.wait_for(timeout=60_000)
        assert "Could not load" in page.locator("#model-banner").inner_text()
        page.wait_for_function(
            "() => document.querySelector('#model-picker input').value.startsWith('tiny')", timeout=10_000
        )
    finally:
        page.close()
