"""Draw a GRPO run's reward and learning-signal curves (the Train tab's figures) into a PNG for the docs.

    python bench/grpo_curve.py runs/<name> docs/grpo-reward.png

The figures are the Train tab's own (`playground.ui.train_grpo`), rendered by Chromium (no image-export library
needed): the page is written with plotly.js inlined and screenshotted through Playwright.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from plotly.subplots import make_subplots

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.ui.train_grpo import reward_figure, signal_figure  # noqa: E402


def main(run_dir: str, out: str) -> None:
    rows = [json.loads(x) for x in (Path(run_dir) / "metrics.jsonl").read_text().splitlines() if x.strip()]
    top, bottom = reward_figure(rows), signal_figure(rows)
    fig = make_subplots(
        rows=2,
        cols=1,
        subplot_titles=("Reward (mean ± std, each term)", "Learning signal"),
        specs=[[{}], [{"secondary_y": True}]],
        vertical_spacing=0.12,
    )
    for trace in top.data:
        fig.add_trace(trace, row=1, col=1)
    for i, trace in enumerate(bottom.data):
        fig.add_trace(trace, row=2, col=1, secondary_y=i == len(bottom.data) - 1)
    fig.update_layout(
        width=1000,
        height=760,
        title=f"GRPO run {Path(run_dir).name}: {len(rows)} steps",
        legend={"orientation": "h", "y": -0.08},
    )
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_yaxes(title_text="tokens", row=2, col=1, secondary_y=True)
    page_path = Path(tempfile.mkdtemp()) / "curve.html"
    fig.write_html(page_path, include_plotlyjs=True, full_html=True)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1020, "height": 780})
        page.goto(page_path.as_uri())
        page.wait_for_selector(".js-plotly-plot")
        page.locator(".js-plotly-plot").screenshot(path=out)
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
