"""Training data: JSONL validation (errors name the line and the problem), chat rendering with the loss on
the assistant turn only (also for templates that pre-open <think>), verified puzzle traces, failures,
preview."""

from __future__ import annotations

import json

import pytest

from playground.models.tiny_tokenizer import CHAT_TEMPLATE, build_tokenizer
from training.data import (
    IGNORE_INDEX,
    DataError,
    encode,
    end_of_turn,
    failure_examples,
    load_jsonl,
    preview,
    puzzle_examples,
    render_chat,
    validate_jsonl,
)

CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
OPEN_THINK = CHAT_TEMPLATE.replace("'<|assistant|>' }}{% endif %}", "'<|assistant|><think>\\n' }}{% endif %}")


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def _lines(*objs: object) -> str:
    return "\n".join(o if isinstance(o, str) else json.dumps(o) for o in objs)


def test_valid_formats_both_accepted(tmp_path):
    text = _lines(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": "<think>\nadd\n</think>\n4"},
            ]
        },
        "",  # blank lines are skipped
        {"prompt": "3+3?", "completion": "6"},
    )
    path = tmp_path / "ok.jsonl"
    path.write_text(text)
    examples = load_jsonl(path)
    assert len(examples) == 2
    assert examples[1].messages == [
        {"role": "user", "content": "3+3?"},
        {"role": "assistant", "content": "6"},
    ]
    assert examples[1].meta["line"] == 3


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"prompt": "a", "completion": "b"', "bad JSON"),
        (
            {"messages": [{"content": "hi"}, {"role": "assistant", "content": "x"}]},
            "messages[0] has no 'role'",
        ),
        ({"messages": [{"role": "bot", "content": "hi"}]}, "role 'bot'"),
        (
            {"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "x"}]},
            "empty content",
        ),
        ({"messages": [{"role": "user", "content": "hi"}]}, "missing role 'assistant'"),
        (
            {"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "x"}]},
            "missing role 'user'",
        ),
        ({"prompt": "hi"}, "missing 'completion'"),
        ({"prompt": "hi", "completion": ""}, "empty 'completion'"),
        ({"text": "hi"}, "expected 'messages'"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_each_problem_is_named_with_its_line(line, problem):
    good = {"prompt": "p", "completion": "c"}
    examples, errors = validate_jsonl(_lines(good, line, good))
    assert len(examples) == 2
    assert len(errors) == 1 and errors[0].startswith("line 2: ") and problem in errors[0], errors


def test_over_long_examples_counted_with_the_tokenizer(tok):
    text = _lines({"prompt": "x" * 50, "completion": "y" * 50}, {"prompt": "short", "completion": "ok"})
    examples, errors = validate_jsonl(text, tok, max_seq_len=64)
    assert len(examples) == 1 and len(errors) == 1
    assert errors[0].startswith("line 1: over-long example") and "> max_seq_len 64" in errors[0]
    # without a tokenizer the length is estimated, and said to be
    assert "estimated" in validate_jsonl("\n" + text, None, max_seq_len=20)[1][0]


def test_load_jsonl_raises_with_all_problems(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(_lines("not json", {"prompt": "a", "completion": "b"}, {"prompt": "", "completion": "b"}))
    with pytest.raises(DataError, match=r"2 problem\(s\)") as err:
        load_jsonl(path)
    assert "line 1: bad JSON" in str(err.value) and "line 3: empty 'prompt'" in str(err.value)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(DataError, match="no examples"):
        load_jsonl(empty)


def test_loss_only_on_the_assistant_turn(tok):
    messages = [
        {"role": "user", "content": "Q?"},
        {"role": "assistant", "content": "<think>\nhm\n</think>\nA"},
    ]
    enc = encode(tok, messages)
    assert len(enc["input_ids"]) == len(enc["labels"]) == len(enc["attention_mask"])
    learned = [t for t in enc["labels"] if t != IGNORE_INDEX]
    assert tok.decode(learned) == "<think>\nhm\n</think>\nA<|end|>"
    n_prompt = enc["labels"].count(IGNORE_INDEX)
    assert tok.decode(enc["input_ids"][:n_prompt]) == "<|user|>Q?<|end|><|assistant|>"


def test_template_that_preopens_think_gets_the_tag_once(tok):
    tok2 = build_tokenizer()
    tok2.chat_template = OPEN_THINK
    messages = [
        {"role": "user", "content": "Q?"},
        {"role": "assistant", "content": "<think>\nhm\n</think>\nA"},
    ]
    prompt, target = render_chat(tok2, messages)
    assert prompt.endswith("<|assistant|><think>\n") and target == "hm\n</think>\nA<|end|>"
    enc = encode(tok2, messages)
    assert tok2.decode(enc["input_ids"]).count("<think>") == 1
    assert tok2.decode([t for t in enc["labels"] if t != IGNORE_INDEX]) == target


def test_end_of_turn_follows_the_template(tok):
    tok2 = build_tokenizer()
    tok2.chat_template = CHATML
    assert end_of_turn(tok2) == "<|im_end|>\n"
    assert end_of_turn(tok) == "<|end|>"


def test_puzzle_traces_are_verified_chats():
    from playground.puzzles import generate, get_family

    examples = puzzle_examples(["maze", "sat"], [1], count=4, seed_start=100_000)
    assert [e.family for e in examples] == ["maze", "sat", "maze", "sat"]
    assert [e.seed for e in examples] == [100_000, 100_000, 100_001, 100_001]
    for ex in examples:
        user, reply = ex.messages
        assert user["role"] == "user" and reply["role"] == "assistant"
        assert reply["content"].startswith("<think>\n") and "\n</think>\n" in reply["content"]
        fam = get_family(ex.family)
        inst = generate(ex.family, ex.level, ex.seed)
        assert user["content"] == inst.prompt and reply["content"].endswith(inst.reference)
        assert fam.verify(inst, reply["content"]).correct
    with pytest.raises(DataError, match="unknown puzzle families"):
        puzzle_examples(["nope"], [1], count=1)


def test_failures_become_a_dataset(tmp_path):
    rows = [
        {"family": "maze", "level": 1, "seed": 3, "correct": False},
        {"family": "maze", "level": 1, "seed": 3, "correct": False},  # several samples of one puzzle: once
        {"family": "maze", "level": 1, "seed": 4, "correct": True},
        {"family": "sat", "level": 1, "seed": 5, "correct": True},
        {"family": "sat", "level": 1, "seed": 5, "correct": False},  # wrong at least once
    ]
    (tmp_path / "results.jsonl").write_text(_lines(*rows))
    examples = failure_examples(tmp_path)  # the eval's folder or its results.jsonl
    assert [(e.family, e.seed, e.source) for e in examples] == [
        ("maze", 3, "failures"),
        ("sat", 5, "failures"),
    ]
    (tmp_path / "results.jsonl").write_text(_lines(rows[0], {"family": "maze"}))
    with pytest.raises(DataError, match="line 2"):
        failure_examples(tmp_path / "results.jsonl")


def test_preview_table():
    examples, _ = validate_jsonl(_lines({"prompt": "p" * 500, "completion": "<think>\nt\n</think>\nanswer"}))
    frame = preview(examples)
    assert list(frame.columns) == ["source", "puzzle", "prompt", "thinking", "answer", "chars"]
    row = frame.iloc[0]
    assert row["thinking"] == "t" and row["answer"] == "answer" and len(row["prompt"]) <= 160
    assert preview([]).empty
