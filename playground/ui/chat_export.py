"""A conversation as files to download: Markdown for people, JSON for programs, both with the model's thoughts.

The texts are the raw ones (what was typed and what the model wrote), not the page's rendering.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from playground.generation.chat_session import Message, is_thought, raw_text

EXPORT_DIR = Path(tempfile.gettempdir()) / "playground-chat-exports"


def turns(history: list[Message]) -> list[dict[str, str]]:
    """The conversation as records: role, kind (question, thought, notice, answer), title and raw text."""
    out = []
    for m in history:
        meta = m.get("metadata") or {}
        title = str(meta.get("title") or "")
        if m.get("role") == "user":
            kind = "question"
        elif is_thought(m):
            kind = "notice" if title.startswith("⚠️") else "thought"
        else:
            kind = "answer"
        out.append({"role": m.get("role", ""), "kind": kind, "title": title, "text": raw_text(m)})
    return out


def to_markdown(history: list[Message], model: str) -> str:
    parts = [f"# Conversation with `{model}`"]
    for t in turns(history):
        if t["kind"] == "question":
            parts.append(f"## User\n\n{t['text']}")
        elif t["kind"] == "thought":
            quoted = "\n".join(f"> {line}" for line in t["text"].splitlines()) or ">"
            parts.append(f"### {t['title']}\n\n{quoted}")
        elif t["kind"] == "notice":
            parts.append(f"*{t['title']}*")
        else:
            parts.append(f"## Assistant\n\n{t['text']}")
    return "\n\n".join(parts) + "\n"


def to_json(history: list[Message], model: str) -> str:
    return json.dumps({"model": model, "messages": turns(history)}, ensure_ascii=False, indent=2)


def export_files(history: list[Message], model: str) -> tuple[str, str] | None:
    """Write the conversation as .md and .json files; their paths, or None for an empty conversation."""
    if not history:
        return None
    EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    stem = EXPORT_DIR / f"chat-{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**6}"
    md, js = stem.with_suffix(".md"), stem.with_suffix(".json")
    md.write_text(to_markdown(history, model), encoding="utf-8")
    js.write_text(to_json(history, model), encoding="utf-8")
    return str(md), str(js)
