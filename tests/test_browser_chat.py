"""What a person sees in the Chat tab, in real headless Chromium: the thought streams pending, then collapses under
its final title, and the answer and its figures are visible."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def set_number(page, label: str, value: int) -> None:
    """Type into the number box of the slider whose label contains `label`."""
    box = page.get_by_label(re.compile(re.escape(label))).first
    box.fill(str(value))
    box.press("Enter")


def test_thought_streams_pending_then_done_collapsed_with_answer(browser, app_url, artifacts):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    try:
        page.goto(app_url)
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        # s1 extend with a minimum of 384 tokens: the thought lasts long enough to be seen streaming
        page.get_by_text("s1 extend (“Wait”)", exact=True).click()
        set_number(page, "Minimum thinking", 384)
        page.fill("#chat-input textarea", "How many right turns does the path take?")
        # record every title the thought shows, so a fast model cannot finish before the pending state is seen
        page.evaluate(
            """() => { window.__titles = [];
              new MutationObserver(() => document.querySelectorAll('#chatbot .thought-group .title')
                .forEach(t => window.__titles.push(t.innerText))
              ).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
        )
        page.click("#send")

        title = page.locator("#chatbot .thought-group .title").first
        title.wait_for(timeout=30_000)
        page.wait_for_function(
            "() => window.__titles.some(t => t.includes('Thinking…') && t.includes('/ 512 tokens'))",
            timeout=30_000,
        )
        page.screenshot(path=str(artifacts / "chat_pending.png"))

        page.wait_for_function(
            "() => [...document.querySelectorAll('#chatbot .thought-group .title')].some(t => "
            "t.innerText.includes('Thought for'))",
            timeout=60_000,
        )
        final_title = title.inner_text()
        assert re.search(r"Thought for \d+\.\d s · \d+ tokens", final_title), final_title
        n = int(re.search(r"· (\d+) tokens", final_title).group(1))
        assert 384 <= n <= 512
        page.wait_for_function(
            "() => document.querySelector('#chat-stats').innerText.includes('thinking tokens')", timeout=60_000
        )
        stats = page.locator("#chat-stats").inner_text()
        assert f"{n} / 512 thinking tokens" in stats and "tokens/s" in stats

        # collapsed: only the title of the thought is shown; the question and the answer are shown
        page.wait_for_function(
            "() => { const t = document.querySelector('#chatbot .thought-group .title');"
            " return t && !t.classList.contains('expanded')"
            " && !t.closest('.thought-group').querySelector('.content'); }",
            timeout=10_000,
        )
        bot_texts = [t.strip() for t in page.locator("#chatbot .message-content").all_inner_texts()]
        assert bot_texts[0] == "How many right turns does the path take?"
        assert len(bot_texts) == 2, f"only the question and the answer are expanded: {bot_texts}"
        assert bot_texts[1], "the answer is visible"
        page.screenshot(path=str(artifacts / "chat.png"), full_page=True)

        # expanding the thought shows its text
        title.click()
        expanded = page.locator("#chatbot .thought-group .content .message-content").first
        expanded.wait_for(timeout=10_000)
        assert expanded.inner_text().strip()
    finally:
        page.close()
