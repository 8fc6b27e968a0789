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


def open_chat(browser, app_url, width: int = 1400):
    page = browser.new_page(viewport={"width": width, "height": 1100})
    page.goto(app_url)
    page.wait_for_selector("#chat-input textarea", timeout=60_000)
    return page


def wait_stats(page, text: str, timeout: int = 60_000) -> str:
    page.wait_for_function(
        "(t) => document.querySelector('#chat-stats').innerText.includes(t)", arg=text, timeout=timeout
    )
    return page.locator("#chat-stats").inner_text()


def toast(page, text: str):
    """The toast in the page whose text contains `text` (it must appear within a few seconds)."""
    found = page.locator(".toast-body", has_text=text).first
    found.wait_for(timeout=15_000)
    return found


def test_typing_while_a_reply_streams_keeps_the_draft_and_send_keeps_it(browser, app_url, artifacts):
    page = open_chat(browser, app_url)
    try:
        # s1 extend with a minimum of 4000 tokens: the random model streams until Stop (its context is 4096)
        page.get_by_text("s1 extend (“Wait”)", exact=True).click()
        set_number(page, "Thinking budget", 8192)
        set_number(page, "Minimum thinking", 4000)
        box = page.locator("#chat-input textarea")
        box.fill("first question")
        page.click("#send")
        page.wait_for_function("() => document.querySelector('#chat-input textarea').value === ''", timeout=10_000)
        wait_stats(page, "Thinking…")
        box.click()
        box.press_sequentially("hello while it streams", delay=40)  # ~1 s of streamed updates meanwhile
        page.wait_for_timeout(500)
        assert box.input_value() == "hello while it streams"
        page.click("#send")  # refused while the reply streams: the text stays and the page says why
        toast(page, "A reply is still being generated")
        assert box.input_value() == "hello while it streams"
        page.click("#stop")
        toast(page, "Stopping")
        assert "stopped" in wait_stats(page, "thinking tokens")
        page.screenshot(path=str(artifacts / "chat_busy_send.png"))
        assert box.input_value() == "hello while it streams"
        users = page.locator("#chatbot .user-row .message-content").all_inner_texts()
        assert [u.strip() for u in users] == ["first question"]
    finally:
        page.close()


def test_an_example_sent_during_a_reply_is_refused_and_leaves_no_second_version(browser, app_url):
    page = open_chat(browser, app_url)
    try:
        page.get_by_text("s1 extend (“Wait”)", exact=True).click()  # a reply that streams until Stop
        set_number(page, "Thinking budget", 8192)
        set_number(page, "Minimum thinking", 4000)
        page.fill("#chat-input textarea", "first question")
        page.click("#send")
        wait_stats(page, "Thinking…")
        examples = page.locator(".gallery button, button.gallery-item, .examples button")
        examples.first.click()  # an example fills the box
        page.click("#send")  # refused: the reply is still streaming
        toast(page, "A reply is still being generated")
        page.wait_for_timeout(1_000)  # the refused event's follow-up steps run meanwhile
        page.click("#stop")
        assert "stopped" in wait_stats(page, "thinking tokens")
        page.wait_for_timeout(1_000)
        assert not page.locator("#reply-versions").is_visible(), page.locator("#reply-version").inner_text()
        assert page.locator("#chatbot .pending").count() == 0  # no frozen, still-spinning copy of the reply
    finally:
        page.close()


def test_enter_sends_and_shift_enter_adds_a_line(browser, app_url):
    page = open_chat(browser, app_url)
    try:
        set_number(page, "Thinking budget", 16)
        set_number(page, "Answer budget", 8)
        box = page.locator("#chat-input textarea")
        box.click()
        box.press_sequentially("line one")
        box.press("Shift+Enter")
        box.press_sequentially("line two")
        assert box.input_value() == "line one\nline two"
        box.press("Enter")
        wait_stats(page, "answer token")
        users = page.locator("#chatbot .user-row .message-content").all_inner_texts()
        assert len(users) == 1 and "line one" in users[0] and "line two" in users[0], users
        assert box.input_value() == ""
    finally:
        page.close()


def test_budget_zero_shows_no_thought_and_no_budget_reached(browser, app_url):
    page = open_chat(browser, app_url)
    try:
        set_number(page, "Thinking budget", 0)
        set_number(page, "Answer budget", 8)
        page.fill("#chat-input textarea", "answer at once")
        page.click("#send")
        stats = wait_stats(page, "answer token")
        assert "no thinking" in stats and "budget reached" not in stats, stats
        assert page.locator("#chatbot .thought-group").count() == 0
        assert "budget reached" not in page.locator("#chatbot").inner_text()
    finally:
        page.close()


def test_regenerate_on_an_empty_chat_says_so_in_the_page(browser, app_url):
    page = open_chat(browser, app_url)
    try:
        page.click("#clear")
        page.click("#regenerate")
        toast(page, "Nothing to regenerate yet.")
        assert page.locator(".toast-body", has_text="The prompt is empty").count() == 0
        page.click("#stop")  # nothing runs: Stop says so in the page too
        toast(page, "Nothing is running")
    finally:
        page.close()


def test_reload_keeps_the_conversation_and_the_tab_regenerate_keeps_versions_export(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    try:
        page.goto(app_url)
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        set_number(page, "Thinking budget", 16)
        set_number(page, "Answer budget", 8)
        page.fill("#chat-input textarea", "remember me")
        page.click("#send")
        wait_stats(page, "answer token")
        page.click("#regenerate")  # a second reply; the first stays reachable
        page.locator("#reply-version", has_text="Reply 2 / 2").wait_for(timeout=60_000)
        page.click("#reply-prev")
        page.locator("#reply-version", has_text="Reply 1 / 2").wait_for(timeout=10_000)
        with page.expect_download(timeout=30_000) as download:  # the conversation with its thoughts, as Markdown
            page.click("#export-md")
        exported = open(download.value.path(), encoding="utf-8").read()
        assert "## User\n\nremember me" in exported and "### Thought for" in exported
        page.get_by_role("tab", name="Puzzles").click()
        page.wait_for_timeout(500)

        page.reload()
        page.get_by_role("tab", name="Puzzles", selected=True).wait_for(timeout=30_000)
        page.get_by_role("tab", name="Chat").click()
        page.locator("#chatbot .user-row", has_text="remember me").wait_for(timeout=30_000)
        page.screenshot(path=str(artifacts / "chat_after_reload.png"))
    finally:
        context.close()
