"""What the Chat tab shows about the loaded model and derives from it: the banner, the model picker's choices marked by
what can load here, what the model can do (hint and titled examples), its default budgets and its effort presets.

All of it follows the visitor's model: the Chat tab recomputes it after the visitor's Load (and the banner whenever
the tab shows). A Load that failed leaves the visitor's model as it was and its error in their banner only.
"""

from __future__ import annotations

from functools import lru_cache

from playground.generation.backend import ModelInfo
from playground.generation.chat_session import token_count
from playground.models.loading import existing_path
from playground.models.presets import (
    EMBEDDED_NAMES,
    PRESETS,
    TINY_ANSWER_BUDGET,
    TINY_EXAMPLES,
    TINY_THINK_BUDGET,
    choices,
)
from playground.ui.widgets import THINK_MAX, code_markup, escape_markup

GENERAL_PLACEHOLDER = "Ask something, or paste a puzzle… (Enter sends, Shift+Enter adds a line)"
EFFORTS = ["low", "medium", "high", "unlimited"]
# thinking budgets per effort: the tiny reasoner's level-1 traces need ~150-500 tokens; large models thousands
TINY_EFFORT = {"low": 128, "medium": 256, "high": 1024, "unlimited": THINK_MAX}
GENERAL_EFFORT = {"low": 1024, "medium": 2048, "high": 4096, "unlimited": THINK_MAX}


def is_tiny(info: ModelInfo | None) -> bool:
    """Whether the embedded tiny reasoner (a puzzle specialist, not a chat model) is loaded, with or without adapter."""
    return info is not None and info.families is not None


def quant_label(info: ModelInfo) -> str:
    """'4bit', '8bit', or 'none (fp32)' / 'none (bf16)': what unquantized weights are stored as."""
    if info.quant != "none":
        return info.quant
    return "none (bf16)" if str(info.device).startswith("cuda") else "none (fp32)"


def banner_markdown(info: ModelInfo | None, errors: tuple[str, ...] | list[str] = ()) -> str:
    """Markdown: one short line naming the loaded model, its notices and the visitor's own `errors` (the result of
    their last Load; always visible), its details collapsed."""
    failed = [f"> ⚠️ **Load failed:** {escape_markup(error)}" for error in errors]
    if info is None:
        return "\n\n".join(["**No model loaded.**", *failed])
    params = f"{info.params / 1e6:,.1f}M parameters" if info.params else "size unknown"
    short = f"**Model:** {code_markup(info.name)} · {params} · {info.device} · quantization: {quant_label(info)}"
    details = [escape_markup(info.description), f"Context: {info.context_length:,} tokens."]
    if info.families is not None:
        details.append(f"Trained on: {', '.join(_family_titles(info.families))} puzzles.")
    warnings = [f"> ⚠️ {escape_markup(note)}" for note in info.notices]
    body = "\n\n".join(details)
    details_block = f"<details class='banner-details'><summary>Details</summary>\n\n{body}\n\n</details>"
    return "\n\n".join([short, *warnings, *failed, details_block])


def capability_hint(info: ModelInfo | None) -> str:
    """A line under the input: what the loaded model can do (empty for a general model)."""
    if not is_tiny(info):
        return ""
    known = ", ".join(_family_titles(info.families))
    return (
        f"ℹ️ This tiny model solves small puzzles only ({known}) — try an example below. "
        "Anything else gets fluent-looking gibberish."
    )


def placeholder(info: ModelInfo | None) -> str:
    if is_tiny(info):
        return "Paste a small puzzle, or pick an example… (Enter sends, Shift+Enter adds a line)"
    return GENERAL_PLACEHOLDER


def _family_titles(names: list[str]) -> list[str]:
    from playground.puzzles import families

    known = families()
    return [known[n].short_title if n in known else n for n in names]


def examples(info: ModelInfo | None) -> tuple[list[list[str]], list[str]]:
    """The example prompts for the loaded model and their titles (e.g. "Maze (level 1)")."""
    if is_tiny(info):
        from playground.puzzles import generate, get_family

        prompts, labels = [], []
        for family, seed in TINY_EXAMPLES:
            if info.knows(family):
                prompts.append([generate(family, 1, seed).prompt])
                labels.append(f"{get_family(family).short_title} (level 1)")
        return prompts, labels
    return (
        [["How many positive divisors does 360 have?"], ["Is 3599 prime? Think it through."]],
        ["Divisors of 360", "Is 3599 prime?"],
    )


def default_budgets(info: ModelInfo | None) -> tuple[int, int]:
    """(thinking, answer) slider defaults that fit the model: a plain question costs seconds on the tiny model."""
    if is_tiny(info):
        return TINY_THINK_BUDGET, TINY_ANSWER_BUDGET
    return 512, 1024


def efforts(maximum: int = THINK_MAX) -> list[str]:
    """The effort presets offered: the last one is 'unlimited', or 'max' where budgets are capped below that."""
    return EFFORTS if maximum >= THINK_MAX else [*EFFORTS[:-1], "max"]


def effort_budgets(info: ModelInfo | None, maximum: int = THINK_MAX) -> dict[str, int]:
    """Effort preset → thinking-budget slider value (THINK_MAX = unlimited), within a slider ending at `maximum`."""
    table = TINY_EFFORT if is_tiny(info) else GENERAL_EFFORT
    return {name: min(value, maximum) for name, value in zip(efforts(maximum), table.values())}


def effort_of(info: ModelInfo | None, budget: float, maximum: int = THINK_MAX) -> str | None:
    """The effort preset a slider value matches, or None."""
    return next((name for name, value in effort_budgets(info, maximum).items() if value == int(budget)), None)


def budget_note(value: float, maximum: int) -> str:
    """The live reading beside a budget slider: '= unlimited' at the stop `maximum` (an uncapped slider's last
    stop), else '= N tokens'."""
    return "= unlimited" if int(value) >= maximum else f"= {token_count(int(value))}"


@lru_cache(maxsize=64)
def _in_hub_cache(hub_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(hub_id, "config.json"), str)
    except Exception:  # a broken cache is the same as no cache: it needs a download
        return False


def where(name: str, offline: bool) -> str:
    """Where a picker entry would load from: embedded, local folder, hub cache, or a download."""
    if name in EMBEDDED_NAMES:
        return "embedded"
    path = existing_path(name)
    if path is not None and path.is_dir():
        return "local folder"
    preset = PRESETS.get(name)
    hub_id = preset.hub_id if preset else name
    if _in_hub_cache(hub_id):
        return "in the hub cache"
    return "needs download (offline: cannot load)" if offline else "needs download"


def picker_choices(loaded: str | None, offline: bool, served: list[str] | None = None) -> list[tuple[str, str]]:
    """The model picker's entries as (label, value): each marked by where it would load from, or, when a server
    generates, the models it serves (`served`)."""
    names = list(served) if served is not None else choices()
    if loaded and loaded not in names:
        names = [loaded, *names]
    origin = (lambda n: "served") if served is not None else (lambda n: where(n, offline))
    return [(f"{n} — {origin(n) if n != loaded else 'loaded'}", n) for n in names]
