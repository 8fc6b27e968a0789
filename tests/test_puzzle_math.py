"""Math family: every template's answer recomputed a second way from the question text, verifier tables."""

from __future__ import annotations

import itertools
import json
import re
import threading

import pytest

from playground.puzzles import math_problems as mp
from playground.puzzles.base import Instance, PuzzleConfigError
from playground.puzzles.math_problems import MathConfig, generate, generate_config, verify

LEVELS = sorted(mp.LEVELS)


def ints(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text)]


def brute(question: str) -> int:
    """The answer recomputed from the question text alone, by enumeration or simulation where possible."""
    q = question.splitlines()[0]
    if q.startswith("A pen costs"):
        nums = ints(q)
        if "notebook" in q:
            a, b, p, qn = nums[0], nums[1], nums[2], nums[3]
            items = [a] * p + [b] * qn
        else:
            items = [nums[0]] * nums[1]
        if "change" not in q:
            return sum(items)
        money = ints(q.split("pays with a")[1])[0]
        for price in items:  # hand over the money item by item
            money -= price
        return money
    if m := re.match(r"What is the remainder when (\d+)\^(\d+) is divided by (\d+)\?", q):
        a, k, mod = map(int, m.groups())
        seen, x, i = {}, a % mod, 1  # walk the powers until they cycle
        while i < k:
            if x in seen:
                period = i - seen[x]
                for _ in range((k - i) % period):
                    x = x * a % mod
                return x
            seen[x] = i
            x, i = x * a % mod, i + 1
        return x
    if m := re.match(r"How many integers from 1 to (\d+) are divisible by (.+)\?", q):
        divs = ints(m.group(2))
        return sum(any(n % d == 0 for d in divs) for n in range(1, int(m.group(1)) + 1))
    if m := re.match(r"What is 1 \+ 2 \+ \.\.\. \+ (\d+)\?", q):
        return sum(range(1, int(m.group(1)) + 1))
    if m := re.match(r"What is the sum of the (\d+) terms (\d+) \+ (\d+) \+", q):
        n, a, a2 = map(int, m.groups())
        return sum(a + i * (a2 - a) for i in range(n))
    if m := re.match(r"What is the remainder when 1\^2 \+ 2\^2 \+ \.\.\. \+ (\d+)\^2 is divided by 1000\?", q):
        return sum(i * i for i in range(1, int(m.group(1)) + 1)) % 1000
    if m := re.match(r"What is the greatest common divisor of (\d+) and (\d+)\?", q):
        a, b = map(int, m.groups())
        return max(d for d in range(1, min(a, b) + 1) if a % d == 0 and b % d == 0)
    if q.startswith("What is the smallest positive integer divisible by each of"):
        nums = ints(q)
        return next(x for x in itertools.count(max(nums), max(nums)) if all(x % n == 0 for n in nums))
    if m := re.match(r"What is the sum of the digits of (\d+)(?:\^(\d+))?\?", q):
        base, k = int(m.group(1)), int(m.group(2) or 1)
        digits = [1]  # schoolbook multiplication on a little-endian digit list
        for _ in range(k):
            carry = 0
            for i, d in enumerate(digits):
                carry, digits[i] = divmod(d * base + carry, 10)
            while carry:
                carry, d = divmod(carry, 10)
                digits.append(d)
        return sum(digits)
    if m := re.match(r"In how many ways can a team of (\d+) be chosen from (\d+) people\?", q):
        k, n = map(int, m.groups())
        return sum(1 for _ in itertools.combinations(range(n), k))
    if m := re.match(r"A club has (\d+) men and (\d+) women\. .+ committee of (\d+) .+ at least one woman\?", q):
        men, women, k = map(int, m.groups())
        people = ["m"] * men + ["w"] * women
        return sum("w" in [people[i] for i in c] for c in itertools.combinations(range(men + women), k))
    if m := re.match(r"How many shortest paths .+ from \(0,0\) to \((\d+),(\d+)\)", q):
        a, b = map(int, m.groups())
        grid = [[1] * (b + 1) for _ in range(a + 1)]
        for i in range(1, a + 1):
            for j in range(1, b + 1):
                grid[i][j] = grid[i - 1][j] + grid[i][j - 1]
        return grid[a][b] % 1000
    raise AssertionError(f"no brute force for {q!r}")


CASES = [(lvl, t) for lvl in LEVELS for t in mp.TEMPLATES if not (lvl == 1 and t == "choose")]


@pytest.mark.parametrize(("level", "template"), CASES)
def test_answer_matches_independent_computation(level, template):
    for seed in range(6):
        inst = generate_config(MathConfig(seed=seed, level=level, template=template))
        answer = inst.data["answer"]
        assert 0 <= answer <= 999
        assert brute(inst.prompt) == answer, (level, template, inst.prompt)
        assert inst.reference == f"\\boxed{{{answer}}}"


@pytest.mark.parametrize("level", LEVELS)
def test_reference_passes_and_trace_concludes_it(level):
    for seed in range(30):
        inst = generate(seed, level)
        v = verify(inst, inst.reference)
        assert v.correct and v.score == 1.0 and v.extracted == str(inst.data["answer"])
        tr = mp.trace(inst)
        assert tr.isascii() and tr.splitlines()[-1] == inst.reference
        assert f"= {inst.data['answer']}" in tr or f"-> {inst.data['answer']}" in tr  # a step computes it
        assert verify(inst, tr).correct
        assert "\\boxed{}" in inst.prompt
        json.dumps(inst.to_json())


def test_levels_grow_in_steps():
    mean_steps = [sum(len(mp.trace(generate(s, lvl)).splitlines()) for s in range(60)) / 60 for lvl in LEVELS]
    assert mean_steps == sorted(mean_steps) and mean_steps[0] < 6


# gcd(84, 126) = 42, written by hand.
HAND = Instance(
    "math",
    1,
    0,
    "",
    "\\boxed{42}",
    {"template": "gcd_lcm", "params": {"nums": [84, 126], "op": "gcd"}, "answer": 42},
)

TABLE = [
    ("\\boxed{42}", "correct", "42"),
    ("So the answer is $\\boxed{42}$.", "correct", "42"),
    ("\\boxed{042}", "correct", "42"),
    ("\\boxed{42.0}", "correct", "42"),
    ("\\boxed{ 42 }", "correct", "42"),
    ("\\boxed{42 \\text{ dollars}}", "correct", "42"),
    ("\\boxed{\\text{42}}", "correct", "42"),
    ("\\boxed{\\frac{84}{2}}", "correct", "42"),  # math-verify path
    ("\\boxed{6 \\cdot 7}", "correct", "42"),
    ("Final Answer: 42", "correct", "42"),
    ("\\boxed{41}", "wrong", "41"),
    ("\\boxed{420}", "wrong", "420"),
    ("\\boxed{-42}", "wrong", "-42"),
    ("Final Answer: 42.5", "wrong", "42.5"),  # not only the leading digits
    ("Final Answer: 42/43", "wrong", "42/43"),
    ("\\boxed{4, 2}", "wrong", "4, 2"),  # a list, not 42: commas separate thousands only in groups of three
    ("\\boxed{4 2}", "wrong", "4 2"),
    ("Final Answer: 4,2", "wrong", "4,2"),
    ("\\boxed{4\\,2}", "wrong", "4,2"),
    ("\\boxed{1,000}", "wrong", "1000"),
    ("\\boxed{0,042}", "wrong", "0,042"),
    ("\\boxed{n = 42}", "correct", "42"),
    ("\\boxed{42} no, Final Answer: 41", "wrong", "41"),  # the later marker wins
    ("\\boxed{the answer is 42}", "unparseable", None),
    ("<think>maybe \\boxed{41}</think> so \\boxed{42}", "correct", "42"),
    ("<think>maybe \\boxed{42}</think> so \\boxed{41}", "wrong", "41"),
    ("it is \\boxed{41} ... </think> \\boxed{42}", "correct", "42"),
    ("\\boxed{41} no wait \\boxed{42}", "correct", "42"),
    ("\\boxed{42} no wait \\boxed{41}", "wrong", "41"),
    ("the answer is 42", "unparseable", None),
    ("\\boxed{", "unparseable", None),
    ("<think>\\boxed{42}", "unparseable", None),
    ("\\boxed{}", "unparseable", None),
    ("\\boxed{}}{{]]", "unparseable", None),
]


@pytest.mark.parametrize(("text", "status", "extracted"), TABLE)
def test_answer_table(text, status, extracted):
    v = verify(HAND, text)
    assert (v.status, v.extracted) == (status, extracted), (text, v)
    assert v.correct == (status == "correct") and v.score == float(status == "correct")
    if status != "unparseable":
        assert v.details[0]["expected"] == 42
    else:
        assert v.reason


def test_math_verify_path_works_off_the_main_thread():
    out = {}
    worker = threading.Thread(target=lambda: out.update(v=verify(HAND, "\\boxed{\\frac{84}{2}}")))
    worker.start()
    worker.join()
    assert out["v"].correct and out["v"].details[0]["method"] == "math-verify"


@pytest.mark.parametrize(
    ("cfg", "msg"),
    [
        (MathConfig(template="calculus"), "template"),
        (MathConfig(level=1, template="choose"), "level 2"),
        (MathConfig(seed=-1), "seed"),
    ],
)
def test_config_validation(cfg, msg):
    with pytest.raises(PuzzleConfigError, match=msg):
        generate_config(cfg)
