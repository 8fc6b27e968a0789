"""AIME-style math problems from templates whose generator knows the answer (an integer 0..999).

Templates: shopping arithmetic, remainders of powers, counting multiples (inclusion-exclusion), sums of
sequences, gcd/lcm, digit sums, combinations. Level 1 uses small numbers and one or two steps; higher levels
chain more steps and ask for remainders mod 1000 as AIME does.

Answer: `\\boxed{N}`, or "Final Answer: N"; the later of the two wins (`base.final_answer`). The content must be
one number: an integer in plain form goes through `base.read_integer` ("42", "042", "42.0", "1,000" with commas
only between groups of three digits, "$42$", "42 dollars"); a list of numbers ("1, 3", "1 3") is wrong, not read
as 13; anything else ("\\frac{84}{2}", "1.5", "1/7") goes to the math-verify library, run without its
signal-based timeout when off the main thread (that timeout only works there), on at most 200 characters. A
math-verify reading with free symbols other than an equation ("the answer is 42") is unparseable.
"""

from __future__ import annotations

import logging
import math
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playground.puzzles.base import (
    BOXED,
    LINE,
    Family,
    Instance,
    PuzzleConfigError,
    Verdict,
    final_answer,
    plain_separators,
    read_integer,
    unparseable,
)

LEVELS: dict[int, str] = {
    1: "one or two steps, small numbers (shopping, a^k mod m, multiples, 1+..+n, gcd, digit sum)",
    2: "2-4 steps: change from a bill, inclusion-exclusion, arithmetic series, lcm, 2^k digits, C(n,k)",
    3: "multi-step: powers mod m by squaring, sums of squares mod 1000, lcm of three, committees",
    4: "AIME-flavoured sizes: a^k mod 1000 with k up to 10^6, three-way inclusion-exclusion, paths mod 1000",
}
Steps = list[str]


@dataclass
class MathConfig:
    """One problem: the level picks number sizes; `template` may pin one template (default: random)."""

    seed: int = 0
    level: int = 1
    template: str | None = None

    def validate(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise PuzzleConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.level not in LEVELS:
            raise PuzzleConfigError(f"math has no level {self.level}; choose one of {sorted(LEVELS)}")
        if self.template is not None and self.template not in TEMPLATES:
            raise PuzzleConfigError(f"unknown math template {self.template!r}; choose one of {sorted(TEMPLATES)}")
        if self.template == "choose" and self.level == 1:
            raise PuzzleConfigError("the choose template starts at level 2")


# Each template: params(rng, level) -> dict, and solve(params) -> (question, steps, answer).
def shopping_params(rng: random.Random, level: int) -> dict[str, Any]:
    if level == 1:
        a, p = rng.randint(2, 9), rng.randint(2, 6)
        bill = rng.choice([0, next(x for x in (20, 50, 100) if x >= a * p)])  # 0: no bill, just the total
        return {"a": a, "p": p, "b": 0, "q": 0, "bill": bill}
    hi = 25 * level
    a, b, p, q = rng.randint(3, hi), rng.randint(5, hi), rng.randint(2, 9), rng.randint(2, 6)
    return {
        "a": a,
        "p": p,
        "b": b,
        "q": q,
        "bill": next(x for x in (100, 200, 500, 1000, 2000) if x >= a * p + b * q),
    }


def shopping_solve(v: dict[str, Any]) -> tuple[str, Steps, int]:
    a, p, b, q, bill = v["a"], v["p"], v["b"], v["q"], v["bill"]
    text = f"A pen costs {a} dollars."
    text += f" A notebook costs {b} dollars. Sam buys {p} pens and {q} notebooks" if q else f" Sam buys {p} pens"
    steps = [f"pens: {p}*{a} = {p * a}"]
    total = p * a + q * b
    if q:
        steps += [f"notebooks: {q}*{b} = {q * b}", f"total: {p * a}+{q * b} = {total}"]
    if bill:
        steps.append(f"change: {bill}-{total} = {bill - total}")
        return (
            text + f" and pays with a {bill} dollar bill. How much change does he get, in dollars?",
            steps,
            bill - total,
        )
    return text + ". How much does he pay, in dollars?", steps, total


def power_mod_params(rng: random.Random, level: int) -> dict[str, Any]:
    k_hi, m_lo, m_hi = {1: (4, 5, 20), 2: (30, 7, 50), 3: (1000, 11, 100), 4: (10**6, 1000, 1000)}[level]
    return {
        "a": rng.randint(2, 9 if level < 4 else 99),
        "k": rng.randint(2, k_hi),
        "m": rng.randint(m_lo, m_hi),
    }


def power_mod_solve(v: dict[str, Any]) -> tuple[str, Steps, int]:
    a, k, m = v["a"], v["k"], v["m"]
    bits = [1 << i for i in range(k.bit_length()) if k >> i & 1]
    steps, r, sq = [f"{a}^1 = {a % m} mod {m}"], {1: a % m}, 1
    while sq * 2 <= k:
        nxt = r[sq] * r[sq] % m
        steps.append(f"{a}^{sq * 2} = {r[sq]}*{r[sq]} = {r[sq] * r[sq]} = {nxt} mod {m}")
        sq *= 2
        r[sq] = nxt
    steps.append(f"{k} = " + "+".join(map(str, bits[::-1])))
    acc, e = r[bits[-1]], bits[-1]
    for b in bits[-2::-1]:
        e += b
        steps.append(f"{a}^{e} = {acc}*{r[b]} = {acc * r[b]} = {acc * r[b] % m} mod {m}")
        acc = acc * r[b] % m
    return f"What is the remainder when {a}^{k} is divided by {m}?", steps, acc


def multiples_params(rng: random.Random, level: int) -> dict[str, Any]:
    n_div, n_hi = {1: (1, 100), 2: (2, 500), 3: (2, 3000), 4: (3, 3000)}[level]
    while True:
        divs = sorted(rng.sample(range(2, 13 if level < 3 else 30), n_div))
        v = {"n": rng.randint(n_hi // 5, n_hi), "divs": divs}
        if multiples_solve(v)[2] <= 999:
            return v


def multiples_solve(v: dict[str, Any]) -> tuple[str, Steps, int]:
    n, divs = v["n"], v["divs"]
    words = ", ".join(map(str, divs[:-1])) + (" or " if len(divs) > 1 else "") + str(divs[-1])
    steps, total = [], 0
    for size in range(1, len(divs) + 1):  # inclusion-exclusion over every subset of divisors
        for i in range(1 << len(divs)):
            sub = [d for j, d in enumerate(divs) if i >> j & 1]
            if len(sub) != size:
                continue
            lcm = math.lcm(*sub)
            c = n // lcm
            total += c if size % 2 else -c
            steps.append(
                f"multiples of {'lcm(' + ','.join(map(str, sub)) + ')=' if size > 1 else ''}{lcm}: "
                f"{n}//{lcm} = {c}, {'add' if size % 2 else 'subtract'} -> {total}"
            )
    return f"How many integers from 1 to {n} are divisible by {words}?", steps, total


def series_params(rng: random.Random, level: int) -> dict[str, Any]:
    if level == 1:
        return {"kind": "1..n", "n": rng.randint(5, 40)}
    if level == 2:
        while True:
            v = {"kind": "arith", "a": rng.randint(1, 20), "d": rng.randint(2, 9), "n": rng.randint(5, 20)}
            if series_solve(v)[2] <= 999:
                return v
    return {"kind": "squares", "n": rng.randint(20, 1000 if level == 3 else 10**4)}


def series_solve(v: dict[str, Any]) -> tuple[str, Steps, int]:
    n = v["n"]
    if v["kind"] == "1..n":
        return f"What is 1 + 2 + ... + {n}?", [f"sum = {n}*{n + 1}/2 = {n * (n + 1) // 2}"], n * (n + 1) // 2
    if v["kind"] == "arith":
        a, d = v["a"], v["d"]
        last = a + (n - 1) * d
        q = f"What is the sum of the {n} terms {a} + {a + d} + {a + 2 * d} + ... + {last}?"
        return (
            q,
            [f"last term = {a}+{n - 1}*{d} = {last}", f"sum = {n}*({a}+{last})/2 = {n * (a + last) // 2}"],
            (n * (a + last) // 2),
        )
    s = n * (n + 1) * (2 * n + 1) // 6
    steps = [
        f"sum of squares = n(n+1)(2n+1)/6 = {n}*{n + 1}*{2 * n + 1}/6 = {s}",
        f"{s} mod 1000 = {s % 1000}",
    ]
    return f"What is the remainder when 1^2 + 2^2 + ... + {n}^2 is divided by 1000?", steps, s % 1000


def gcd_lcm_params(rng: random.Random, level: int) -> dict[str, Any]:
    if level == 1:
        g = rng.randint(2, 12)
        return {"nums": [g * rng.randint(1, 8), g * rng.randint(1, 8)], "op": "gcd"}
    while True:
        nums = [rng.randint(2, {2: 40, 3: 60, 4: 40}[level]) for _ in range(level if level > 2 else 2)]
        if len(set(nums)) == len(nums) and math.lcm(*nums) <= 999:
            return {"nums": nums, "op": "lcm"}


def _euclid(a: int, b: int, steps: Steps) -> int:
    while b:
        steps.append(f"{a} = {a // b}*{b} + {a % b}")
        a, b = b, a % b
    steps.append(f"gcd = {a}")
    return a


def gcd_lcm_solve(v: dict[str, Any]) -> tuple[str, Steps, int]:
    nums, steps = v["nums"], []
    if v["op"] == "gcd":
        g = _euclid(max(nums), min(nums), steps)
        return f"What is the greatest common divisor of {nums[0]} and {nums[1]}?", steps, g
    acc = nums[0]
    for x in nums[1:]:
        g = _euclid(max(acc, x), min(acc, x), steps)
        steps.append(f"lcm({acc},{x}) = {acc}*{x}/{g} = {acc * x // g}")
        acc = acc * x // g
    names = ", ".join(map(str, nums[:-1])) + f" and {nums[-1]}"
    return f"What is the smallest positive integer divisible by each of {names}?", steps, acc


def digit_sum_params(rng: random.Random, level: int) -> dict[str, Any]:
    if level == 1:
        return {"base": rng.randint(100, 99999), "k": 1}
    while True:
        v = {
            "base": 2 if level < 4 else rng.choice([2, 3, 7]),
            "k": rng.randint(10, {2: 30, 3: 100, 4: 150}[level]),
        }
        if digit_sum_solve(v)[2] <= 999:
            return v


def digit_sum_solve(v: dict[str, Any]) -> tuple[str, Steps, int]:
    b, k = v["base"], v["k"]
    digits = str(b**k)
    s = sum(map(int, digits))
    what = str(b) if k == 1 else f"{b}^{k}"
    steps = ([] if k == 1 else [f"{b}^{k} = {digits}"]) + [f"digits: {'+'.join(digits)} = {s}"]
    return f"What is the sum of the digits of {what}?", steps, s


def choose_params(rng: random.Random, level: int) -> dict[str, Any]:
    while True:
        if level == 2:
            v = {"kind": "plain", "n": rng.randint(5, 15), "k": rng.randint(2, 4)}
        elif level == 3:
            v = {
                "kind": "at_least_one",
                "men": rng.randint(3, 8),
                "women": rng.randint(2, 6),
                "k": rng.randint(2, 4),
            }
        else:
            v = {"kind": "paths", "a": rng.randint(4, 12), "b": rng.randint(4, 12)}
        if choose_solve(v)[2] <= 999:
            return v


def _comb_line(n: int, k: int) -> tuple[str, int]:
    num, den = math.prod(range(n - k + 1, n + 1)), math.factorial(k)
    return (
        f"C({n},{k}) = {'*'.join(map(str, range(n, n - k, -1)))}/{k}! = {num}/{den} = {num // den}",
        num // den,
    )


def choose_solve(v: dict[str, Any]) -> tuple[str, Steps, int]:
    if v["kind"] == "plain":
        line, c = _comb_line(v["n"], v["k"])
        return f"In how many ways can a team of {v['k']} be chosen from {v['n']} people?", [line], c
    if v["kind"] == "at_least_one":
        m, w, k = v["men"], v["women"], v["k"]
        (l1, all_), (l2, none) = _comb_line(m + w, k), _comb_line(m, k)
        q = (
            f"A club has {m} men and {w} women. In how many ways can a committee of {k} be chosen "
            "that includes at least one woman?"
        )
        return q, [f"all: {l1}", f"no woman: {l2}", f"{all_}-{none} = {all_ - none}"], all_ - none
    a, b = v["a"], v["b"]
    line, c = _comb_line(a + b, a)
    q = (
        f"How many shortest paths along grid lines go from (0,0) to ({a},{b}), moving one unit right or up "
        "each step? Give the remainder when that number is divided by 1000."
    )
    return q, [f"choose which {a} of {a + b} moves go right", line, f"{c} mod 1000 = {c % 1000}"], c % 1000


TEMPLATES: dict[str, tuple[Callable[..., dict[str, Any]], Callable[..., tuple[str, Steps, int]]]] = {
    "shopping": (shopping_params, shopping_solve),
    "power_mod": (power_mod_params, power_mod_solve),
    "multiples": (multiples_params, multiples_solve),
    "series": (series_params, series_solve),
    "gcd_lcm": (gcd_lcm_params, gcd_lcm_solve),
    "digit_sum": (digit_sum_params, digit_sum_solve),
    "choose": (choose_params, choose_solve),
}


def solve(data: dict[str, Any]) -> tuple[str, Steps, int]:
    return TEMPLATES[data["template"]][1](data["params"])


def generate_config(cfg: MathConfig) -> Instance:
    cfg.validate()
    rng = random.Random(cfg.seed)
    names = [t for t in TEMPLATES if cfg.level > 1 or t != "choose"]
    name = cfg.template or rng.choice(names)
    params = TEMPLATES[name][0](rng, cfg.level)
    question, _, answer = TEMPLATES[name][1](params)
    assert 0 <= answer <= 999, (name, params, answer)  # templates are built to keep AIME's range
    data = {"template": name, "params": params, "answer": answer}
    prompt = f"{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
    return Instance("math", cfg.level, cfg.seed, prompt, f"\\boxed{{{answer}}}", data)


def generate(seed: int, level: int) -> Instance:
    return generate_config(MathConfig(seed=seed, level=level))


def trace(instance: Instance) -> str:
    _, steps, answer = solve(instance.data)
    return "\n".join([*steps, f"answer {answer}", f"\\boxed{{{answer}}}"])


_WRAP = re.compile(r"\\(?:text|mathrm|mathbf|textbf|boldsymbol)\{([^{}]*)\}")
_DELIMS = re.compile(r"^\s*(?:\$+|\\\(|\\\[)|(?:\$+|\\\)|\\\])\s*$")
_UNIT = re.compile(r"^(.*\d)\s*[A-Za-z]+\.?$")  # "48 dollars", "120 ways": one word after the number
_NUMBERS = re.compile(r"[\d\s,.+-]*\d[\d\s,.+-]*")  # digits and separators only: one number or a list


def _math_verify(content: str, answer: int) -> tuple[bool, str] | None:
    """Slow path through math-verify; None when it cannot read the content as a number or an equation."""
    from math_verify import parse  # imported lazily: a slow import that only this path needs
    from math_verify import verify as mv_verify
    from sympy import Eq

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns on every call without a timeout
    main = threading.current_thread() is threading.main_thread()
    kw: dict[str, Any] = {} if main else {"parsing_timeout": None}
    pred = parse(f"\\boxed{{{content}}}", **kw)
    if not pred or isinstance(pred[0], str) or (pred[0].free_symbols and not isinstance(pred[0], Eq)):
        return None  # only the raw string back, or words read as a product of symbols: not an answer
    ok = mv_verify(parse(str(answer), **kw), pred, **({} if main else {"timeout_seconds": None}))
    val = pred[0].rhs if isinstance(pred[0], Eq) else pred[0]  # "n = 42" answers 42
    norm = str(int(val)) if getattr(val, "is_integer", False) else re.sub(r"\s+", "", content)
    return bool(ok), norm


def _judge(content: str, answer: int) -> tuple[bool, str, str] | str:
    """(right, the normalised answer, method), or the reason the content is not one number."""
    core = _DELIMS.sub("", _WRAP.sub(r"\1", content)).strip().rstrip(".").strip()
    core = plain_separators(core)
    core = _UNIT.sub(r"\1", core) if not _NUMBERS.fullmatch(core) else core
    number = read_integer(core)
    if number is not None:
        return number == answer, str(number), "integer"
    if _NUMBERS.fullmatch(core) and not re.fullmatch(r"[+-]?\d*\.\d+", core):  # "1, 3", "1 3": a decimal is fine
        return False, " ".join(core.split()), "not one number"
    res = _math_verify(content[:200], answer)
    if res is None:
        return f"the answer {content[:40]!r} is not a number"
    return res[0], res[1], "math-verify"


def verify(instance: Instance, text: str) -> Verdict:
    """Numeric comparison with the reference integer; score 1 or 0."""
    try:
        content = final_answer(text, (BOXED, LINE))
        if content is None:
            return unparseable("no \\boxed{...} or 'Final Answer:' answer found")
        answer = instance.data["answer"]
        judged = _judge(content, answer)
    except Exception as exc:  # a verifier never raises
        return unparseable(f"could not read the answer: {type(exc).__name__}")
    if isinstance(judged, str):
        return unparseable(judged)
    ok, got, method = judged
    detail = {"check": "value", "ok": ok, "given": got, "expected": answer, "method": method}
    if method == "not one number":
        reason = f"{got!r} is not one number (commas and spaces separate thousands only between groups of three digits)"
    else:
        reason = f"{got} is right" if ok else f"{got} is wrong, the answer is {answer}"
    return Verdict(ok, float(ok), reason, "correct" if ok else "wrong", got, [detail])


FAMILY = Family(
    name="math",
    title="Math (AIME-style)",
    description="Generated arithmetic, number theory and counting problems with integer answers 0..999.",
    levels=LEVELS,
    generate=generate,
    verify=verify,
    trace=trace,
)
