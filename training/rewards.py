"""GRPO reward terms: the puzzle family's verifier, and optional format, length and repetition terms.

Each term is a function TRL's `GRPOTrainer` calls with keyword arguments (`prompts`, `completions`,
`completion_ids`, every extra dataset column such as `family`, `level` and `seed`, `trainer_state`, `log_extra`,
`log_metric`, …) and that returns one float per completion. Each is its own reward function, so TRL logs each
term separately (`rewards/<name>/mean`); the run's weights (`GRPOConfig.reward_weights`) say how much each
counts, and a term with weight 0 is still logged.

Chat templates that open the thought in the prompt (the embedded tiny reasoner's ends with `<think>`) leave
completions that start inside the thought: `full_text` puts the `<think>` back so that the answer reader sees
a closed thought. No Gradio and no torch here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from playground.puzzles import generate, get_family
from playground.puzzles.base import Instance, Verdict

TERMS = ("correct", "format", "length", "repetition")
REPEAT_N = 8  # n-gram size (tokens) of the repetition term: long enough that a tabular trace's rows differ


@lru_cache(maxsize=4096)
def instance(family: str, level: int, seed: int) -> Instance:
    """The puzzle behind a prompt, rebuilt from its dataset columns (generation is deterministic)."""
    return generate(family, int(level), int(seed))


def completion_text(completion: Any) -> str:
    """The completion's text, whether TRL passes a string or a conversational [{"role", "content"}] list."""
    if isinstance(completion, list):
        return "".join(str(m.get("content") or "") for m in completion if isinstance(m, dict))
    return str(completion or "")


def full_text(completion: Any, opens_thought: bool = True) -> str:
    """The completion with the thought's opening `<think>` restored when the prompt opened it."""
    text = completion_text(completion)
    if opens_thought and not text.lstrip().startswith("<think>"):
        return "<think>\n" + text
    return text


def verdict(family: str, level: int, seed: int, text: str) -> Verdict:
    """The family verifier's verdict on one completion's full text."""
    return get_family(family).verify(instance(family, level, seed), text)


def _columns(kwargs: dict[str, Any], n: int) -> list[tuple[str, int, int]]:
    """(family, level, seed) of each completion from the dataset columns TRL passes on."""
    try:
        return list(zip(kwargs["family"], kwargs["level"], kwargs["seed"], strict=True))[:n]
    except KeyError as exc:
        raise ValueError(f"the GRPO dataset must have family, level and seed columns (missing {exc})") from exc


def make_reward_funcs(opens_thought: bool = True, max_completion_length: int = 512) -> list[Callable[..., list[float]]]:
    """The reward terms in `TERMS` order, as TRL reward functions (their `__name__` is the logged name).

    - correct: 1 when the family's verifier accepts the answer, else 0.
    - format: 1 for a closed thought followed by an answer the family can read, else 0.
    - length: in the spirit of Phi-4-reasoning's length-aware reward: a correct answer earns up to 1 the shorter
      its completion; an incorrect one loses up to 1 the shorter it is, so long incorrect attempts are not
      punished (the model is not pushed to give up early).
    - repetition: minus the fraction of repeated token n-grams (0 for none, towards -1 for a loop).
    """
    cache: dict[tuple[str, int, int, str], Verdict] = {}

    def judged(kwargs: dict[str, Any], completions: list[Any]) -> list[Verdict]:
        out = []
        for (fam, level, seed), comp in zip(_columns(kwargs, len(completions)), completions, strict=True):
            text = full_text(comp, opens_thought)
            key = (fam, int(level), int(seed), text)
            if key not in cache:
                if len(cache) > 4096:
                    cache.clear()
                cache[key] = verdict(fam, level, seed, text)
            out.append(cache[key])
        return out

    def correct(completions: list[Any], **kwargs: Any) -> list[float]:
        verdicts = judged(kwargs, completions)
        log_extra = kwargs.get("log_extra")
        if log_extra is not None:  # which puzzle each completion answered, beside it in the samples
            puzzles = _columns(kwargs, len(completions))
            log_extra("puzzle", [f"{f} L{lv} #{s}" for f, lv, s in puzzles])
            log_extra("verdict", [v.reason for v in verdicts])
        return [1.0 if v.correct else 0.0 for v in verdicts]

    def format(completions: list[Any], **kwargs: Any) -> list[float]:  # noqa: A001 - the logged term's name
        closed = ["</think>" in full_text(c, opens_thought) for c in completions]
        return [1.0 if ok and v.status != "unparseable" else 0.0 for ok, v in zip(closed, judged(kwargs, completions))]

    def length(completions: list[Any], completion_ids: list[list[int]] | None = None, **kwargs: Any) -> list[float]:
        sizes = (
            [len(ids) for ids in completion_ids]
            if completion_ids
            else [len(completion_text(c)) // 4 for c in completions]
        )
        out = []
        for v, size in zip(judged(kwargs, completions), sizes):
            short = 1.0 - min(size / max(max_completion_length, 1), 1.0)  # 1 for empty, 0 at the length limit
            out.append(short if v.correct else -short)
        return out

    def repetition(completions: list[Any], completion_ids: list[list[int]] | None = None, **kwargs: Any) -> list[float]:
        seqs = completion_ids or [completion_text(c).split() for c in completions]
        return [-repeated_fraction(list(s), REPEAT_N) for s in seqs]

    return [correct, format, length, repetition]


def repeated_fraction(tokens: list[Any], n: int) -> float:
    """The fraction of the sequence's n-grams that already occurred earlier in it (0 when shorter than n)."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return (len(grams) - len(set(grams))) / len(grams) if grams else 0.0
