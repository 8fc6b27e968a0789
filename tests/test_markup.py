"""escape_markup: a model name or message full of markup renders as its own text, as Markdown and as HTML."""

import html

from markdown_it import MarkdownIt

from playground.ui.widgets import escape_markup

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "![x](http://example.com/a.png)",
    "[link](javascript:alert(1)) **bold** _it_ `code` # head | a | ~~s~~ \\ & 'q' \"d\"",
    "<script>alert(1)</script>",
]


def test_escaped_text_renders_as_itself_in_markdown_and_html():
    md = MarkdownIt("commonmark")
    for text in HOSTILE:
        escaped = escape_markup(text)
        assert "<" not in escaped and ">" not in escaped
        rendered = md.render(f"**Model:** {escaped}")
        assert "<img" not in rendered and "<a " not in rendered and "<script" not in rendered
        assert "<code>" not in rendered and "<em>" not in rendered
        # what a reader sees (tags of the surrounding paragraph removed, references resolved) is the text itself
        shown = html.unescape(rendered.replace("<p><strong>Model:</strong> ", "").replace("</p>", "").strip())
        assert shown == text.strip()
        assert html.unescape(escaped) == text  # in a toast (HTML) too


def test_names_and_errors_are_text_in_every_message_that_shows_them():
    """The banner, the Puzzles tab's 'current' line, 'Use this adapter' and a run's progress name a model, a path or
    an error a visitor chose: rendered, none of it makes an element."""
    from playground.generation.backend import ModelInfo
    from playground.ui.chat_model import banner_markdown
    from playground.ui.train import adapter_loaded_message
    from playground.ui.train_progress import progress_html
    from playground.ui.verdict import current_model_line

    md = MarkdownIt("commonmark")
    for text in HOSTILE:
        info = ModelInfo(
            name=f"{text} + {text}",
            source=text,
            description=text,
            quant="none",
            device="cpu",
            params=0,
            context_length=64,
            notices=[text],
            adapter=text,
            base_name=text,
        )
        shown = [
            banner_markdown(info, [f"Could not load {text!r}"]),
            current_model_line(info),
            adapter_loaded_message(info),
            progress_html({"name": text, "state": "failed", "error": text, "adapter_dir": text}),
        ]
        for message in shown:
            rendered = md.render(message)
            assert not any(tag in rendered for tag in ("<img", "<script", "<a ", "<em>")), rendered
            assert text in html.unescape(rendered)


def test_a_hostile_model_answer_and_its_verdict_render_as_text():
    """A model's answer to a known puzzle full of HTML: the Chat tab's rendered answer with its verdict badge, and a
    race's verdict box (the verifier's reason and the answer it read), make no element of it. (A chat answer is
    Markdown by design: the model's own formatting shows.)"""
    from playground.generation.request import GenerationStats
    from playground.puzzles import generate, get_family
    from playground.ui.answer_view import render_answer
    from playground.ui.verdict import verdict_html

    md = MarkdownIt("commonmark")
    inst = generate("maze", 1, 0)
    for text in (t for t in HOSTILE if t.startswith("<")):
        answer = f"<final_answer>{text}</final_answer>\nFinal answer: {text}"
        history = [{"role": "user", "content": inst.prompt}, {"role": "assistant", "content": answer}]
        verdict = get_family("maze").verify(inst, answer)
        verdict.extracted = verdict.extracted or text
        shown = [
            md.render(render_answer(history)[-1]["content"]),
            verdict_html(verdict, GenerationStats(thinking="", answer=answer), None),
        ]
        for rendered in shown:
            assert not any(tag in rendered for tag in ("<img", "<script", "<a ", "<em>")), rendered
        assert "verdict-badge" in shown[0] and text in html.unescape(shown[0])


def test_plain_names_are_unchanged():
    assert escape_markup("qwen3-0.6b + run1") == "qwen3-0.6b + run1"


def test_in_the_browser_escaped_names_are_text_in_markdown_html_and_toasts(browser):
    """Gradio's own renderers in Chromium: the raw name makes an image (the control), the escaped one never does."""
    import gradio as gr
    from playwright.sync_api import expect

    name = "evil ![pixel](/gradio_api/file=x.png) <img src=x onerror=alert(1)> `tick`"
    with gr.Blocks() as demo:
        gr.Markdown(f"**Model:** {name}", elem_id="raw")
        gr.Markdown(f"**Model:** <code>{escape_markup(name)}</code> · {escape_markup(name)}", elem_id="safe-md")
        gr.HTML(f"<p>{escape_markup(name)}</p>", elem_id="safe-html")
        button = gr.Button("warn", elem_id="warn")
        button.click(lambda: gr.Warning(escape_markup(name)), None, None)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(url)
        expect(page.locator("#safe-md")).to_contain_text(name)
        assert page.locator("#raw img").count() >= 1  # the renderer does turn this markup into images
        assert page.locator("#safe-md img, #safe-md code code, #safe-html img").count() == 0
        assert page.locator("#safe-md code").inner_text() == name
        expect(page.locator("#safe-html")).to_contain_text(name)
        page.click("#warn")
        toast = page.get_by_test_id("toast-text")
        expect(toast).to_contain_text(name)
        assert toast.locator("img").count() == 0
        assert dialogs == []
    finally:
        page.close()
        demo.close()
