"""How a race looks: the verdict box of a finished panel (status, figures, the verifier's checks), the boxes shown
before and instead of one, and the line naming what 'current' means. Plain HTML and Markdown strings."""

from __future__ import annotations

import html
import re
from typing import Any

from playground.generation.backend import ModelInfo
from playground.generation.chat_session import token_count
from playground.generation.request import GenerationStats
from playground.puzzles import Verdict
from playground.ui.widgets import code_markup

STATUS_ICONS = {"correct": "✔", "wrong": "✘", "unparseable": "!"}  # drawn in a coloured badge: no emoji font needed
STATUS_COLOURS = {
    "correct": ("#ecfdf5", "#059669"),
    "wrong": ("#fef2f2", "#dc2626"),
    "unparseable": ("#fffbeb", "#d97706"),
}
IDLE_HTML = "<div class='verdict verdict-idle' style='color:#6b7280;padding:10px 14px'>No verdict yet.</div>"
RUNNING_HTML = "<div class='verdict verdict-running' style='color:#6b7280;padding:10px 14px'>⏳ Running…</div>"


def _fmt_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_fmt_value(v) for v in value) or "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def details_rows(verdict: Verdict, limit: int = 10) -> tuple[list[tuple[str, str, str]], int]:
    """(mark, check, other fields) per verifier detail, failures first; and how many passing rows were cut."""
    rows = []
    for d in verdict.details:
        informative = d.get("counts", True)
        mark = "✔" if d.get("ok") else ("✘" if informative else "•")
        extra = "; ".join(
            f"{k.replace('_', ' ')}: {_fmt_value(v)}"
            for k, v in d.items()
            if k not in ("check", "ok", "counts") and v not in ("", None, [])
        )
        rows.append((mark, str(d.get("check", "")), extra))
    rows.sort(key=lambda r: {"✘": 0, "•": 1, "✔": 2}[r[0]])
    return rows[:limit], max(0, len(rows) - limit)


def verdict_html(verdict: Verdict, stats: GenerationStats, think_budget: int | None) -> str:
    """A coloured verdict box: status and reason, tokens and time, then a small table of the verifier's checks."""
    status = verdict.status if verdict.status in STATUS_ICONS else "wrong"
    background, accent = STATUS_COLOURS[status]
    notes = [n for n, on in (("budget reached", stats.budget_reached), ("stopped", stats.stopped)) if on]
    counts = [token_count(stats.thinking_tokens, "thinking", think_budget), token_count(stats.answer_tokens, "answer")]
    figures = " · ".join([f"<b>{stats.seconds:.1f} s</b>", *(re.sub(r"^([\d,]+)", r"<b>\1</b>", c) for c in counts)])
    figures += "".join(f" · {n}" for n in notes)
    reason = re.sub(rf"^{status}:\s*", "", verdict.reason, flags=re.IGNORECASE)  # "Wrong — wrong: …" reads badly
    badge = (
        f"<span style='display:inline-flex;align-items:center;justify-content:center;width:1.5em;height:1.5em;"
        f"border-radius:50%;background:{accent};color:white;font-size:.85em;margin-right:6px'>{STATUS_ICONS[status]}</span>"
    )
    rows, cut = details_rows(verdict)
    cell = "padding:2px 8px;border-top:1px solid rgba(0,0,0,.08);vertical-align:top"
    table = "".join(
        f"<tr><td style='{cell};color:{'#059669' if m == '✔' else '#dc2626' if m == '✘' else '#6b7280'}'>{m}</td>"
        f"<td style='{cell}'>{html.escape(check)}</td><td style='{cell};color:#4b5563'>{html.escape(extra)}</td></tr>"
        for m, check, extra in rows
    )
    if cut:
        table += f"<tr><td></td><td colspan='2' style='{cell};color:#6b7280'>… {cut} more checks passed</td></tr>"
    extracted = (
        f"<div style='margin-top:4px'>Answer read as: <code>{html.escape(verdict.extracted[:160])}</code></div>"
        if verdict.extracted
        else ""
    )
    return (
        f"<div class='verdict verdict-{status}' style='background:{background};border-left:6px solid {accent};"
        f"border-radius:8px;padding:10px 14px;color:#111827'>"
        f"<div style='font-size:1.15em;font-weight:600;color:{accent}'>{badge}{status.capitalize()}"
        f" <span style='font-weight:400;color:#374151'>— {html.escape(reason)}</span></div>"
        f"<div style='margin-top:4px;color:#374151'>{figures}</div>{extracted}"
        + (f"<table style='margin-top:6px;border-collapse:collapse;font-size:.9em'>{table}</table>" if rows else "")
        + "</div>"
    )


def current_model_line(info: ModelInfo | None) -> str:
    """Markdown naming what 'current' means now; with an adapter, also how to race it against its base."""
    if info is None:
        return "**current** = no model loaded (load one in the Chat tab)."
    base = code_markup(info.base_name)
    line = f"**current** = {code_markup(info.name)} ({info.device}, {info.quant})"
    if info.adapter and info.base_name:
        line += (
            f" — the adapter {code_markup(info.adapter)} on {base}. **Base vs adapter** sets panel A to "
            f"{base} and panel B to `current` with the same settings and seeds."
        )
    return line


def error_html(message: str) -> str:
    return (
        "<div class='verdict verdict-error' style='background:#f3f4f6;border-left:6px solid #6b7280;"
        f"border-radius:8px;padding:10px 14px;color:#111827'><b>No verdict:</b> {html.escape(message)}</div>"
    )
