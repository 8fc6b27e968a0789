"""Shared types of the puzzle families (instances, verdicts, the family interface) and the ONE answer reader.

Every family module (one per family) builds on these so that the UI, the CLI, evaluation and training can treat
all families alike. Nothing here imports Gradio, plotly or torch.

Reading an answer (`final_answer` and the typed readers built on it) is strict and runs in linear time on any
text: thinking is dropped first (`strip_thinking`), then the LAST answer marker the family accepts wins
("Final Answer:" with its line, `\\boxed{...}`, `<final_answer>...</final_answer>`). A reader never raises: on
anything it cannot read (including non-text) it returns None and the verifier says "unparseable".

Multiple choice (`read_choice`): an upper-case option letter ("C", "(C)", "C. 4"), the option's text ("Final
Answer: 4", "Northeast"), or a lower-case letter when it stands alone ("Final Answer: d" reads as D): a bare
single letter is unambiguous, while "a" followed by words is read as text, never as option A.

Integers (`read_integer`): digits with an optional sign and ".0"; a comma (LaTeX `{,}`), a thin space (`\\,`) or
a space separates thousands only between groups of three digits ("1,000" is 1000; "1,3" and "1 3" are no integer).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LINE, BOXED, TAG = "line", "boxed", "tag"  # the answer markers a family may accept
MAX_ANSWER_CHARS = 4000  # an answer longer than this is not one answer: the readers return None


class PuzzleConfigError(ValueError):
    """A puzzle configuration (level, sizes, seed) is invalid; the message says what to change."""


@dataclass
class Instance:
    """One generated puzzle: everything a verifier needs lives in `data` (JSON-serialisable)."""

    family: str
    level: int
    seed: int
    prompt: str
    reference: str  # the reference final answer, written exactly as the prompt asks for it
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "level": self.level,
            "seed": self.seed,
            "prompt": self.prompt,
            "reference": self.reference,
            "data": self.data,
        }


@dataclass
class Verdict:
    """The verifier's judgement of one model output.

    `reason` is one short human sentence; `details` lists per-check results (e.g. each clause, each constraint)
    as dicts with at least "check" and "ok". `extracted` is the normalised answer used for majority voting
    (None when unparseable).
    """

    correct: bool
    score: float
    reason: str
    status: str = "wrong"  # "correct" | "wrong" | "unparseable"
    extracted: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "correct": self.correct,
            "status": self.status,
            "score": self.score,
            "reason": self.reason,
            "extracted": self.extracted,
            "details": self.details,
        }


def unparseable(reason: str) -> Verdict:
    """A verdict for an answer that could not be read at all."""
    return Verdict(correct=False, score=0.0, reason=reason, status="unparseable")


def strip_thinking(text: str) -> str:
    """Drop every <think>…</think> block; with an unclosed <think>, keep only what follows the last </think>.

    Written with str.find, not a regex, so that it stays linear on text full of unclosed <think> tags.
    """
    kept, pos = [], 0
    while True:
        start = text.find("<think>", pos)
        end = -1 if start < 0 else text.find("</think>", start + len("<think>"))
        if end < 0:
            kept.append(text[pos:])
            break
        kept.append(text[pos:start])
        pos = end + len("</think>")
    text = "".join(kept)
    if "</think>" in text:  # the prompt opened <think>, so only the closing tag appears in the output
        text = text.rsplit("</think>", 1)[1]
    if "<think>" in text:  # thinking never closed: there is no answer
        text = text.split("<think>", 1)[0]
    return text


# "Final Answer:" (any case, "**Final Answer:**", "Final Answer**:"), or "Final Answer" alone at the end of a line
# (a markdown heading); "that is my final answer." is not a marker.
_LINE_MARK = re.compile(r"final[ \t_]*answer[ \t*_]*(?:[:\uff1a]|(?=[\r\n]|\Z))", re.IGNORECASE)
_BOX_MARK = re.compile(r"\\(?:boxed|fbox)[ \t]*\{")
_TAG_OPEN = re.compile(r"<final_answer>", re.IGNORECASE)
_TAG_CLOSE = re.compile(r"</final_answer>", re.IGNORECASE)
_EDGE = " \t\r\n*`_"  # markdown emphasis and code ticks around an answer


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    found = None
    for found in pattern.finditer(text):  # noqa: B007 - only the last match is wanted
        pass
    return found


def _line_after(text: str, pos: int) -> str:
    """The rest of the line from `pos`, or the next non-empty line when that rest is empty."""
    while pos <= len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end].strip(_EDGE)
        if line or end == len(text):
            return line
        pos = end + 1
    return ""


def _box_content(text: str, pos: int) -> str | None:
    """What lies between the opening brace just before `pos` and its balanced closing brace."""
    depth, i = 1, pos
    limit = min(len(text), pos + MAX_ANSWER_CHARS)
    while i < limit:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[pos:i]
        i += 1
    return None


def final_answer(text: object, forms: tuple[str, ...] = (LINE,)) -> str | None:
    """The model's final answer as text, or None: the LAST of the markers in `forms` (LINE, BOXED, TAG) wins.

    LINE: what follows the last "Final Answer:" on its line, or the next non-empty line. BOXED: the content of the
    last `\\boxed{...}` / `\\fbox{...}` (balanced braces). TAG: the content of the last `<final_answer>`, up to its
    closing tag (or the end). Thinking is stripped first; markdown emphasis around the answer is dropped. An empty,
    unbalanced or overlong last answer is None: an earlier answer never stands in for an unreadable later one.
    """
    if not isinstance(text, str):
        return None
    body = strip_thinking(text)
    found: list[tuple[int, str, re.Match[str]]] = []
    for form, pattern in ((LINE, _LINE_MARK), (BOXED, _BOX_MARK), (TAG, _TAG_OPEN)):
        if form in forms and (m := _last(pattern, body)):
            found.append((m.start(), form, m))
    if not found:
        return None
    _, form, m = max(found, key=lambda f: f[0])
    if form == LINE:
        content: str | None = _line_after(body, m.end())
    elif form == BOXED:
        content = _box_content(body, m.end())
    else:
        close = _TAG_CLOSE.search(body, m.end())
        content = body[m.end() : close.start() if close else len(body)]
    content = content.strip(_EDGE) if content is not None else None
    return content if content and len(content) <= MAX_ANSWER_CHARS else None


_BARE_DICT = re.compile(r"\{[^{}]*\}")
# a key starts the text or follows a separator: "'Path': ..., TotalDistance: ..."
_KEY = re.compile(r"""(?:^|[{,;\n])\s*['"]?([A-Za-z_]\w*)['"]?\s*:""")


def read_dict(content: str) -> dict[str, Any] | None:
    """A `{'Key': value, ...}` literal (keys lower-cased); without a valid literal, `key: value` pairs; or None."""
    s = content.strip()
    if len(s) > MAX_ANSWER_CHARS:
        return None
    lo, hi = s.find("{"), s.rfind("}")
    inner = s[lo : hi + 1] if 0 <= lo < hi else s
    try:
        parsed = ast.literal_eval(inner)
    except Exception:  # any malformed literal (even RecursionError) falls through to the key: value pairs
        parsed = None
    if isinstance(parsed, dict):
        return {str(k).strip().lower(): v for k, v in parsed.items()}
    inner = inner[1:-1] if inner.startswith("{") and inner.endswith("}") else inner
    keys = list(_KEY.finditer(inner))
    pairs = {}
    for key, nxt in zip(keys, [*keys[1:], None]):
        value = inner[key.end() : nxt.start() if nxt else len(inner)]
        pairs[key.group(1).lower()] = value.strip().strip(",;").strip().strip("'\"").strip()
    return pairs or None


def answer_dict(text: object) -> dict[str, Any] | None:
    """The last `<final_answer>{...}</final_answer>` read by `read_dict`; without a tag, the last bare `{...}`."""
    content = final_answer(text, (TAG,))
    if content is None and isinstance(text, str):
        bare = _last(_BARE_DICT, strip_thinking(text))
        content = bare.group(0) if bare else None
    return None if content is None else read_dict(content)


_LATEX_WORD = re.compile(r"\\(?:boxed|fbox|text|textbf|mathrm|mathbf)\b")
_MARKUP = re.compile(r"[*`\"'$\\{}\[\]]")


def _plain(s: str) -> str:
    """Lower-case text without LaTeX wrappers, markdown, quotes and brackets, spaces collapsed."""
    return " ".join(_MARKUP.sub(" ", _LATEX_WORD.sub(" ", s)).split()).strip(" .:").lower()


def read_choice(content: str, options: list[str]) -> str | None:
    """The option letter ("A".."D" for four options) that `content` names, or None.

    A bare letter in any case ("d", "(D)", "D."); an upper-case letter before the option text or punctuation
    ("C. 4", "D) Northeast": the letter wins over the text); otherwise the option's text, exactly or as the only
    option named as a whole word ("It is Northeast").
    """
    letters = "ABCDEFGHIJ"[: len(options)]
    text = " ".join(_LATEX_WORD.sub(" ", content).replace("{", " ").replace("}", " ").split()).strip("*`'\" .:")
    plain = [_plain(o) for o in options]
    if m := re.fullmatch(r"\(?([A-Za-z])\)?\.?", text):
        return m.group(1).upper() if m.group(1).upper() in letters else None
    m = re.fullmatch(r"\(?([A-Z])(?:\)|[.:,])\s*.*", text, re.DOTALL)  # "C. 4", "(C) 4", "A: Northeast"
    if not m and (m := re.fullmatch(r"([A-Z])\s+(.*)", text, re.DOTALL)) and _plain(m.group(2)) not in plain:
        m = None  # "A total of 4 turns" is text, "D Northeast" a letter
    if m:
        return m.group(1) if m.group(1) in letters else None
    said = _plain(text)
    if said in plain:
        return letters[plain.index(said)]
    named = [i for i, o in enumerate(plain) if o and re.search(rf"(?<!\w){re.escape(o)}(?!\w)", said)]
    return letters[named[0]] if len(named) == 1 else None


def answer_choice(text: object, options: list[str]) -> str | None:
    """The option letter after the last "Final Answer:" (see `read_choice`), or None."""
    content = final_answer(text, (LINE,))
    return None if content is None else read_choice(content, options)


_INTEGER = re.compile(r"[+-]?(?:[1-9]\d{0,2}(?:[, ]\d{3})+|\d+)(?:\.0+)?")


def plain_separators(content: str) -> str:
    """LaTeX thousands separators ("{,}", "\\,", "\\ ") written as plain ones (",", ",", " ")."""
    return content.replace("{,}", ",").replace("\\,", ",").replace("\\ ", " ")


def read_integer(content: str) -> int | None:
    """`content` as one integer, strictly: "42", "-7", "042", "42.0", "1,000", "1\\,000"; else None ("1.5", "1,3")."""
    if not isinstance(content, str) or len(content) > 100:
        return None
    s = plain_separators(content).strip()
    if not _INTEGER.fullmatch(s):
        return None
    return int(re.sub(r"[^\d-]", "", s.split(".", 1)[0]))


@dataclass(frozen=True)
class Family:
    """A puzzle family as the registry sees it.

    generate(seed, level) -> Instance           SEED FIRST (the family's own order); deterministic: only
                                                random.Random(seed). The registry's `puzzles.generate(family,
                                                level, seed)` reads left to right from the family down instead,
                                                and checks the level first.
    verify(instance, text) -> Verdict           pure; never raises, whatever `text` is (None included)
    trace(instance) -> str                      the solver's step-by-step reasoning (thinking-trace style)
    levels: {level: one-line description}; level 1 is teachable-small, the highest the paper's size.
    Drawings live in playground.ui.drawings, so that the puzzles need no plotting library.
    """

    name: str
    title: str
    description: str
    levels: dict[int, str]
    generate: Callable[[int, int], Instance]
    verify: Callable[[Instance, str], Verdict]
    trace: Callable[[Instance], str]
    default_level: int = 1

    @property
    def short_title(self) -> str:
        """The title without its parenthetical source ("Spatial map (SpatialEval)" -> "Spatial map")."""
        return self.title.split(" (")[0]

    def check_level(self, level: int) -> None:
        if level not in self.levels:
            raise PuzzleConfigError(f"{self.name} has no level {level}; choose one of {sorted(self.levels)}")
