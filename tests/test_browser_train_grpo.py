"""GRPO from the Train tab in a real browser on the launched app (`app_url`, tiny model): picking GRPO shows its
settings with the model's defaults, a group size of 1 is refused with a message, and a short run launches, draws
its reward curve (more points poll after poll), its learning-signal curves and sample completions with their
rewards, and finishes with a saved model listed in the runs table. Screenshot: tests/artifacts/train_grpo.png."""

from __future__ import annotations

import re
import time

import pytest
from playwright import sync_api as playwright
from ui_helpers import set_number

pytestmark = [pytest.mark.browser, pytest.mark.slow]
RUN = "browser-grpo"
STEPS = 6


def _reward_points(page) -> int:
    return page.evaluate(
        "() => { const el = document.querySelector('#train-reward .js-plotly-plot');"
        " return el && el.data && el.data.length > 1 ? el.data[1].x.length : 0; }"
    )


def test_grpo_run_from_the_train_tab(app_url, browser, artifacts):
    expect = playwright.expect
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(app_url)
    page.wait_for_selector("#chat-input textarea", timeout=60_000)
    page.wait_for_timeout(500)
    page.get_by_role("tab", name="Train").click()
    page.wait_for_selector("#train-launch", state="visible", timeout=10_000)
    page.locator("#train-name input, #train-name textarea").first.fill(RUN)
    page.locator("#train-method").get_by_text("GRPO").click()
    expect(page.locator("#train-num-generations")).to_be_visible(timeout=10_000)
    expect(page.locator("#train-num-generations input[type=number]")).to_have_value("8")

    set_number(page, "#train-num-generations", 1, key="Tab")  # a group of one: nothing to compare with
    page.locator("#train-launch").click()
    expect(page.locator("#train-msg")).to_contain_text("must be ≥ 2", timeout=20_000)

    page.get_by_text("Hyperparameters").click()
    page.wait_for_timeout(500)
    for elem_id, value in [
        ("train-num-generations", 2),
        ("train-batch-size", 4),
        ("train-max-steps", STEPS),
        ("train-max-completion-length", 32),
        ("train-reward-length", 1),  # a reward that varies even when a random-weight model answers nothing right
        ("train-num-examples", 16),
    ]:
        set_number(page, f"#{elem_id}", value, key="Tab")
    page.wait_for_timeout(500)
    page.locator("#train-launch").click()
    expect(page.locator("#train-msg")).to_contain_text(f"Launched {RUN}", timeout=20_000)

    expect(page.locator("#train-reward")).to_be_visible(timeout=120_000)
    seen: list[int] = []
    deadline = time.monotonic() + 480
    while time.monotonic() < deadline:
        seen.append(_reward_points(page))
        if (
            "finished" in page.locator("#train-progress").inner_text()
            or "failed" in page.locator("#train-progress").inner_text()
        ):
            break
        page.wait_for_timeout(500)
    expect(page.locator("#train-progress")).to_contain_text("finished", timeout=5_000)
    page.wait_for_function(
        f"() => document.querySelector('#train-reward .js-plotly-plot')?.data[1].x.length == {STEPS}", timeout=10_000
    )
    assert any(0 < n < STEPS for n in seen), seen  # the curve grew while the run trained, not only at the end
    expect(page.locator("#train-progress")).to_contain_text("reward")
    expect(page.locator("#train-signal .js-plotly-plot")).to_be_visible()
    expect(page.locator("#train-samples")).to_contain_text("sat L1 #")
    expect(page.locator("#train-runs")).to_contain_text(RUN)
    expect(page.locator("#train-adapter input")).to_have_value(re.compile(rf"{RUN}/model$"), timeout=10_000)
    page.screenshot(path=str(artifacts / "train_grpo.png"), full_page=True)


def test_train_on_these_failures_opens_grpo_on_the_evaluation(app_url, browser):
    """Evaluate → "Train on these failures" → the Train tab with GRPO on that evaluation's failures."""
    from ui_helpers import open_tab

    expect = playwright.expect
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(app_url)
    open_tab(page, "Evaluate", "#eval-run")
    set_number(page, "#eval-puzzles", 2)
    set_number(page, "#eval-samples", 1)
    group = page.locator("#eval-budgets")
    for label in ("0 (no thinking)", "64", "128", "256", "512", "1024", "2048", "unlimited"):
        box = group.get_by_label(label, exact=True)
        if box.is_checked() != (label == "64"):
            box.click()
    page.locator("#eval-run").click()
    expect(page.locator("#eval-status")).to_contain_text("Done in", timeout=120_000)
    page.locator("#eval-train-failures").click()
    expect(page.locator("#train-launch")).to_be_visible(timeout=10_000)
    expect(page.locator("#train-method").get_by_label(re.compile("GRPO"))).to_be_checked(timeout=10_000)
    expect(page.locator("#train-source").get_by_label(re.compile("evaluation failures"))).to_be_checked()
    expect(page.locator("#train-num-generations")).to_be_visible()
    page.get_by_label("Evaluation results (runs/<eval>/results.jsonl)").wait_for(timeout=10_000)
    value = page.get_by_label("Evaluation results (runs/<eval>/results.jsonl)").input_value()
    assert value.endswith("results.jsonl"), value
