"""The Puzzles tab in a real browser: pick 3SAT level 1, run both panels on the tiny model, see two verdicts and the
drawings. Launches `python app.py` on a free loopback port and drives headless Chromium through Playwright."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright import sync_api as playwright
from ui_helpers import open_tab, set_number

expect = playwright.expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
VERDICT = ".verdict-correct, .verdict-wrong, .verdict-unparseable"


@pytest.fixture(scope="module")
def page(app_url, browser):
    """The shared launched app (tests/conftest.py) in the shared Chromium, on the Puzzles tab."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)
    open_tab(page, "Puzzles", "#run-both")
    yield page
    page.close()


def test_race_on_sat_shows_two_verdicts_and_drawings(page, artifacts):
    expect = playwright.expect
    page.locator("#family input").click()
    page.get_by_role("option", name="3SAT").click()
    expect(page.locator("#level input")).to_have_value(re.compile(r"^1 · 3-4 variables"))
    expect(page.locator("#puzzle-prompt")).to_contain_text("3SAT · level 1", timeout=15_000)
    expect(page.locator("#puzzle-plot .js-plotly-plot")).to_be_visible()

    page.locator("#puzzle-seed input").fill("3")
    page.locator("#puzzle-seed input").press("Enter")
    expect(page.locator("#puzzle-prompt")).to_contain_text("seed 3", timeout=15_000)

    set_number(page, "#think-a", 16)
    set_number(page, "#think-b", 48)
    for panel in ("#panel-a", "#panel-b"):  # short answers keep the random model's noise brief
        page.locator(panel).get_by_text("More settings").click()
        set_number(page, f"#answer-{panel[-1]}", 48)
    page.locator("#run-both").click()
    for name in ("a", "b"):
        expect(page.locator(f"#verdict-{name}").locator(VERDICT)).to_be_visible(timeout=45_000)
        expect(page.locator(f"#plot-{name} .js-plotly-plot")).to_be_visible(timeout=15_000)
        expect(page.locator(f"#chat-{name}")).to_contain_text("Thought for")
    expect(page.locator("#verdict-a")).to_contain_text("/ 16 thinking tokens")
    expect(page.locator("#verdict-b")).to_contain_text("/ 48 thinking tokens")
    expect(page.locator("#status-a")).to_contain_text("tokens/s")
    page.locator("#run-both").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "puzzles.png"), full_page=True)

    # a bad seed is refused with a visible warning, and the puzzle stays as it was
    page.locator("#puzzle-seed input").fill("-5")
    page.locator("#puzzle-seed input").press("Enter")
    expect(page.locator(".toast-body").filter(has_text="whole number")).to_be_visible(timeout=10_000)
    expect(page.locator("#puzzle-prompt")).to_contain_text("seed 3")


def _pick(page, family: str, level: int, seed: int) -> None:
    """Choose a puzzle with the family, level and seed widgets, and wait until the prompt shows it."""
    page.locator("#family input").click()
    page.get_by_role("option", name=re.compile(re.escape(family))).click()
    page.locator("#level input").click()
    page.get_by_role("option", name=re.compile(rf"(^|\s){level} · ")).click()
    set_number(page, "#puzzle-seed", seed)
    expect(page.locator("#puzzle-prompt")).to_contain_text(f"level {level} · seed {seed}", timeout=15_000)
    page.wait_for_timeout(500)  # the drawing arrives with the prompt; let plotly draw it


def _drawn(page) -> str:
    """Every text of the puzzle's drawing (title, legend, labels)."""
    return page.locator("#puzzle-plot .js-plotly-plot").text_content()


def test_the_puzzle_view_reveals_no_solution_until_asked(page, artifacts):
    from playground.puzzles import generate
    from playground.puzzles import math_problems as mp

    expect = playwright.expect
    tsp = generate("tsp", 1, 1)
    _pick(page, "Travelling salesperson", 1, 1)
    assert "optimal" not in _drawn(page)  # no optimal tour, no "optimal (24)" legend
    expect(page.locator("#puzzle-reference")).not_to_be_visible()
    page.locator("#show-solution input").check()
    expect(page.locator("#puzzle-plot")).to_contain_text(f"optimal ({tsp.data['optimal_length']})", timeout=10_000)
    page.screenshot(path=str(artifacts / "puzzles_tsp_solution.png"), full_page=True)
    set_number(page, "#puzzle-seed", 2)  # a new puzzle hides the solution again
    expect(page.locator("#puzzle-prompt")).to_contain_text("seed 2", timeout=15_000)
    expect(page.locator("#show-solution input")).not_to_be_checked()
    page.wait_for_timeout(500)
    assert "optimal" not in _drawn(page)

    spatial = generate("spatial_map", 4, 3)
    _pick(page, "Spatial map", 4, 3)
    q = spatial.data["question"]
    assert f"{q['answer']}. {q['answer_text']}" not in _drawn(page)
    cal = next(generate("calendar", 2, s) for s in range(20) if generate("calendar", 2, s).data["solution"])
    _pick(page, "Calendar planning", 2, cal.seed)
    assert cal.data["solution"] not in _drawn(page) and "reference" not in _drawn(page)
    math = generate("math", 3, 2)
    _pick(page, "Math", 3, 2)
    _, steps, answer = mp.solve(math.data)
    drawn = _drawn(page)
    assert not any(step in drawn for step in steps) and f"answer {answer}" not in drawn
    page.screenshot(path=str(artifacts / "puzzles_math_fresh.png"), full_page=True)


def test_a_new_puzzle_clears_the_panels(page):
    expect = playwright.expect

    def race_then_check_cleared(change) -> None:
        page.locator("#run-both").click()
        expect(page.locator("#verdict-a").locator(VERDICT)).to_be_visible(timeout=45_000)
        expect(page.locator("#verdict-b").locator(VERDICT)).to_be_visible(timeout=45_000)
        expect(page.locator("#plot-a .js-plotly-plot")).to_be_visible()
        change()
        for name in ("a", "b"):  # no verdict, chat, status or answer drawing of the old puzzle remains
            expect(page.locator(f"#verdict-{name}")).to_contain_text("No verdict yet", timeout=15_000)
            expect(page.locator(f"#chat-{name} .message-row")).to_have_count(0)
            expect(page.locator(f"#plot-{name}")).to_be_hidden()
            expect(page.locator(f"#status-{name}")).to_have_text("")

    _pick(page, "Maze", 1, 4)
    for name in ("a", "b"):
        set_number(page, f"#think-{name}", 16)
        if not page.locator(f"#answer-{name}").is_visible():
            page.locator(f"#panel-{name}").get_by_text("More settings").click()
        set_number(page, f"#answer-{name}", 24)
    race_then_check_cleared(lambda: set_number(page, "#puzzle-seed", 5))
    race_then_check_cleared(lambda: _pick(page, "Maze", 2, 5))
    race_then_check_cleared(lambda: _pick(page, "3SAT", 1, 5))


def test_stop_ends_a_long_race(page):
    expect = playwright.expect
    set_number(page, "#puzzle-seed", 3)  # the previous test may have left an invalid seed behind
    for name in ("a", "b"):  # s1 extend with a long minimum: the thought cannot end early, only by Stop
        set_number(page, f"#think-{name}", 8000)
        page.locator(f"#mode-{name} input").click()
        page.locator(f"#mode-{name}").get_by_role("option", name="s1 extend").click()
        if not page.locator(f"#min-think-{name}").is_visible():
            page.locator(f"#panel-{name}").get_by_text("More settings").click()
        set_number(page, f"#min-think-{name}", 8000)
    page.locator("#run-both").click()
    expect(page.locator("#verdict-a .verdict-running")).to_be_visible(timeout=10_000)
    page.wait_for_timeout(1000)
    page.locator("#stop-race").click()
    for name in ("a", "b"):
        verdict = page.locator(f"#verdict-{name}").locator(VERDICT)
        expect(verdict).to_contain_text("stopped", timeout=15_000)
        thought = int(re.search(r"([\d,]+) / 8,000 thinking tokens", verdict.inner_text()).group(1).replace(",", ""))
        assert thought < 8000  # cut short: without Stop it could not end before 8,000
        expect(page.locator(f"#chat-{name}")).to_contain_text("(stopped)")
    expect(page.locator("#status-a")).to_contain_text("stopped")
    page.locator("#stop-race").click()  # with nothing running, Stop says so on the page
    expect(page.locator(".toast-body").filter(has_text="Nothing is running")).to_be_visible(timeout=10_000)


def test_race_api_endpoint(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    panel = dict(budget_mode="hard", temperature=0.7, min_think=0, answer_budget=32, seed=5, adapter="")
    args = {f"{p}_{k}": v for p in "ab" for k, v in panel.items()}
    result = client.predict(
        family="maze",
        level=2,
        puzzle_seed=4,
        a_model="current",
        a_think_budget=16,
        b_model="tiny",  # the embedded default: a second engine next to the loaded test model
        b_think_budget=32,
        api_name="/race",
        **args,
    )
    seed, chat_a, _, verdict_a, plot_a, chat_b, _, verdict_b, plot_b = result
    assert seed == 4 and chat_a and chat_b and plot_a and plot_b
    assert re.search(r"verdict-(correct|wrong|unparseable)", verdict_a) and "/ 16 thinking tokens" in verdict_a
    assert re.search(r"verdict-(correct|wrong|unparseable)", verdict_b) and "/ 32 thinking tokens" in verdict_b


def test_race_api_reports_a_missing_model_without_crashing(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    result = client.predict(
        family="sat",
        level=1,
        puzzle_seed=1,
        a_think_budget=8,
        a_answer_budget=16,
        b_model="no-such/model",
        api_name="/race",
    )
    verdict_a, verdict_b = result[3], result[7]
    # panel B shows why it could not run; panel A raced on and was judged
    assert "No verdict" in verdict_b and "no-such/model" in verdict_b
    assert "verdict-" in verdict_a and "No verdict" not in verdict_a
    # the app still serves races afterwards
    ok = client.predict(
        family="sat",
        level=1,
        puzzle_seed=1,
        a_think_budget=8,
        b_think_budget=8,
        a_answer_budget=16,
        b_answer_budget=16,
        api_name="/race",
    )
    assert "verdict-" in ok[3] and "verdict-" in ok[7] and "No verdict" not in ok[3] + ok[7]
