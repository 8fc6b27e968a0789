"""The Puzzles and Evaluate tabs on the shipped tiny reasoner, as `python app.py` opens them: the family pickers
mark the families it was not trained on and start on one it knows, and a race on a puzzle it solves is judged and
drawn in both panels (screenshots at 1400 px and 420 px in tests/artifacts)."""

from __future__ import annotations

import re

import pytest
from ui_helpers import open_tab

from playground.models.presets import TINY_EXAMPLES, TINY_REASONER_DIR
from playground.puzzles import families

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not (TINY_REASONER_DIR / "config.json").exists(), reason="assets/tiny-reasoner not shipped"),
]
UNTRAINED = ("calendar", "math")  # the tiny reasoner knows sat, maze, tsp and spatial_map
VERDICT = ".verdict-correct, .verdict-wrong, .verdict-unparseable"


def _options(page, picker: str) -> list[str]:
    page.locator(f"{picker} input").click()
    names = [o.inner_text().replace("✓", "").strip() for o in page.get_by_role("option").all()]
    page.keyboard.press("Escape")
    return names


def test_family_pickers_mark_the_families_the_model_was_not_trained_on(browser, tiny_app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(tiny_app_url)
        for tab, picker, default in (("Puzzles", "#family", "Maze"), ("Evaluate", "#eval-family", "3SAT")):
            open_tab(page, tab, picker)
            expect(page.locator(f"{picker} input")).to_have_value(default)  # a family the model knows
            names = _options(page, picker)
            for name, fam in families().items():
                label = next(n for n in names if n.startswith(fam.title))
                assert ("not trained on by tiny" in label) == (name in UNTRAINED), (tab, label)
    finally:
        page.close()


@pytest.mark.parametrize("width", [1400, 420])
def test_race_on_a_puzzle_the_model_solves(browser, tiny_app_url, artifacts, width):
    family, seed = TINY_EXAMPLES[0]
    page = browser.new_page(viewport={"width": width, "height": 1000})
    try:
        page.goto(tiny_app_url)
        open_tab(page, "Puzzles", "#run-both")
        page.locator("#puzzle-seed input").fill(str(seed))
        page.locator("#puzzle-seed input").press("Enter")
        expect(page.locator("#puzzle-prompt")).to_contain_text(f"seed {seed}", timeout=15_000)
        page.locator("#run-both").click()
        # Run both brings the panels into view at once, so the streams are seen live: panel A's top is in the upper
        # part of the window, or the page is scrolled as far as it goes
        page.wait_for_function(
            "document.querySelector('#panel-a').getBoundingClientRect().top <= window.innerHeight * 0.4"
            " || window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2",
            timeout=5_000,
        )
        if width == 420:  # there the panels start below the fold: the page moved
            assert page.evaluate("window.scrollY") > 0
        for name in ("a", "b"):
            expect(page.locator(f"#verdict-{name}").locator(VERDICT)).to_be_visible(timeout=120_000)
            expect(page.locator(f"#plot-{name} .js-plotly-plot")).to_be_visible(timeout=15_000)
        expect(page.locator("#verdict-b .verdict-correct")).to_be_visible()  # 512 tokens: enough for this maze
        if width == 420:  # panel B starts right below panel A's end: no empty space between them
            gap = page.evaluate(
                "document.querySelector('#panel-b').getBoundingClientRect().top"
                " - document.querySelector('#panel-a').getBoundingClientRect().bottom"
            )
            assert gap < 60, gap
        title = page.locator("#plot-b .gtitle").text_content()
        assert re.search(r"correct", title)
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / f"puzzles_tiny_{width}.png"), full_page=True)
    finally:
        page.close()
