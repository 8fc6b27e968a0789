"""Small helpers shared by the UI tests: waiting for a launched app, Playwright steps, and the Chat tab's settings
and the race endpoint as a `gradio_client` session calls them."""

from __future__ import annotations

import html
import re
import time
import urllib.request

CHAT_SETTINGS = dict(  # the /chat endpoint's settings: greedy, hard budget cut, no system prompt
    history=[],
    system_prompt="",
    temperature=0.0,
    top_p=0.95,
    top_k=20,
    seed=-1,
    budget_mode="hard",
    min_think=0,
    wrapup_text="",
)


def race_model(client) -> str:
    """The model a `gradio_client` session's 'current' race panel runs on (its status line names it)."""
    out = client.predict(
        family="maze",
        level=1,
        puzzle_seed=1,
        a_model="current",
        a_adapter="",
        a_think_budget=0,
        a_answer_budget=4,
        a_temperature=0,
        b_model="current",
        b_adapter="",
        b_think_budget=0,
        b_answer_budget=4,
        b_temperature=0,
        api_name="/race",
    )
    return html.unescape(re.search(r"<code>(.*?)</code>", out[2]).group(1))


def set_number(page, selector: str, value: float, key: str = "Enter") -> None:
    """Type `value` into the number box inside the component matched by `selector` (e.g. a slider's box).

    A box typed into while its component is still being mounted (e.g. just after its accordion opened) can be reset
    to its default a moment later; the value is checked and typed again, as a person would, up to three times."""
    from playwright.sync_api import expect

    box = page.locator(f"{selector} input[type=number]")
    for _ in range(3):
        box.fill(str(value))
        box.press(key)
        page.wait_for_timeout(300)
        if box.input_value() == str(value):
            break
    expect(box).to_have_value(str(value))


def open_tab(page, name: str, ready: str, tries: int = 5) -> None:
    """Click the tab `name` until the element `ready` inside it shows: the page restores the last tab from browser
    storage once it has loaded, which can undo a click made before that."""
    from playwright.sync_api import expect

    for _ in range(tries - 1):
        page.get_by_role("tab", name=name).click()
        try:
            expect(page.locator(ready)).to_be_visible(timeout=6_000)
            return
        except AssertionError:
            continue
    page.get_by_role("tab", name=name).click()
    expect(page.locator(ready)).to_be_visible(timeout=30_000)


def wait_until_serving(proc, url: str, log, seconds: float = 120) -> None:
    """Wait until the app process `proc` answers `url` with HTTP 200; RuntimeError with its `log` (a Path) when it
    exits first or does not answer within `seconds` (then it is killed)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited early:\n{log.read_text()}")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"app did not answer within {seconds:.0f} s:\n{log.read_text()}")
