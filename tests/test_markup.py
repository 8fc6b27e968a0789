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
