"""Calendar family: generation, the sweep solver cross-checked by a minute-level brute force, verdicts."""

from __future__ import annotations

import copy
import json

import pytest

from playground.puzzles import calendar_planning as cal
from playground.puzzles.base import Instance, PuzzleConfigError
from playground.puzzles.calendar_planning import CalendarConfig, generate, verify

LEVELS = sorted(cal.LEVELS)


def brute_force(data: dict) -> list[tuple[str, int]]:
    """Every feasible (day, start minute) of the week, minute by minute; no code shared with the module."""

    def mins(t: str) -> int:
        return int(t[:2]) * 60 + int(t[3:5])

    c = data["constraints"]
    dur, buf = c["duration"], c["buffer"] or 0
    out = []
    for day in data["days"]:
        if c["no_weekends"] and day in ("Saturday", "Sunday"):
            continue
        free_all = [True] * 1440
        for sched in data["availability"].values():
            mine = [False] * 1440
            for block in sched.get(day, []):
                a, b = block.split("-")
                for m in range(mins(a), mins(b)):
                    mine[m] = True
            free_all = [x and y for x, y in zip(free_all, mine)]
        for s in range(1440):
            e = s + dur
            if s - buf < 0 or e + buf > 1440 or not all(free_all[s - buf : e + buf]):
                continue
            if c["no_before"] and s < mins(c["no_before"]):
                continue
            if c["no_after"] and e > mins(c["no_after"]):
                continue
            if c["blocked"] and s < mins(c["blocked"][6:]) and e > mins(c["blocked"][:5]):
                continue
            out.append((day, s))
    return out


def fmt(day: str, s: int, dur: int) -> str:
    return f"{day} {s // 60:02d}:{s % 60:02d}-{(s + dur) // 60:02d}:{(s + dur) % 60:02d}"


def hand(
    avail: dict,
    duration: int = 30,
    buffer: int = 10,
    priority: bool = True,
    solution: str | None = None,
    days: tuple[str, ...] = ("Monday", "Tuesday"),
    **rules,
) -> Instance:
    constraints = {
        "duration": duration,
        "buffer": buffer,
        "no_weekends": False,
        "no_before": "09:00",
        "no_after": "17:00",
        "blocked": "12:00-13:00",
        "high_priority": priority,
    }
    constraints.update(rules)
    data = {
        "days": list(days),
        "availability": avail,
        "constraints": constraints,
        "granularity": 5,
        "solution": solution,
    }
    return Instance("calendar", 1, 0, "", f"Final Answer: {solution or cal.NO_SLOT}", data)


AVAIL = {
    "Alice": {"Monday": ["09:00-12:00"], "Tuesday": ["10:00-11:00"]},
    "Bob": {"Monday": ["10:00-11:00", "13:00-15:00"], "Tuesday": ["09:00-12:00"]},
}
# Worked by hand: common Monday 10:00-11:00; a 10 min buffer leaves 10:10..10:50 for it -> 10:10-10:40.
HIGH = hand(AVAIL, solution="Monday 10:10-10:40")
# A 45-minute meeting plus 2x10 buffer needs 65 free minutes: no common stretch is that long.
NONE = hand(AVAIL, duration=45, solution=None)
WEEKEND = hand(
    {
        "Alice": {"Saturday": ["09:00-12:00"], "Monday": ["14:00-15:00"]},
        "Bob": {"Saturday": ["09:00-12:00"], "Monday": ["14:00-16:00"]},
    },
    days=("Saturday", "Monday"),
    buffer=0,
    priority=False,
    no_weekends=True,
    solution="Monday 14:00-14:30",
)
# Blocked 10:30-11:00 pushes a 30-minute meeting in 10:00-12:00 to 11:00 (no buffer, no priority).
BLOCKED = hand(
    {"Alice": {"Monday": ["10:20-12:00"]}, "Bob": {"Monday": ["10:00-12:00"]}},
    buffer=0,
    priority=False,
    blocked="10:30-11:00",
    days=("Monday",),
    solution="Monday 11:00-11:30",
)

TABLE = [
    (HIGH, "Final Answer: Monday 10:10-10:40", "correct", []),
    (HIGH, "Reason: both free 10:00-11:00.\n**Final Answer:** Monday 10:10 - 10:40", "correct", []),
    (HIGH, "final answer: monday 10:10\u201310:40.", "correct", []),
    (HIGH, "Final Answer:\nMonday 10:10-10:40", "correct", []),
    (
        HIGH,
        "<think>Final Answer: Tuesday 10:10-10:40</think>\nFinal Answer: Monday 10:10-10:40",
        "correct",
        [],
    ),
    (HIGH, "I guess Tuesday 10:10-10:40 </think> Final Answer: Monday 10:10-10:40", "correct", []),
    (HIGH, "Final Answer: Tuesday 10:10-10:40\nWait.\nFinal Answer: Monday 10:10-10:40", "correct", []),
    (
        HIGH,
        "Final Answer: Monday 10:10-10:40\nWait.\nFinal Answer: Tuesday 10:10-10:40",
        "wrong",
        ["earliest"],
    ),
    (HIGH, "Final Answer: Monday 10:15-10:45", "wrong", ["earliest"]),
    (HIGH, "Final Answer: Monday 10:11-10:41", "wrong", ["grid", "earliest"]),  # feasible, but off the grid
    (WEEKEND, "Final Answer: Monday 14:01-14:31", "wrong", ["grid"]),
    (HIGH, "Final Answer: Monday 10:10-10:40 or Tuesday 10:10-10:40", "unparseable", []),
    (HIGH, "Final Answer: Monday 10:10-10:40, else no common time slot available", "unparseable", []),
    (HIGH, "Final Answer: Monday 10:00-10:30", "wrong", ["buffer", "earliest"]),
    (HIGH, "Final Answer: Monday 10:10-10:50", "wrong", ["duration", "earliest"]),
    (HIGH, "Final Answer: Monday 12:30-13:00", "wrong", ["availability", "buffer", "blocked", "earliest"]),
    (
        HIGH,
        "Final Answer: Monday 13:00-13:30",
        "wrong",
        ["availability", "buffer", "earliest"],
    ),  # touching is ok
    (HIGH, "Final Answer: Monday 8:30-9:00", "wrong", ["availability", "buffer", "hours", "earliest"]),
    (HIGH, "Final Answer: Friday 10:10-10:40", "wrong", ["availability", "buffer", "earliest"]),
    (HIGH, "Final Answer: No common time slot available", "wrong", ["no common slot exists"]),
    (HIGH, "Monday 10:10-10:40", "unparseable", []),
    (HIGH, "Final Answer: sometime on Monday", "unparseable", []),
    (HIGH, "Final Answer: Monday 25:00-25:30", "unparseable", []),
    (HIGH, "<think>never closed. Final Answer: Monday 10:10-10:40", "unparseable", []),
    (HIGH, "Final Answer: {'slot': ]]garbage", "unparseable", []),
    (NONE, "Final Answer: No common time slot available", "correct", []),
    (NONE, "Final Answer: no common time slot available.", "correct", []),
    (NONE, "Final Answer: Monday 10:10-10:55", "wrong", ["buffer", "earliest"]),
    (WEEKEND, "Final Answer: Monday 14:00-14:30", "correct", []),
    (WEEKEND, "Final Answer: Monday 14:20-14:50", "correct", []),  # not high priority: any feasible slot
    (WEEKEND, "Final Answer: Saturday 09:00-09:30", "wrong", ["weekend"]),
    (BLOCKED, "Final Answer: Monday 11:00-11:30", "correct", []),
    (BLOCKED, "Final Answer: Monday 10:20-10:50", "wrong", ["blocked"]),
]


@pytest.mark.parametrize(("inst", "text", "status", "failed"), TABLE)
def test_answer_table(inst, text, status, failed):
    v = verify(inst, text)
    assert v.status == status, (text, v)
    assert v.correct == (status == "correct")
    assert [d["check"] for d in v.details if not d["ok"]] == failed
    if status == "unparseable":
        assert v.reason and v.extracted is None and v.score == 0.0


def test_hand_instances_match_solver_and_brute_force():
    for inst in (HIGH, NONE, WEEKEND, BLOCKED):
        assert cal._sweep(inst.data)[1] == inst.data["solution"]
        found = brute_force(inst.data)
        first = fmt(*found[0], inst.data["constraints"]["duration"]) if found else None
        assert first == inst.data["solution"]


def test_score_is_fraction_of_constraints_passed():
    v = verify(HIGH, "Final Answer: Tuesday 10:10-10:40")  # every rule passes except earliest-slot
    assert [d["check"] for d in v.details] == [
        "grid",
        "duration",
        "availability",
        "buffer",
        "hours",
        "blocked",
        "earliest",
    ]
    assert v.score == pytest.approx(6 / 7) and not v.correct
    assert v.extracted == "Tuesday 10:10-10:40"
    assert verify(HIGH, "Final Answer: monday 10:10 to 10:40").extracted == "Monday 10:10-10:40"  # normalised


@pytest.mark.parametrize("level", LEVELS)
def test_solver_agrees_with_minute_brute_force(level):
    for seed in range(10):
        inst = generate(seed, level)
        data = inst.data
        found = brute_force(data)
        found_set = set(found)
        dur = data["constraints"]["duration"]
        # the earliest feasible minute is on the 5-minute grid, and it is the reference
        assert (fmt(*found[0], dur) if found else None) == data["solution"]
        grid = [(d, s) for d, s in found if s % 5 == 0 and 8 * 60 <= s and s + dur <= 18 * 60]
        assert data["feasible_slots"] == len(grid)
        assert data["constrainedness"] == pytest.approx(1 - len(grid) / data["all_slots"], abs=1e-4)
        for day, s in found[:: max(1, len(found) // 5)]:  # feasible per brute force -> passes all but the grid
            v = verify(inst, f"Final Answer: {fmt(day, s, dur)}")
            failed = {d["check"] for d in v.details if not d["ok"]} - {"earliest"}
            assert failed == ({"grid"} if s % 5 else set()), (day, s, v.reason)
            if s % 5:
                assert not v.correct and "not on the 5-minute grid" in v.reason
        if data["solution"]:
            day, s = found[0]
            late = [x for x in range(s - 60, s) if (day, x) not in found_set and x % 5 == 0]
            for x in late[:3]:  # infeasible per brute force -> fails some slot check
                assert not verify(inst, f"Final Answer: {fmt(day, x, dur)}").correct


@pytest.mark.parametrize("level", LEVELS)
def test_reference_passes_and_trace_concludes_it(level):
    for seed in range(15):
        inst = generate(seed, level)
        v = verify(inst, inst.reference)
        assert v.correct and v.score == 1.0 and v.status == "correct"
        tr = cal.trace(inst)
        assert tr.splitlines()[-1] == inst.reference
        assert tr.isascii()
        assert verify(inst, tr).correct  # following the trace lands on the reference
        sol_day = (inst.data["solution"] or inst.data["days"][-1]).split()[0]
        for day in inst.data["days"][: inst.data["days"].index(sol_day) + 1]:  # swept day by day, in order
            assert f"\n{day}:" in tr
        json.dumps(inst.to_json())


def test_some_instances_have_no_slot_and_say_so():
    none = [generate(s, 1) for s in range(60) if generate(s, 1).data["solution"] is None]
    assert none, "level 1 should include 'no slot' instances"
    for inst in none[:3]:
        assert inst.reference == f"Final Answer: {cal.NO_SLOT}"
        assert not brute_force(inst.data)
        assert verify(inst, inst.reference).correct


def test_generate_config_matches_generate():
    assert cal.generate_config(CalendarConfig.for_level(3, 2)).to_json() == generate(3, 2).to_json()


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"n_participants": 1}, "n_participants"),
        ({"n_days": 8}, "n_days"),
        ({"durations": (7,)}, "durations"),
        ({"min_extras": 3, "max_extras": 1}, "min_extras"),
        ({"step": 7}, "step"),
        ({"p_unsolvable": 2.0}, "p_unsolvable"),
        ({"seed": -1}, "seed"),
    ],
)
def test_config_validation(kwargs, msg):
    with pytest.raises(PuzzleConfigError, match=msg):
        cal.generate_config(CalendarConfig(**kwargs))


def test_verify_does_not_mutate_instance():
    inst = generate(4, 3)
    before = copy.deepcopy(inst.to_json())
    verify(inst, "Final Answer: Monday 09:00-09:30")
    assert inst.to_json() == before
