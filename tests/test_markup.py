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
