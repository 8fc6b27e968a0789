"""The Train tab in a real browser on the launched app (`app_url`, tiny model): launch a short LoRA run on verified
puzzle traces, watch the progress bar, the loss plot and the log tail (newest line in view, no library warnings)
grow, see the run finish and listed, "Use this adapter" and find it named in the Chat tab's banner and the Puzzles
tab, race base vs adapter, and run the before/after evaluation on held-out seeds (it counts the answers the adapter
changed). Two fresh pages each Launch with the defaults and both start. Screenshots: tests/artifacts/train*.png."""

from __future__ import annotations

import re
import time

import pytest
from playwright import sync_api as playwright
from ui_helpers import set_number

pytestmark = [pytest.mark.browser, pytest.mark.slow]
RUN = "browser-run"
STEPS = 120  # long enough that polls every half second see the run move


def _plot_points(page) -> int:
    """Points of the loss trace drawn in the browser (0 before the first figure)."""
    return page.evaluate(
        "() => { const el = document.querySelector('#train-loss .js-plotly-plot');"
        " return el && el.data && el.data.length ? el.data[0].x.length : 0; }"
    )


def _progress(page) -> int:
    value = page.locator("#train-progress progress").get_attribute("value")
    return int(value or 0)


def _open_train_tab(browser, app_url, width: int = 1400):
    """A fresh page on the Train tab (after the page has loaded: it may restore the last tab on load)."""
    page = browser.new_page(viewport={"width": width, "height": 1100})
    page.goto(app_url)
    page.wait_for_selector("#chat-input textarea", timeout=60_000)
    page.wait_for_timeout(500)
    page.get_by_role("tab", name="Train").click()
    page.wait_for_selector("#train-launch", state="visible", timeout=10_000)
    return page


def _log_state(page) -> dict:
    """The log tail's text and whether its newest (last) line is scrolled into view."""
    return page.evaluate(
        "() => { const t = document.querySelector('#train-log textarea');"
        " return {text: t.value, bottom: t.scrollHeight - t.scrollTop - t.clientHeight <= 4}; }"
    )


def test_train_run_use_adapter_and_compare(app_url, browser, artifacts, tiny_dir):
    base = str(tiny_dir)  # the model the shared app was started with
    expect = playwright.expect
    page = _open_train_tab(browser, app_url)
    page.locator("#train-name input, #train-name textarea").first.fill(RUN)
    set_number(page, "#train-num-examples", 8, key="Tab")
    page.get_by_text("Hyperparameters").click()
    for elem_id, value in [
        ("train-max-steps", STEPS),
        ("train-batch-size", 2),
        ("train-max-seq-len", 1024),
        ("train-learning-rate", 0.002),
    ]:
        set_number(page, f"#{elem_id}", value, key="Tab")
    # a box typed into just after its accordion opened can be re-rendered with its default: check before launching
    page.wait_for_timeout(500)
    for elem_id, value in [("train-max-steps", STEPS), ("train-max-seq-len", 1024)]:
        if page.locator(f"#{elem_id} input[type=number]").input_value() != str(value):
            set_number(page, f"#{elem_id}", value, key="Tab")
    page.locator("#train-launch").click()
    expect(page.locator("#train-msg")).to_contain_text(f"Launched {RUN}", timeout=20_000)

    # live: the progress bar advances and the loss plot gains points, poll after poll
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + 480  # a loaded 2-core machine can take minutes
    while time.monotonic() < deadline:
        text = page.locator("#train-progress").inner_text()
        seen.append((_progress(page), _plot_points(page)))
        if "finished" in text or "failed" in text:
            break
        if len(seen) == 12:
            page.screenshot(path=str(artifacts / "train_running.png"), full_page=True)
        page.wait_for_timeout(500)
    expect(page.locator("#train-progress")).to_contain_text("finished", timeout=5_000)
    # the log tail: the newest line last and in view, no library warnings (train.log keeps those)
    page.wait_for_function("() => document.querySelector('#train-log textarea').value.includes('[sft] finished')")
    log = _log_state(page)
    assert log["text"].rstrip().splitlines()[-1].startswith("[sft] finished"), log["text"][-300:]
    assert log["bottom"], "the log's newest line is scrolled out of view"
    assert "Warning" not in log["text"] and "warnings.warn" not in log["text"], log["text"]
    moving = sorted({s for s in seen if 0 < s[0] < STEPS})
    # the page showed the run mid-way (progress and loss points) before it finished: it updates live; how many
    # polls land mid-run depends on the machine's load, so one is enough
    assert any(n > 0 for _, n in moving), seen
    expect(page.locator("#train-progress")).to_contain_text(f"step {STEPS}/{STEPS}")
    expect(page.locator("#train-progress progress")).to_have_attribute("value", str(STEPS))
    page.wait_for_function(f"() => document.querySelector('#train-loss .js-plotly-plot')?.data[0].x.length == {STEPS}")

    # the finished run is listed, and its adapter is picked for use
    runs = page.locator("#train-runs")
    expect(runs).to_contain_text(RUN)
    expect(runs).to_contain_text("finished")
    expect(page.locator("#train-adapter input")).to_have_value(re.compile(rf"{RUN}/adapter$"), timeout=10_000)
    page.screenshot(path=str(artifacts / "train_finished.png"), full_page=True)

    page.locator("#train-use").click()
    expect(page.locator("#train-use-msg")).to_contain_text(f"Loaded the adapter {RUN} on {base}", timeout=30_000)

    # before/after on held-out seeds (the run trained on all families: the first one, 3SAT, is compared)
    page.get_by_text("Before/after evaluation on held-out puzzles").click()
    # thinking is unlimited by default; this random-weight model would ramble to its context limit
    set_number(page, "#train-cmp-budget", 128, key="Tab")
    page.locator("#train-compare").click()
    table = page.locator("#train-compare-table")
    expect(table).to_contain_text(f"{base} (before)", timeout=60_000)
    expect(table).to_contain_text(f"{base} + {RUN} (after)")
    expect(table).to_contain_text("change")
    expect(page.locator("#train-compare-msg")).to_contain_text("8 held-out puzzles (seeds 0–7) × 2 samples")
    # how many of the 16 answers the adapter changed, and which way (a listed change per puzzle and sample)
    changed = re.compile(r"The adapter changed (none of the 16|\d+ of 16)")
    expect(page.locator("#train-compare-msg")).to_contain_text(changed)
    page.locator("#train-compare-box").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "train_compare.png"), full_page=True)

    # the Chat tab's banner names the adapter
    page.get_by_role("tab", name="Chat").click()
    banner = page.locator("#model-banner")
    expect(banner).to_contain_text(f"{base} + {RUN}", timeout=10_000)
    expect(banner).to_contain_text(f"{RUN}/adapter")  # "…, with the adapter <runs>/browser-run/adapter"
    page.screenshot(path=str(artifacts / "train_chat_banner.png"))

    # the Puzzles tab: 'current' is the adapter; Base vs adapter pairs the base (panel A) with it (panel B)
    page.get_by_role("tab", name="Puzzles").click()
    expect(page.locator("#puzzles-current")).to_contain_text(f"{base} + {RUN}", timeout=10_000)
    page.locator("#base-vs-adapter").click()
    expect(page.locator("#model-a input")).to_have_value(base)
    expect(page.locator("#model-b input")).to_have_value("current")
    set_number(page, "#think-b", 64, key="Tab")
    page.locator("#base-vs-adapter").click()  # the same settings on both sides
    expect(page.locator("#think-a input[type=number]")).to_have_value("64")
    page.locator("#run-both").click()
    verdicts = ".verdict-correct, .verdict-wrong, .verdict-unparseable"
    expect(page.locator(f"#verdict-a :is({verdicts})")).to_be_visible(timeout=60_000)
    expect(page.locator(f"#verdict-b :is({verdicts})")).to_be_visible(timeout=60_000)
    expect(page.locator("#status-a")).to_contain_text(base)
    expect(page.locator("#status-a")).not_to_contain_text(RUN)  # the plain base
    expect(page.locator("#status-b")).to_contain_text(f"{base} + {RUN}")
    page.screenshot(path=str(artifacts / "train_puzzles.png"), full_page=True)

    # leave the shared app as it was: the plain tiny model
    page.get_by_role("tab", name="Chat").click()
    page.locator("#load").click()
    expect(banner).not_to_contain_text(RUN, timeout=30_000)
    page.close()


def test_two_launches_with_defaults_from_fresh_pages_both_start(app_url, browser):
    """Each fresh page proposes its own run name, and a Launch with every default starts (one run trains at a
    time: the first is killed before the second page launches)."""
    expect = playwright.expect
    launched = []
    for _ in range(2):
        page = _open_train_tab(browser, app_url)
        try:
            page.locator("#train-launch").click()
            msg = page.locator("#train-msg")
            expect(msg).to_contain_text("Launched sft-", timeout=30_000)
            launched.append(re.search(r"Launched (\S+?)\.?(\s|$)", msg.inner_text()).group(1))
            expect(page.locator("#train-kill")).to_be_enabled(timeout=15_000)
            page.locator("#train-kill").click()
            expect(msg).to_contain_text("Killed", timeout=30_000)
            expect(page.locator("#train-launch")).to_be_enabled(timeout=15_000)
        finally:
            page.close()
    assert launched[0] != launched[1], launched
