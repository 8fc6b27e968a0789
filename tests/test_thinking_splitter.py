"""The text splitter: any chunking of a stream gives the same split; partial tags never leak."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from playground.generation.thinking import ThinkSplitter, prompt_opens_think, split_text

# text that contains no complete tag (it may contain '<', '/', 'think' fragments)
body = st.text(alphabet=st.sampled_from(list("ab </>thinkx\n")), max_size=40).filter(
    lambda s: "<think>" not in s and "</think>" not in s
)


def run(chunks: list[str], opened: bool) -> tuple[str, str, list[tuple[str, str]]]:
    sp = ThinkSplitter(opened)
    pieces = [p for c in chunks for p in sp.feed(c)] + sp.finish()
    return (
        "".join(t for k, t in pieces if k == "think"),
        "".join(t for k, t in pieces if k == "answer"),
        pieces,
    )


def chunked(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


@settings(max_examples=300, deadline=None)
@given(think=body, answer=body, cuts=st.lists(st.integers(0, 200), max_size=12), opened=st.booleans())
def test_any_chunking_gives_the_same_split(think, answer, cuts, opened):
    text = ("" if opened else "<think>") + think + "</think>" + answer
    got_think, got_answer, pieces = run(chunked(text, cuts), opened)
    assert got_think == think
    assert got_answer == answer
    assert [k for k, _ in pieces].count("think_end") == 1
    whole = split_text(text, opened)
    assert whole == (think, answer, True)


@settings(max_examples=200, deadline=None)
@given(answer=body, cuts=st.lists(st.integers(0, 99)))
def test_model_without_thinking_is_all_answer(answer, cuts):
    got_think, got_answer, _ = run(chunked(answer, cuts), opened=False)
    assert got_think == ""
    assert got_answer == answer


def test_partial_close_tag_is_held_back_not_leaked():
    sp = ThinkSplitter(prompt_opened=True)
    assert sp.feed("step one</thi") == [("think", "step one")]
    assert sp.feed("nk>42") == [("think_end", ""), ("answer", "42")]


def test_partial_open_tag_waits_then_opens():
    sp = ThinkSplitter(prompt_opened=False)
    assert sp.feed("\n<thi") == []
    assert sp.feed("nk>hmm") == [("think", "hmm")]


def test_missing_close_tag_keeps_everything_as_thinking():
    assert split_text("<think>still going</th", False) == ("still going</th", "", False)
    assert split_text("no close at all", True) == ("no close at all", "", False)


def test_close_only_output_when_prompt_opened():
    assert split_text("reasoning</think>\nFinal Answer: B", True) == ("reasoning", "\nFinal Answer: B", True)


def test_prompt_opens_think_detection():
    assert prompt_opens_think("<|assistant|><think>\n")
    assert not prompt_opens_think("<|assistant|>")
    assert not prompt_opens_think("<think>a</think><|assistant|>")
