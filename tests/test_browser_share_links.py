"""Share links in a real browser: a link opens its tab with its settings and its puzzle, "Copy link" writes a link
that opens the same view in another browser, and a bad link opens with a note and the defaults. Uses the launched
app (`app_url`) and Chromium (`browser`) fixtures; each page is its own browser context (no shared storage)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from ui_helpers import set_number

from playground.puzzles import generate

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = playwright.expect
RACE = "?tab=puzzles&family=maze&level=2&seed=7&a_budget=0&b_budget=unlimited"
EVALUATION = "?tab=evaluate&family=maze&levels=2,3&puzzles=5&samples=2&budgets=0,32,unlimited&temperature=0.5&seed=3"


def _open(browser, url: str, width: int = 1280, clipboard: bool = False):
    """A fresh browser context (its own storage, as another visitor's) on `url`; a dialog (e.g. from markup in the
    link) fails the test."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    if clipboard:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    page.goto(url)
    return page


def _selected_tab(page, name: str) -> None:
    expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true", timeout=60_000)


def _puzzle_shown(page, family: str, level: int, seed: int, title: str) -> None:
    """The widgets and the prompt name this puzzle, and the prompt is that puzzle's own text."""
    expect(page.locator("#family input")).to_have_value(title, timeout=30_000)
    expect(page.locator("#level input")).to_have_value(re.compile(rf"^{level} · "))
    expect(page.locator("#puzzle-seed input")).to_have_value(str(seed))
    prompt = page.locator("#puzzle-prompt")
    expect(prompt).to_contain_text(f"{title} · level {level} · seed {seed}", timeout=30_000)
    maze = generate(family, level, seed).prompt.split("The maze:")[-1].strip()
    expect(prompt.locator("pre")).to_contain_text(maze)


def _budgets(page) -> tuple[str, str]:
    return tuple(page.locator(f"#think-{side} input[type=number]").input_value() for side in "ab")


def _link(page, tab: str) -> str:
    """Press the tab's Copy link button and read the link from its box."""
    page.locator(f"#{tab}-copy-link").click()
    box = page.locator(f"#{tab}-link textarea")
    expect(box).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/\?tab=" + tab), timeout=20_000)
    return box.input_value()


def test_a_race_link_opens_the_race_and_copy_link_reproduces_it(browser, app_url, artifacts):
    page = _open(browser, app_url + RACE, clipboard=True)
    _selected_tab(page, "Puzzles")
    _puzzle_shown(page, "maze", 2, 7, "Maze")
    assert _budgets(page) == ("0", "8192")  # the slider's last stop: unlimited
    expect(page.locator("#link-note")).to_contain_text("Opened from a shared link: press ▶ Run both to race")
    expect(page.locator("#link-note")).not_to_contain_text("Left out")
    page.screenshot(path=str(artifacts / "share_link_puzzles_1280.png"), full_page=True)

    page.locator("#level input").click()  # the teacher changes the race, then shares it
    page.get_by_role("option", name=re.compile(r"^3 · ")).click()
    set_number(page, "#puzzle-seed", 11)
    _puzzle_shown(page, "maze", 3, 11, "Maze")
    set_number(page, "#think-a", 32)
    link = _link(page, "puzzles")
    query = dict(parse_qsl(urlsplit(link).query))
    expected = {
        "tab": "puzzles",
        "family": "maze",
        "level": "3",
        "seed": "11",
        "a_budget": "32",
        "b_budget": "unlimited",
    }
    assert {k: query.get(k) for k in expected} == expected, query
    expect(page.locator("#puzzles-link-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.screenshot(path=str(artifacts / "share_link_puzzles_copied_1280.png"), full_page=True)

    student = _open(browser, link)  # another browser, no storage shared: the same race
    _selected_tab(student, "Puzzles")
    _puzzle_shown(student, "maze", 3, 11, "Maze")
    assert _budgets(student) == ("32", "8192")
    student.context.close()
    page.context.close()


def test_a_race_link_on_a_phone(browser, app_url, artifacts):
    page = _open(browser, app_url + RACE, width=390)
    _selected_tab(page, "Puzzles")
    _puzzle_shown(page, "maze", 2, 7, "Maze")
    _link(page, "puzzles")
    page.locator("#puzzles-copy-link").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "share_link_puzzles_390.png"), full_page=True)
    box = page.locator("#puzzles-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390  # the link's box fits the screen
    page.context.close()


def test_a_bad_link_opens_with_a_note_and_the_defaults(browser, app_url, artifacts):
    hostile = "<img src=x onerror=alert(1)>"
    page = _open(browser, f"{app_url}?tab=puzzles&level=99&seed=abc&a_mode={hostile}&colour=red")
    _selected_tab(page, "Puzzles")
    note = page.locator("#link-note")
    for part in ("Left out of this link", "level=99 (Maze has levels 1–", "seed=abc (not a number)", "colour"):
        expect(note).to_contain_text(part, timeout=30_000)
    expect(note).to_contain_text("a_mode=<img src=x onerror=alert(1)>")  # shown as text, never as markup
    assert note.locator("img").count() == 0
    _puzzle_shown(page, "maze", 1, 1, "Maze")  # the tab's defaults
    assert _budgets(page) == ("64", "512")
    expect(page.locator("#mode-a input")).to_have_value("Hard cut")
    page.screenshot(path=str(artifacts / "share_link_bad_1280.png"), full_page=True)
    page.context.close()


def _evaluation_shown(page, levels: set[str], puzzles: str, samples: str, ticked: set[str], typed: str) -> None:
    expect(page.locator("#eval-family input")).to_have_value("Maze", timeout=30_000)
    for level in ("1", "2", "3", "4"):
        box = page.locator("#eval-levels").get_by_label(level, exact=True)
        expect(box).to_be_checked(checked=level in levels)
    expect(page.locator("#eval-puzzles input[type=number]")).to_have_value(puzzles)
    expect(page.locator("#eval-samples input[type=number]")).to_have_value(samples)
    for label in ("0 (no thinking)", "128", "512", "unlimited"):
        box = page.locator("#eval-budgets").get_by_label(label, exact=True)
        expect(box).to_be_checked(checked=label.split(" ")[0] in ticked)
    expect(page.locator("#eval-temperature input[type=number]")).to_have_value("0.5")
    expect(page.locator("#eval-seed input")).to_have_value("3")
    if not page.locator("#eval-extra").is_visible():
        page.get_by_text("More settings").click()
    expect(page.locator("#eval-extra textarea")).to_have_value(typed)


def test_an_evaluation_link_opens_its_settings_and_copy_link_reproduces_them(browser, app_url, artifacts):
    page = _open(browser, app_url + EVALUATION)
    _selected_tab(page, "Evaluate")
    expect(page.locator("#link-note")).to_contain_text("press Run to evaluate", timeout=30_000)
    _evaluation_shown(page, {"2", "3"}, "5", "2", {"0", "unlimited"}, "32")
    page.screenshot(path=str(artifacts / "share_link_evaluate_1280.png"), full_page=True)

    set_number(page, "#eval-samples", 3)
    link = _link(page, "evaluate")
    query = dict(parse_qsl(urlsplit(link).query))
    assert query["samples"] == "3" and query["levels"] == "2,3" and query["family"] == "maze", query
    assert set(query["budgets"].split(",")) == {"0", "32", "unlimited"}, query

    student = _open(browser, link, width=390)
    _selected_tab(student, "Evaluate")
    _evaluation_shown(student, {"2", "3"}, "5", "3", {"0", "unlimited"}, "32")
    student.locator("#eval-run").scroll_into_view_if_needed()
    student.screenshot(path=str(artifacts / "share_link_evaluate_390.png"), full_page=True)
    student.context.close()

    bad = _open(browser, f"{app_url}?tab=evaluate&puzzles=0&budgets=abc&levels=9")
    _selected_tab(bad, "Evaluate")
    note = bad.locator("#link-note")
    for part in ("puzzles=0", "budgets=abc", "levels 9"):
        expect(note).to_contain_text(part, timeout=30_000)
    expect(bad.locator("#eval-puzzles input[type=number]")).to_have_value("10")  # the tab's default
    bad.context.close()
    page.context.close()


def test_a_chat_link_sets_the_budgets_and_copy_link_writes_them_back(browser, app_url, artifacts):
    page = _open(browser, f"{app_url}?tab=chat&budget=256&mode=wrapup&answer=128&temperature=0&seed=5")
    _selected_tab(page, "Chat")
    expect(page.locator("#link-note")).to_contain_text("press Send", timeout=30_000)
    expect(page.locator("#think-budget input[type=number]")).to_have_value("256")
    expect(page.locator("#answer-budget input[type=number]")).to_have_value("128")
    query = dict(parse_qsl(urlsplit(_link(page, "chat")).query))
    expected = {"budget": "256", "mode": "wrapup", "answer": "128", "temperature": "0", "seed": "5"}
    assert {k: query.get(k) for k in expected} == expected, query
    page.screenshot(path=str(artifacts / "share_link_chat_1280.png"), full_page=True)
    page.context.close()


def test_without_a_clipboard_the_link_is_shown_to_copy_by_hand(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # as on plain http away from localhost: no navigator.clipboard, and the old copy command refused
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});"
        "document.execCommand = () => false;"
    )
    page = context.new_page()
    page.goto(app_url + RACE)
    _puzzle_shown(page, "maze", 2, 7, "Maze")
    link = _link(page, "puzzles")
    expect(page.locator("#puzzles-link-status")).to_have_text("Select the link above and copy it.")
    assert dict(parse_qsl(urlsplit(link).query))["seed"] == "7"
    context.close()
