"""Small Playwright helpers shared by the browser tests."""

from __future__ import annotations


def set_number(page, selector: str, value: float, key: str = "Enter") -> None:
    """Type `value` into the number box inside the component matched by `selector` (e.g. a slider's box)."""
    from playwright.sync_api import expect

    box = page.locator(f"{selector} input[type=number]")
    box.fill(str(value))
    box.press(key)
    expect(box).to_have_value(str(value))
