"""Hostile input a visitor can send. Markup a visitor, an uploaded file or a model writes renders as text in the
browser: `<script>` and `<img onerror>` in a chat prompt, the system prompt, the model's own output, a model name given
to Load, a race panel's model, a run name and an uploaded JSONL (its name and content); a dialog handler records any
alert, and the page is searched for injected elements. Model names that are no path at all, URLs and `..` are a
load error; a model that needs its own code is refused without running it; a shared demo's adapters stay inside its
runs folder; control characters and NUL are text to chat about."""

from __future__ import annotations

import json
import os
import re

import pytest
from gradio_client import Client

from playground.generation.engine import Engine
from playground.generation.pool import AllowList, ModelCache, model_key
from playground.models.loading import ModelLoadError, load_model
from tests.ui_helpers import CHAT_SETTINGS, open_tab, set_number

PAYLOAD = "<img src=x onerror=alert(1)> <script>alert(1)</script>"
# elements the payload would make were it rendered as markup (a sanitizer may drop onerror, but not the image)
INJECTED = """() => [
  ...document.querySelectorAll('img[src="x"], [onerror], [onload]'),
  ...[...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(1)')),
].length"""

NO_PATH = [
    "a" * 5000,  # longer than a file name may be
    "~no-such-user/model",  # an unknown user's home
    "x\x00y",
    "../../etc",
    "org/../../etc",
    "https://example.com/org/model",
    "file:///etc/passwd",
]


def _shot(page, artifacts, name: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(artifacts / f"security_{name}_desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / f"security_{name}_phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_names_that_are_no_model_are_a_load_error_and_the_app_keeps_serving(app_url):
    client = Client(app_url, verbose=False)
    for name in NO_PATH:
        banner = client.predict(model=name, quant="auto", api_name="/load_model")[0]
        assert "Load failed" in banner, (name[:40], banner)
        race = dict(a_think_budget=8, a_answer_budget=4)  # panel A races on briefly: only panel B's error matters
        verdict_b = client.predict(family="sat", level=1, puzzle_seed=1, b_model=name, **race, api_name="/race")[7]
        assert "No verdict" in verdict_b, (name[:40], verdict_b)
    _, _, stats = client.predict(message="hi", **CHAT_SETTINGS, think_budget=8, answer_budget=4, api_name="/chat")
    assert "thinking tokens" in stats


def test_control_characters_and_nul_are_text_to_chat_about(app_url):
    client = Client(app_url, verbose=False)
    hostile = "a\x00b\x01c\x07\x1b[31m\x7f\u202e\ufeff end"
    settings = {**CHAT_SETTINGS, "system_prompt": hostile, "budget_mode": "wrapup", "wrapup_text": hostile}
    history, _, stats = client.predict(message=hostile, **settings, think_budget=64, answer_budget=4, api_name="/chat")
    assert "thinking tokens" in stats and history[0]["role"] == "user"


def test_a_model_that_needs_its_own_code_is_refused_without_running_it(tiny_dir, tmp_path):
    folder = tmp_path / "custom-code"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((tiny_dir / name).read_bytes())
    marker = tmp_path / "ran"
    (folder / "modeling_custom.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    classes = {"AutoConfig": "modeling_custom.CustomConfig", "AutoModelForCausalLM": "modeling_custom.CustomModel"}
    config = {"model_type": "custom", "auto_map": classes}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="needs its own Python code"):
        load_model(str(folder), device="cpu", offline=True)
    assert not marker.exists()


def test_a_demo_applies_only_adapters_inside_its_runs_folder(tiny_dir, visitor_adapter, tmp_path):
    runs = visitor_adapter.parent.parent
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (runs / "planted-link").symlink_to(outside, target_is_directory=True)
    cache = ModelCache(Engine(load_model(str(tiny_dir), device="cpu")), 2, offline=True)
    base = cache.pinned.model
    cache.allow = AllowList(frozenset({base}), runs)  # the startup model, and adapters under runs/
    for adapter in ("/etc", f"{runs}/../../etc", str(runs / "planted-link"), os.path.relpath("/etc")):
        with pytest.raises(ModelLoadError, match="adapters trained here"):
            cache.acquire(model_key(base, "none", "cpu", adapter=adapter))
    engine = cache.acquire(model_key(base, "none", "cpu", adapter=str(visitor_adapter)))
    assert engine.describe().name.endswith(" + visitor-run")


@pytest.mark.browser
@pytest.mark.slow
def test_markup_from_visitors_files_and_models_renders_as_text(browser, app_url, artifacts, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    toast = page.get_by_test_id("toast-text")
    try:
        page.goto(app_url)
        page.locator("#model-banner").wait_for(timeout=60_000)

        # Chat: the prompt, the system prompt, and the wrap-up sentence the model is made to write in its thought
        page.get_by_text("Sampling", exact=True).click()
        page.get_by_label("System prompt").fill(PAYLOAD)
        page.get_by_label("Wrap-up sentence", exact=True).check()
        page.get_by_label("Wrap-up sentence (wrap-up mode)").fill(PAYLOAD)
        set_number(page, "#think-budget", 96)
        set_number(page, "#answer-budget", 16)
        page.locator("#chat-input textarea").fill(PAYLOAD)
        page.click("#send")
        expect(page.locator("#chat-stats")).to_contain_text("tokens/s", timeout=120_000)
        chat = page.locator("#chatbot")
        chat.get_by_text("Thought for").first.click()  # open the thought: it ends with the forced wrap-up
        expect(chat).to_contain_text(PAYLOAD)
        assert chat.inner_text().count(PAYLOAD) >= 2, chat.inner_text()  # the question and the model's thought

        # Load: the error in the banner and in the toast
        picker = page.locator("#model-picker input")
        picker.fill(PAYLOAD)
        picker.press("Enter")
        page.click("#load")
        expect(page.locator("#model-banner")).to_contain_text("Load failed", timeout=60_000)
        expect(page.locator("#model-banner")).to_contain_text(PAYLOAD)
        expect(toast.filter(has_text=PAYLOAD).first).to_be_visible(timeout=30_000)
        assert page.evaluate(INJECTED) == 0 and dialogs == []
        page.evaluate("window.scrollTo(0, 0)")
        _shot(page, artifacts, "chat")

        # Puzzles: panel B on a model named by the payload; its status, verdict and toast name it
        open_tab(page, "Puzzles", "#run-both")
        box = page.locator("#model-b input")
        box.fill(PAYLOAD)
        box.press("Enter")
        page.click("#run-both")
        expect(page.locator("#verdict-b")).to_contain_text(PAYLOAD, timeout=120_000)
        expect(toast.filter(has_text=PAYLOAD).first).to_be_visible(timeout=30_000)
        assert page.evaluate(INJECTED) == 0 and dialogs == []
        page.locator("#panels").scroll_into_view_if_needed()
        _shot(page, artifacts, "puzzles")

        # Train: the payload as a run name, then an upload named by it and full of it
        open_tab(page, "Train", "#train-launch")
        page.locator("#train-name input, #train-name textarea").first.fill(PAYLOAD)
        page.click("#train-launch")
        expect(page.locator("#train-msg")).to_contain_text("Not launched", timeout=60_000)
        expect(page.locator("#train-msg")).to_contain_text(PAYLOAD)
        page.locator("#train-source").get_by_label("Upload JSONL").check()
        upload = tmp_path / f"{PAYLOAD.replace('/', '_')}.jsonl"
        good = {"prompt": PAYLOAD, "completion": f"<think>{PAYLOAD}</think>{PAYLOAD}"}
        upload.write_text("\n".join([json.dumps(good), json.dumps({PAYLOAD: 1}), PAYLOAD]) + "\n")
        wrong = tmp_path / "notes.txt"
        wrong.write_text(json.dumps(good) + "\n")
        page.locator("#train-upload input[type=file]").set_input_files(str(wrong))
        expect(page.get_by_text(re.compile("invalid file type", re.I)).first).to_be_visible(timeout=30_000)
        page.locator("#train-upload input[type=file]").set_input_files(str(upload))
        expect(page.locator("#train-data-msg")).to_contain_text("1 usable example", timeout=60_000)
        expect(page.locator("#train-data")).to_contain_text(PAYLOAD)
        page.click("#train-launch")  # refused for the run name again; the upload's lines are never markup
        expect(page.locator("#train-msg")).to_contain_text("Not launched", timeout=60_000)
        assert page.evaluate(INJECTED) == 0 and dialogs == []
        _shot(page, artifacts, "train")
    finally:
        page.close()
    assert dialogs == []
