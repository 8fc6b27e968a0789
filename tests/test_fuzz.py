"""Long fuzz runs of what judges model output: the thinking splitter, the budget parser, the answer readers and every
family's verifier. They must never raise, must agree with themselves however a stream is cut, and must not let the
text of a thought change the verdict on the answer after it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.generation.budgets import BudgetError, budget_label, parse_budget, parse_budgets
from playground.generation.thinking import ThinkSplitter, split_text
from playground.puzzles import families, get_family
from playground.puzzles.base import BOXED, LINE, TAG, final_answer, read_choice, read_dict, read_integer

pytestmark = pytest.mark.slow

# Text rich in the markers the readers look for, mixed with arbitrary characters (surrogates excluded: model
# output is decoded text).
MARKERS = [
    "<think>",
    "</think>",
    "<final_answer>",
    "</final_answer>",
    "Final Answer:",
    "\\boxed{",
    "{",
    "}",
    "'",
    '"',
    ":",
    ",",
    "\n",
    "**",
    "A",
    "7",
    "True",
    "->",
]
hostile = st.lists(
    st.one_of(st.sampled_from(MARKERS), st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)),
    max_size=60,
).map("".join)
thought = hostile.filter(lambda s: "</think>" not in s)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _cut(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


@SETTINGS
@given(text=hostile, cuts=st.lists(st.integers(0, 500), max_size=20), opened=st.booleans())
def test_splitter_gives_the_same_split_however_the_stream_is_cut(text, cuts, opened):
    def run(chunks):
        sp = ThinkSplitter(opened)
        pieces = [p for c in chunks for p in sp.feed(c)] + sp.finish()
        merged = []
        for kind, part in pieces:
            if merged and merged[-1][0] == kind and kind != "think_end":
                merged[-1] = (kind, merged[-1][1] + part)
            elif part or kind == "think_end":
                merged.append((kind, part))
        return merged

    whole = run([text])
    assert run(_cut(text, cuts)) == whole
    assert sum(kind == "think_end" for kind, _ in whole) <= 1
    think, answer, closed = split_text(text, opened)
    assert "".join(p for k, p in whole if k == "think") == think
    assert "".join(p for k, p in whole if k == "answer") == answer
    assert closed == any(k == "think_end" for k, _ in whole)


@SETTINGS
@given(value=st.one_of(hostile, st.integers(-(2**80), 2**80), st.floats(allow_nan=True), st.none()))
def test_budget_parser_reads_or_explains(value):
    try:
        budget = parse_budget(value)
    except BudgetError as err:
        assert "budget" in str(err)
        return
    assert budget is None or (isinstance(budget, int) and budget >= 0)
    assert parse_budget(budget_label(budget)) == budget


@SETTINGS
@given(text=hostile)
def test_budget_sweeps_read_or_explain(text):
    try:
        budgets = parse_budgets(text)
    except BudgetError as err:
        assert str(err)
        return
    assert budgets and len(budgets) == len(set(budgets))


@SETTINGS
@given(text=st.one_of(hostile, st.text(max_size=300)))
def test_readers_never_raise(text):
    for forms in ((LINE,), (LINE, BOXED), (LINE, BOXED, TAG), (TAG,)):
        got = final_answer(text, forms)
        assert got is None or isinstance(got, str)
    assert read_dict(text) is None or isinstance(read_dict(text), dict)
    assert read_choice(text, ["north", "south", "east", "west"]) in (None, "A", "B", "C", "D")
    assert read_integer(text) is None or isinstance(read_integer(text), int)


_REFERENCES = {
    (name, level): get_family(name).generate(11, level)
    for name, fam in families().items()
    for level in sorted(fam.levels)[:2]
}


@pytest.mark.parametrize(("name", "level"), sorted(_REFERENCES))
@SETTINGS
@given(noise=thought, answer_noise=hostile)
def test_a_thought_never_changes_the_verdict_on_the_answer(name, level, noise, answer_noise):
    fam, inst = get_family(name), _REFERENCES[(name, level)]
    plain = fam.verify(inst, inst.reference)
    assert plain.correct
    with_thought = fam.verify(inst, f"<think>{noise}</think>\n{inst.reference}")
    assert with_thought.correct and with_thought.extracted == plain.extracted
    other = fam.verify(inst, f"<think>{noise}</think>\n{answer_noise}")
    assert other.status in ("correct", "wrong", "unparseable")
    assert other.correct == (other.status == "correct") and 0.0 <= other.score <= 1.0
    assert other.to_json() == fam.verify(inst, f"<think>x</think>\n{answer_noise}").to_json()
