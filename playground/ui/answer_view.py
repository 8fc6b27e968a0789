"""A finished chat answer as a person reads it: the final answer in clean words, a verdict badge when the question is
a puzzle the playground knows, and the model's raw text one click away.

Pure text work (no Gradio): `render_answer` returns the markdown the Chat tab puts in place of the raw answer; the
raw text stays inside it (`chat_session.with_raw`), so the next turn's prompt holds exactly what the model wrote.
"""

from __future__ import annotations

import ast
import html
from functools import lru_cache

from playground.generation.chat_session import Message, is_thought, message_text, raw_text, shown, with_raw
from playground.puzzles import families, generate, get_family
from playground.puzzles.base import BOXED, LINE, TAG, Instance, Verdict, final_answer

KNOWN_LEVELS = (1, 2)  # a prompt is looked up among these levels' first seeds: cheap, and covers the examples
KNOWN_SEEDS = 50
BADGES = {"correct": "✓ correct", "wrong": "✗ wrong", "unparseable": "? unparseable"}  # glyphs every font has


def _dict_literal(content: str) -> dict | None:
    lo, hi = content.find("{"), content.rfind("}")
    if not 0 <= lo < hi:
        return None
    try:
        value = ast.literal_eval(content[lo : hi + 1])
    except Exception:  # any malformed literal: not a dict answer
        return None
    return value if isinstance(value, dict) and value else None


def clean_answer(raw: str) -> str | None:
    """The final answer of `raw` as markdown ("**Solution:** Unsatisfiable"), or None when it has no answer marker."""
    content = final_answer(raw, (LINE, BOXED, TAG))
    if content is None:
        return None
    fields = _dict_literal(content)
    if fields is None:
        return f"**Answer:** {shown(content)}"
    return "  \n".join(f"**{shown(str(k))}:** {shown(str(v))}" for k, v in fields.items())


@lru_cache(maxsize=1)
def _known_prompts() -> dict[str, tuple[str, int, int]]:
    """Prompt → (family, level, seed) for the first seeds of the low levels of every family."""
    index: dict[str, tuple[str, int, int]] = {}
    for name, family in families().items():
        for level in KNOWN_LEVELS:
            if level not in family.levels:
                continue
            for seed in range(KNOWN_SEEDS):
                index.setdefault(generate(name, level, seed).prompt.strip(), (name, level, seed))
    return index


def known_puzzle(prompt: str) -> Instance | None:
    """The puzzle whose prompt is exactly `prompt` (among the low levels' first seeds), or None."""
    found = _known_prompts().get(prompt.strip())
    return generate(*found) if found else None


def verdict_badge(inst: Instance, verdict: Verdict) -> str:
    """One line under the answer: the verifier's verdict on a known puzzle."""
    family = get_family(inst.family).short_title
    badge = BADGES.get(verdict.status, verdict.status)
    return f"{badge} — checked by the {family} verifier (level {inst.level}, seed {inst.seed}): {verdict.reason}"


def last_question(history: list[Message]) -> str:
    """The raw text of the last user message."""
    for m in reversed(history):
        if m.get("role") == "user":
            return html.unescape(message_text(m))
    return ""


def render_answer(history: list[Message]) -> list[Message]:
    """The history with its last answer rendered: a clean answer (and a verdict badge for a known puzzle) above the
    raw text. Unchanged when the last message is no answer or the answer has no answer marker."""
    if not history or history[-1].get("role") != "assistant" or is_thought(history[-1]):
        return history
    answer = history[-1]
    raw = raw_text(answer)
    clean = clean_answer(raw)
    inst = known_puzzle(last_question(history))
    if clean is None and inst is None:
        return history
    lines = [clean or "*(no final answer found)*"]
    if inst is not None:
        verdict = get_family(inst.family).verify(inst, raw)
        badge = html.escape(verdict_badge(inst, verdict))
        lines.append(f"<span class='verdict-badge badge-{verdict.status}'>{badge}</span>")
    return [*history[:-1], {**answer, "content": with_raw("\n\n".join(lines), shown(raw))}]
