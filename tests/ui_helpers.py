"""Small Playwright helpers shared by the browser tests."""

from __future__ import annotations


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
