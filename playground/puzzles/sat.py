"""3SAT puzzles (the paper's "3SAT-Search"): random 3-CNF formulas, DPLL solver, clause-by-clause verifier.

Four categories as in the paper: hard (clause/variable ratio 4.26), easy under-constrained (2.13), easy
over-constrained (8.52, mostly unsatisfiable), hard with exactly one solution (4.26, resampled until unique).
Answers: `<final_answer>{'Solution': 'True, False, True'}</final_answer>` or `{'Solution': 'Unsatisfiable'}`.
The verifier checks every clause, so any satisfying assignment counts (the original scorer compared strings).
The answer is read by `base.answer_dict`: the last `<final_answer>` tag, or the last bare `{...}` without one.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from itertools import product
from math import comb

from playground.puzzles.base import Family, Instance, PuzzleConfigError, Verdict, answer_dict, unparseable

CATEGORIES = {"hard": 4.26, "easy_under": 2.13, "easy_over": 8.52, "unique": 4.26}
# level -> allowed numbers of variables; the seed picks one (and, with category "mixed", the category)
LEVEL_VARS = {1: (3, 4), 2: (5, 6), 3: (7, 8), 4: (9, 10), 5: (11, 12), 6: (13, 14, 15)}
LEVELS = {lv: f"{ns[0]}-{ns[-1]} variables, mixed categories" for lv, ns in LEVEL_VARS.items()}
LEVELS[6] += " (paper's largest)"
MAX_UNIQUE_TRIES = 20000


@dataclass
class SatConfig:
    """One 3SAT instance: `category` is one of CATEGORIES or "mixed" (the seed picks one, as in the paper)."""

    seed: int
    level: int = 1
    n_vars: int | None = None  # None: the seed picks one of the level's sizes
    category: str = "mixed"

    def __post_init__(self) -> None:
        if self.level not in LEVEL_VARS:
            raise PuzzleConfigError(f"sat has no level {self.level}; choose one of {sorted(LEVEL_VARS)}")
        if self.category != "mixed" and self.category not in CATEGORIES:
            raise PuzzleConfigError(f"unknown sat category {self.category!r}; use mixed or {', '.join(CATEGORIES)}")
        if self.n_vars is not None and not 3 <= self.n_vars <= 16:
            raise PuzzleConfigError(
                f"n_vars must be between 3 and 16 (3 distinct variables per clause), not {self.n_vars}"
            )


def fmt_clause(clause: list[int], sep: str = " ") -> str:
    return "(" + sep.join(f"-x{-lit}" if lit < 0 else f"x{lit}" for lit in clause) + ")"


def count_solutions(n: int, clauses: list[list[int]]) -> int:
    """Exact model count over all 2^n assignments, using Python ints as bitsets (one bit per assignment)."""
    size = 1 << n
    full = (1 << size) - 1
    true_sets = []
    for i in range(n):  # assignments whose bit i is set, i.e. x(i+1)=True
        half = 1 << i
        block = ((1 << half) - 1) << half
        true_sets.append(block * (full // ((1 << (2 * half)) - 1)))
    falsified = 0
    for clause in clauses:
        f = full
        for lit in clause:
            t = true_sets[abs(lit) - 1]
            f &= (full ^ t) if lit > 0 else t
        falsified |= f
    return size - falsified.bit_count()


def _sample_formula(rng: random.Random, n: int, m: int) -> list[list[int]]:
    seen: set[tuple[int, ...]] = set()
    clauses = []
    while len(clauses) < m:
        clause = [v if rng.random() < 0.5 else -v for v in sorted(rng.sample(range(1, n + 1), 3))]
        if tuple(clause) not in seen:  # distinct clauses: a repeated clause adds nothing but length
            seen.add(tuple(clause))
            clauses.append(clause)
    return clauses


def generate_config(cfg: SatConfig) -> Instance:
    rng = random.Random(cfg.seed)
    n = cfg.n_vars if cfg.n_vars is not None else rng.choice(LEVEL_VARS[cfg.level])
    category = cfg.category if cfg.category != "mixed" else rng.choice(sorted(CATEGORIES))
    # only over-constrained may use every distinct clause (n=3, 4): all of them always make the formula unsat
    m = min(round(CATEGORIES[category] * n), comb(n, 3) * 8 - (category != "easy_over"))
    clauses = _sample_formula(rng, n, m)
    if category == "unique":
        for _ in range(MAX_UNIQUE_TRIES):
            if count_solutions(n, clauses) == 1:
                break
            clauses = _sample_formula(rng, n, m)
        else:
            raise PuzzleConfigError(f"no formula with exactly one solution found for n={n}, m={m}")
    solution, _ = dpll(n, clauses)
    lines = "\n".join(f"c{i}: {fmt_clause(c, ' OR ')}" for i, c in enumerate(clauses, 1))
    prompt = (
        f"Decide whether the following 3-CNF formula over the variables x1..x{n} can be made true, and if so "
        "give an assignment. Each clause is an OR of three literals; -xk means NOT xk. Every clause must be "
        "true.\n"
        f"{lines}\n"
        f"Give one value per variable, in the order x1..x{n}, in exactly this format:\n"
        "<final_answer>{'Solution': 'True, False, ...'}</final_answer>\n"
        "If no assignment makes every clause true, answer "
        "<final_answer>{'Solution': 'Unsatisfiable'}</final_answer>."
    )
    data = {
        "n_vars": n,
        "category": category,
        "ratio": round(m / n, 3),
        "clauses": clauses,
        "satisfiable": solution is not None,
        "n_solutions": count_solutions(n, clauses),
        "solution": solution,
    }
    return Instance("sat", cfg.level, cfg.seed, prompt, _answer(solution), data)


def generate(seed: int, level: int) -> Instance:
    return generate_config(SatConfig(seed=seed, level=level))


def _answer(solution: list[bool] | None) -> str:
    value = "Unsatisfiable" if solution is None else ", ".join(str(v) for v in solution)
    return "<final_answer>{'Solution': '" + value + "'}</final_answer>"


def dpll(n: int, clauses: list[list[int]]) -> tuple[list[bool] | None, list[str]]:
    """DPLL with unit propagation (lowest free variable first, True before False); returns (solution, log)."""
    log: list[str] = []

    def lit_val(lit: int, asg: dict[int, bool]) -> bool | None:
        v = asg.get(abs(lit))
        return None if v is None else v == (lit > 0)

    def propagate(asg: dict[int, bool]) -> bool:
        changed = True
        while changed:
            changed = False
            for i, c in enumerate(clauses, 1):
                vals = [lit_val(lit, asg) for lit in c]
                if True in vals:
                    continue
                free = [lit for lit, val in zip(c, vals) if val is None]
                if not free:
                    log.append(f"c{i} {fmt_clause(c)} conflict -> backtrack")
                    return False
                if len(free) == 1:
                    asg[abs(free[0])] = free[0] > 0
                    log.append(f"c{i} {fmt_clause(c)} unit -> x{abs(free[0])}={'T' if free[0] > 0 else 'F'}")
                    changed = True
                    break  # rescan from c1 so the order of steps is easy to follow
        return True

    def search(asg: dict[int, bool]) -> dict[int, bool] | None:
        if not propagate(asg):
            return None
        if all(any(lit_val(lit, asg) for lit in c) for c in clauses):
            return asg
        var = min(v for v in range(1, n + 1) if v not in asg)
        state = " ".join(f"x{v}={'T' if asg[v] else 'F'}" for v in sorted(asg))
        for value in (True, False):
            log.append(f"try x{var}={'T' if value else 'F'}" + (f" with {state}" if state else ""))
            found = search({**asg, var: value})
            if found is not None:
                return found
        return None

    found = search({})
    if found is None:
        log.append("every branch ends in a conflict -> Unsatisfiable")
        return None, log
    for v in range(1, n + 1):
        if v not in found:
            found[v] = True
            log.append(f"x{v} free -> T")
    return [found[v] for v in range(1, n + 1)], log


BRUTE_FORCE_UP_TO = 4  # traces try every assignment up to this many variables (16 lines), DPLL beyond


def first_false(clauses: list[list[int]], values: tuple[bool, ...]) -> int | None:
    """The 1-based index of the first clause that `values` (x1, x2, ...) makes false, or None."""
    return next(
        (i for i, c in enumerate(clauses, 1) if all(values[abs(lit) - 1] != (lit > 0) for lit in c)),
        None,
    )


def _word(values: tuple[bool, ...]) -> str:
    return "".join("T" if v else "F" for v in values)


def falsifying(n: int, clause: list[int]) -> list[tuple[bool, ...]]:
    """The assignments of x1..xn (True first) that make every literal of `clause` false."""
    return [
        values
        for values in product((True, False), repeat=n)
        if all(values[abs(lit) - 1] != (lit > 0) for lit in clause)
    ]


def _brute_force_lines(n: int, clauses: list[list[int]]) -> tuple[list[str], tuple[bool, ...] | None]:
    """Each clause with the assignments that make it false ("c4: (-x1 OR -x2 OR x3) false at TTF=c4"), then one line
    per assignment in order, True before False, with the first clause it falsifies ("TTF=c4 false"), up to the first
    assignment that falsifies none ("FTT=none, all true").

    A clause is false exactly when all its literals are: at one assignment of its three variables (two of four
    variables). Each step is then a copy of the token after a unique one, the look-up a small model learns first:
    the clause after its label "c4: " (both written as the prompt writes them, so that the label is one token of the
    tiny reasoner's tokenizer), and the clause after an assignment already listed ("TTF=c4"): the label sits right
    next to the assignment, so no search over the prompt's clauses is needed. The first satisfying assignment in
    this order is DPLL's (lowest variable first, True before False).
    """
    lines = [f"{n} vars, {len(clauses)} clauses. each clause is false at:"]
    for i, c in enumerate(clauses, 1):
        lines.append(
            f"c{i}: {fmt_clause(c, ' OR ')} false at " + " ".join(f"{_word(v)}=c{i}" for v in falsifying(n, c))
        )
    lines.append(f"try every assignment of x1..x{n}, True first:")
    for values in product((True, False), repeat=n):
        bad = first_false(clauses, values)
        if bad is None:
            return [*lines, f"{_word(values)}=none, all true"], values
        lines.append(f"{_word(values)}=c{bad} false")
    return [*lines, "no assignment works"], None


def trace(instance: Instance) -> str:
    n, clauses = instance.data["n_vars"], instance.data["clauses"]
    if n <= BRUTE_FORCE_UP_TO:
        lines, found = _brute_force_lines(n, clauses)
        solution = None if found is None else list(found)
    else:
        solution, log = dpll(n, clauses)
        lines = [f"{n} vars, {len(clauses)} clauses. DPLL with unit propagation."] + log
        if solution is not None:
            lines.append("check every clause:")
            for i, c in enumerate(clauses, 1):
                lit = next(lit for lit in c if solution[abs(lit) - 1] == (lit > 0))
                lines.append(f"c{i} {fmt_clause(c)} ok x{abs(lit)}={'T' if lit > 0 else 'F'}")
            lines.append("all clauses satisfied")
    value = "Unsatisfiable" if solution is None else ", ".join(str(v) for v in solution)
    return "\n".join(lines + [f"answer: {value}"])


def parse_solution(text: str) -> list[bool] | str | None:
    """A list of booleans, "Unsatisfiable", or None with nothing readable."""
    parsed = answer_dict(text)
    if parsed is None or "solution" not in parsed:
        return None
    value = parsed["solution"]
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    value = str(value).strip().strip("[]()").strip()
    if value.lower() in ("unsatisfiable", "unsat", "unsatisfiable."):
        return "Unsatisfiable"
    tokens = [re.sub(r"^x\d+\s*[=:]\s*", "", t.strip(), flags=re.IGNORECASE) for t in re.split(r"[,\s]+", value)]
    words = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}
    if not value or any(t.lower() not in words for t in tokens if t):
        return None
    return [words[t.lower()] for t in tokens if t]


def verify(instance: Instance, text: str) -> Verdict:
    """Score = fraction of clauses the assignment satisfies; 1/0 for an "Unsatisfiable" claim."""
    sol = parse_solution(text)
    if sol is None:
        return unparseable("no readable {'Solution': ...} in <final_answer> tags")
    n, clauses = instance.data["n_vars"], instance.data["clauses"]
    if sol == "Unsatisfiable":
        right = not instance.data["satisfiable"]
        detail = {"check": "no assignment satisfies every clause", "ok": right}
        if not right:
            detail["witness"] = ", ".join(str(v) for v in instance.data["solution"])
        reason = "correct: the formula is unsatisfiable" if right else "wrong: the formula is satisfiable"
        return Verdict(right, float(right), reason, "correct" if right else "wrong", "Unsatisfiable", [detail])
    extracted = ", ".join(str(v) for v in sol)
    if len(sol) != n:
        reason = f"wrong: {len(sol)} values given for {n} variables"
        check = {"check": "one value per variable", "ok": False, "given": len(sol), "expected": n}
        return Verdict(False, 0.0, reason, "wrong", extracted, [check])
    details = []
    for i, c in enumerate(clauses, 1):
        ok = any(sol[abs(lit) - 1] == (lit > 0) for lit in c)
        details.append({"check": f"c{i} {fmt_clause(c)}", "ok": ok})
    failed = [d["check"] for d in details if not d["ok"]]
    score = (len(clauses) - len(failed)) / len(clauses)
    if not failed:
        return Verdict(True, 1.0, "correct: every clause is satisfied", "correct", extracted, details)
    reason = f"wrong: {failed[0]} is false ({len(failed)} of {len(clauses)} clauses false)"
    return Verdict(False, score, reason, "wrong", extracted, details)


FAMILY = Family(
    name="sat",
    title="3SAT",
    description="Find an assignment that satisfies a random 3-CNF formula, or prove none exists (DPLL).",
    levels=LEVELS,
    generate=generate,
    verify=verify,
    trace=trace,
)
