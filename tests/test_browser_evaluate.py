"""The Evaluate tab in a real browser: run a tiny budget sweep on the tiny model, see the table, the charts and the
saved files; start a long run and Stop it. Uses the launched app (`app_url`) and Chromium (`browser`) fixtures."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from ui_helpers import open_tab, set_number

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = playwright.expect


@pytest.fixture(scope="module")
def page(app_url, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(app_url)
    open_tab(page, "Evaluate", "#eval-run")
    yield page
    page.close()


def _pick_budgets(page, wanted: set[str]) -> None:
    group = page.locator("#eval-budgets")
    for label in ("0 (no thinking)", "64", "128", "256", "512", "1024", "2048", "unlimited"):
        box = group.get_by_label(label, exact=True)
        if box.is_checked() != (label.split(" ")[0] in wanted):
            box.click()


def test_budget_sweep_shows_table_charts_and_saves(page, artifacts):
    header = page.locator("#eval-table [role=row]").first  # before a run: the table's own headers, not "1 2 3"
    expect(header).to_contain_text("pass@1")
    expect(header).not_to_contain_text("1 2 3")
    page.locator("#eval-family input").click()
    page.get_by_role("option", name=re.compile("maze", re.I)).first.click()
    set_number(page, "#eval-puzzles", 2)
    set_number(page, "#eval-samples", 2)
    _pick_budgets(page, {"0", "64"})
    page.get_by_text("More settings").click()
    set_number(page, "#eval-answer", 24)
    set_number(page, "#eval-seed", 5)
    page.locator("#eval-run").click()

    status = page.locator("#eval-status")
    expect(status).to_contain_text("Done in", timeout=120_000)
    expect(status).to_contain_text("2 puzzles × 2 samples × 2 budgets")
    rows = page.locator("#eval-table [role=row]")  # the header row, then one row per budget
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("pass@1")
    for i, budget in ((1, "0"), (2, "64")):
        cells = rows.nth(i).get_by_role("gridcell")
        expect(cells.nth(0)).to_have_text(budget)
        expect(cells.nth(1)).to_have_text("all")
        expect(cells.nth(2)).to_have_text(re.compile(r"\d+\.\d ± \d+\.\d"))  # pass@1 mean ± std
    for plot in ("#eval-budget-plot", "#eval-n-plot", "#eval-hist-plot"):
        expect(page.locator(f"{plot} .js-plotly-plot")).to_be_visible()
    expect(page.locator("#eval-budget-plot")).to_contain_text("average pass@1")
    link = page.locator("#eval-csv a[href*='-summary.csv']")
    expect(link).to_be_visible()

    # the files the status names exist and hold 2 puzzles × 2 samples × 2 budgets records
    out = Path(re.search(r"Saved to (\S+?)/? \(", status.inner_text()).group(1))
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 8 and {r["budget"] for r in records} == {0, 64}
    assert all(r["thinking_tokens"] <= r["budget"] for r in records)
    csv_file = out / f"{out.name}-summary.csv"  # named after the run, in the table's units
    csv_text = csv_file.read_text()
    assert csv_text.startswith("model,family,temperature,budget,level") and "pass@1 %" in csv_text.splitlines()[0]
    assert len(csv_text.splitlines()) == 3
    assert link.get_attribute("href").endswith(csv_file.name)
    with urllib.request.urlopen(link.get_attribute("href"), timeout=10) as resp:  # the download serves that file
        assert resp.read() == csv_file.read_bytes()
    page.locator("#eval-status").scroll_into_view_if_needed()
    page.wait_for_timeout(800)  # let plotly finish drawing
    page.screenshot(path=str(artifacts / "evaluate.png"), full_page=True)


def test_stop_ends_a_long_run_and_keeps_what_was_done(page, artifacts):
    set_number(page, "#eval-puzzles", 2)
    set_number(page, "#eval-samples", 2)
    # greedy decoding of the random model loops without ever closing its thought: with unlimited thinking the
    # second budget runs towards the context limit, long enough to be stopped
    set_number(page, "#eval-temperature", 0)
    _pick_budgets(page, {"0", "unlimited"})
    page.locator("#eval-run").click()
    status = page.locator("#eval-status")
    expect(status).to_contain_text("budget 0: 2/2 puzzles", timeout=90_000)
    page.locator("#eval-stop").click()
    expect(page.locator(".toast-body").filter(has_text="Stopping")).to_be_visible(timeout=10_000)  # on the page
    expect(status).to_contain_text("Stopped in", timeout=60_000)
    rows = page.locator("#eval-table [role=row]")
    expect(rows).to_have_count(2)  # header + budget 0, which was complete; the cut unlimited batch is dropped
    page.screenshot(path=str(artifacts / "evaluate_stopped.png"), full_page=True)
