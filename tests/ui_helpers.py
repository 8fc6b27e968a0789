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
