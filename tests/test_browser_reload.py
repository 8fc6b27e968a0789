"""A browser reload while a reply streams ends that reply on the server: the app process goes quiet instead of
generating to the budget for a visitor who is gone. Measured from the app's own CPU time (a real app, a real
Chromium)."""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import psutil
import pytest
from ui_helpers import set_number

pytestmark = pytest.mark.browser


def _server(url: str) -> psutil.Process:
    port = urlparse(url).port
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            return psutil.Process(conn.pid)
    raise AssertionError(f"no process listens on port {port}")


def _cpu_seconds(proc: psutil.Process, window: float = 3.0) -> float:
    before = sum(proc.cpu_times()[:2])
    time.sleep(window)
    return sum(proc.cpu_times()[:2]) - before


def test_a_reload_mid_reply_ends_the_generation(browser, launch_app, tiny_dir, artifacts):
    with launch_app(str(tiny_dir)) as url:
        server = _server(url)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url)
            page.wait_for_selector("#chat-input textarea", timeout=60_000)
            # s1 extend with a high minimum: a reply that would go on for a long while
            page.get_by_text("s1 extend (“Wait”)", exact=True).click()
            set_number(page, "#think-budget", 2000)
            least = page.get_by_label(re.compile("Minimum thinking")).first
            least.fill("2000")
            least.press("Enter")
            page.fill("#chat-input textarea", "Think about this for a long time.")
            page.click("#send")
            page.wait_for_function(
                "() => [...document.querySelectorAll('#chatbot .thought-group .title')]"
                ".some(t => t.innerText.includes('Thinking…'))",
                timeout=60_000,
            )
            busy = _cpu_seconds(server)
            page.reload()
            page.wait_for_selector("#chat-input textarea", timeout=60_000)
            time.sleep(2.0)  # the closed connection reaches the server and the reply ends within a token
            quiet = _cpu_seconds(server)
            page.screenshot(path=str(artifacts / "chat_after_reload_mid_reply.png"))
        finally:
            page.close()
    assert busy > 1.0, f"the measurement must see the generation: {busy:.2f} CPU s in 3 s"
    assert quiet < 0.5 * busy and quiet < 0.8, f"still generating after the reload: {quiet:.2f} vs {busy:.2f} CPU s"
