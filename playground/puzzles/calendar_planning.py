"""BA-Calendar style meeting scheduling: find a common slot in participants' calendars under constraints.

Semantics (documented because the original scorer is inconsistent about them):
- a slot is `Day HH:MM-HH:MM`; its length must equal the meeting duration;
- every participant must be free over the meeting, and over the meeting widened by the buffer on both
  sides (a participant's adjacent availability intervals count as one free stretch);
- hour limits and blocked times apply to the meeting itself, not to its buffers; the end may touch a limit;
- a high-priority meeting must be the earliest feasible slot (days in week order, then start time, on the
  5-minute grid);
- the start must lie on the 5-minute grid the prompt announces ("13:14" is rejected, whatever else holds);
- the answer is the line after the last "Final Answer:" (`base.final_answer`): one slot or "No common time slot
  available"; a line with two slots, or a slot and "no common time slot", is unparseable.
All instance times, durations and buffers are multiples of 5 minutes, so whenever any slot is feasible a slot
on the 5-minute grid is too: "No common time slot available" is right exactly when the grid sweep finds none.
Difficulty is reported as constrainedness = 1 - feasible grid slots / all grid slots in the 08:00-18:00 frame.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from playground.puzzles.base import Family, Instance, PuzzleConfigError, Verdict, final_answer, unparseable

WEEK = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEEKEND = {"Saturday", "Sunday"}
GRID = 5
FRAME = (8 * 60, 18 * 60)  # availability is generated inside working hours; "all slots" are counted here
NO_SLOT = "No common time slot available"
NAMES = ["Alice", "Bob", "Carol", "Dan", "Eve", "Frank", "Grace", "Hugo", "Ivy", "Jack"]
EXTRAS = ["buffer", "hours", "blocked", "priority", "weekends"]

# level: (participants, days, min extra constraints, max extra constraints, durations, availability step)
_LEVELS: dict[int, tuple[int, int, int, int, tuple[int, ...], int]] = {
    1: (2, 2, 0, 1, (30, 60), 30),
    2: (3, 3, 1, 2, (30, 45, 60), 15),
    3: (4, 5, 2, 3, (15, 30, 45, 60, 90), 15),
    4: (5, 7, 3, 4, (15, 30, 45, 60, 90), 5),
    5: (7, 7, 4, 5, (15, 30, 45, 60, 90, 120), 5),
}
LEVELS: dict[int, str] = {
    1: "2 participants, 2 days, 1-2 constraints (duration + at most one rule)",
    2: "3 participants, 3 days, 2-3 constraints",
    3: "4 participants, Monday-Friday, 3-4 constraints",
    4: "5 participants, full week incl. weekend, 4-5 constraints, 5-minute edges",
    5: "7 participants, full week, 5-6 constraints (paper-scale BA-Calendar)",
}


@dataclass
class CalendarConfig:
    """Sizes of one calendar instance; `for_level` fills them from LEVELS."""

    seed: int = 0
    level: int = 1
    n_participants: int = 2
    n_days: int = 2
    min_extras: int = 0  # extra constraints besides the duration
    max_extras: int = 1
    durations: tuple[int, ...] = (30, 60)
    step: int = 30  # availability edges lie on this grid (minutes)
    p_unsolvable: float = 0.15  # share of instances aimed at having no common slot

    @classmethod
    def for_level(cls, seed: int, level: int) -> CalendarConfig:
        if level not in _LEVELS:
            raise PuzzleConfigError(f"calendar has no level {level}; choose one of {sorted(_LEVELS)}")
        p, d, lo, hi, durs, step = _LEVELS[level]
        return cls(seed, level, p, d, lo, hi, durs, step)

    def validate(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise PuzzleConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not 2 <= self.n_participants <= len(NAMES):
            raise PuzzleConfigError(f"n_participants must be 2..{len(NAMES)}, got {self.n_participants}")
        if not 1 <= self.n_days <= 7:
            raise PuzzleConfigError(f"n_days must be 1..7 (Monday onwards), got {self.n_days}")
        if not 0 <= self.min_extras <= self.max_extras <= len(EXTRAS):
            raise PuzzleConfigError(f"need 0 <= min_extras <= max_extras <= {len(EXTRAS)}")
        if not self.durations or any(d <= 0 or d % GRID or d > 240 for d in self.durations):
            raise PuzzleConfigError("durations must be positive multiples of 5 minutes, at most 240")
        if self.step <= 0 or self.step % GRID or 60 % self.step:
            raise PuzzleConfigError("step must be a multiple of 5 that divides 60 (5, 10, 15, 20, 30, 60)")
        if not 0.0 <= self.p_unsolvable <= 1.0:
            raise PuzzleConfigError(f"p_unsolvable must be in [0, 1], got {self.p_unsolvable}")


def hm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def to_minutes(s: str) -> int:
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def parse_span(s: str) -> tuple[int, int]:
    a, b = s.split("-")
    return to_minutes(a), to_minutes(b)


def _merge(iv: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(iv):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        elif a < b:
            out.append((a, b))
    return out


def free_intervals(data: dict[str, Any], name: str, day: str) -> list[tuple[int, int]]:
    return _merge([parse_span(s) for s in data["availability"][name].get(day, [])])


def _covers(iv: list[tuple[int, int]], a: int, b: int) -> bool:
    return any(x <= a and b <= y for x, y in iv)


def slot_checks(data: dict[str, Any], day: str, s: int, e: int) -> list[dict[str, Any]]:
    """Every applicable constraint (except the earliest-slot rule) checked for the meeting day s-e, the 5-minute grid
    of start times first."""
    c = data["constraints"]
    people = list(data["availability"])
    busy = [p for p in people if not _covers(free_intervals(data, p, day), s, e)]
    checks = [
        {"check": "grid", "ok": s % GRID == 0, "start": hm(s), "grid_minutes": GRID},
        {"check": "duration", "ok": e - s == c["duration"], "given": e - s, "expected": c["duration"]},
        {"check": "availability", "ok": not busy, "unavailable": busy},
    ]
    if c["buffer"]:
        b = c["buffer"]
        short = [p for p in people if not _covers(free_intervals(data, p, day), s - b, e + b)]
        checks.append({"check": "buffer", "ok": not short, "minutes": b, "violated_by": short})
    if c["no_weekends"]:
        checks.append({"check": "weekend", "ok": day not in WEEKEND, "day": day})
    if c["no_before"] or c["no_after"]:
        ok = (not c["no_before"] or s >= to_minutes(c["no_before"])) and (
            not c["no_after"] or e <= to_minutes(c["no_after"])
        )
        checks.append({"check": "hours", "ok": ok, "no_before": c["no_before"], "no_after": c["no_after"]})
    if c["blocked"]:
        bs, be = parse_span(c["blocked"])
        checks.append({"check": "blocked", "ok": e <= bs or s >= be, "blocked": c["blocked"]})
    return checks


def _limits(c: dict[str, Any]) -> tuple[int, int, tuple[int, int] | None]:
    lo = to_minutes(c["no_before"]) if c["no_before"] else 0
    hi = to_minutes(c["no_after"]) if c["no_after"] else 24 * 60
    return lo, hi, parse_span(c["blocked"]) if c["blocked"] else None


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(max(x, u), min(y, v)) for x, y in a for u, v in b if max(x, u) < min(y, v)]


def _grid_slots(data: dict[str, Any]) -> tuple[list[tuple[str, int]], int]:
    """All feasible (day, start) on the 5-minute grid in week order, and the number of grid slots in FRAME."""
    c = data["constraints"]
    d, b = c["duration"], c["buffer"]
    lo0, hi0, blk = _limits(c)
    ok = []
    for day in data["days"]:
        if c["no_weekends"] and day in WEEKEND:
            continue
        common = [(0, 24 * 60)]
        for p in data["availability"]:
            common = _intersect(common, free_intervals(data, p, day))
        for x, y in common:
            for s in range(-(-max(x + b, lo0) // GRID) * GRID, min(y - b, hi0) - d + 1, GRID):
                if not (blk and s < blk[1] and s + d > blk[0]):
                    ok.append((day, s))
    return ok, len(range(FRAME[0], FRAME[1] - c["duration"] + 1, GRID)) * len(data["days"])


def _sweep(data: dict[str, Any]) -> tuple[list[str], str | None]:
    """The solver: per day intersect availabilities, then take the earliest start in each window. Returns the
    trace lines and the first feasible slot (None if there is none)."""
    c = data["constraints"]
    d, b = c["duration"], c["buffer"]
    lo0, hi0, blk = _limits(c)
    lines = [f"need {d} min" + (f" + buffer {b} each side = {d + 2 * b} min free" if b else " free")]
    rules = ["weekends off"] if c["no_weekends"] else []
    rules += [f"hours {hm(lo0)}-{hm(hi0)}"] if c["no_before"] or c["no_after"] else []
    rules += [f"blocked {c['blocked']}"] if blk else []
    rules += ["high priority: earliest"] if c["high_priority"] else []
    lines.append("rules: " + ("; ".join(rules) if rules else "none"))
    fmt = lambda iv: " ".join(f"{hm(x)}-{hm(y)}" for x, y in iv) or "none"
    for day in data["days"]:
        if c["no_weekends"] and day in WEEKEND:
            lines.append(f"{day}: weekend, skip")
            continue
        lines.append(f"{day}:")
        people = list(data["availability"])
        common = free_intervals(data, people[0], day)
        lines.append(f" {people[0]}: {fmt(common)}")
        for p in people[1:]:
            mine = free_intervals(data, p, day)
            common = _intersect(common, mine)
            lines.append(f" & {p}: {fmt(mine)} -> {fmt(common)}")
        for x, y in common:
            lo, hi = max(x + b, lo0), min(y - b, hi0)
            lo = -(-lo // GRID) * GRID
            note = f" {hm(x)}-{hm(y)}: start >= {hm(lo)}, end <= {hm(hi)};"
            if blk and lo < blk[1] and lo + d > blk[0]:
                note += f" {hm(lo)}-{hm(lo + d)} hits blocked ->"
                lo = blk[1]
            if lo + d <= hi:
                slot = f"{day} {hm(lo)}-{hm(lo + d)}"
                lines += [note + f" {hm(lo)}-{hm(lo + d)} ok", f"first slot {slot}", f"Final Answer: {slot}"]
                return lines, slot
            lines.append(note + f" {hm(lo)}-{hm(lo + d)} no")
        if not common:
            lines.append(" no common time")
    lines += ["no slot on any day", f"Final Answer: {NO_SLOT}"]
    return lines, None


def _availability(rng: random.Random, cfg: CalendarConfig, day: str) -> list[tuple[int, int]]:
    """Working hours minus a few busy meetings, edges on the config's step."""
    if day in WEEKEND and rng.random() < 0.6:
        return []
    ws = rng.randrange(FRAME[0], FRAME[0] + 121, 30)
    we = rng.randrange(FRAME[1] - 120, FRAME[1] + 1, 30)
    free = [(ws, we)]
    for _ in range(rng.randint(1, 3)):
        bs = rng.randrange(ws, we, cfg.step)
        busy = (bs, bs + rng.choice([30, 45, 60, 90, 120]) // cfg.step * cfg.step or cfg.step)
        free = [p for x, y in free for p in ((x, min(y, busy[0])), (max(x, busy[1]), y)) if p[0] < p[1]]
    return free


def _draw(rng: random.Random, cfg: CalendarConfig) -> dict[str, Any]:
    days = WEEK[: cfg.n_days]
    people = rng.sample(NAMES, cfg.n_participants)
    pool = [x for x in EXTRAS if x != "weekends" or cfg.n_days > 5]
    extras = rng.sample(pool, rng.randint(min(cfg.min_extras, len(pool)), min(cfg.max_extras, len(pool))))
    bh = rng.randint(11, 14) * 60 + rng.choice([0, 30])
    constraints = {
        "duration": rng.choice(cfg.durations),
        "buffer": rng.choice([5, 10, 15]) if "buffer" in extras else 0,
        "no_weekends": "weekends" in extras,
        "no_before": hm(rng.randint(9, 10) * 60) if "hours" in extras else None,
        "no_after": hm(rng.randint(15, 17) * 60) if "hours" in extras else None,
        "blocked": f"{hm(bh)}-{hm(bh + rng.choice([30, 60, 90]))}" if "blocked" in extras else None,
        "high_priority": "priority" in extras,
    }
    avail = {p: {day: [f"{hm(a)}-{hm(b)}" for a, b in _availability(rng, cfg, day)] for day in days} for p in people}
    return {"days": days, "availability": avail, "constraints": constraints, "granularity": GRID}


def _spoil(rng: random.Random, data: dict[str, Any], feasible: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Make an instance aimed at 'no slot' have none: book a random participant over a random feasible slot
    (widened by half an hour each side) until nothing feasible is left."""
    d = data["constraints"]["duration"]
    while feasible:
        day, s = rng.choice(feasible)
        who = rng.choice(list(data["availability"]))
        cut = (s - 30, s + d + 30)
        pieces = [((x, min(y, cut[0])), (max(x, cut[1]), y)) for x, y in free_intervals(data, who, day)]
        left = [p for pair in pieces for p in pair if p[0] < p[1]]
        data["availability"][who][day] = [f"{hm(a)}-{hm(b)}" for a, b in left]
        feasible = _grid_slots(data)[0]
    return feasible


def generate_config(cfg: CalendarConfig) -> Instance:
    cfg.validate()
    rng = random.Random(cfg.seed)
    want_slot = rng.random() >= cfg.p_unsolvable
    for _ in range(12):  # rejection sampling towards a solvable instance; bounded, deterministic
        data = _draw(rng, cfg)
        feasible, total = _grid_slots(data)
        if feasible or not want_slot:
            break
    if not want_slot:
        feasible = _spoil(rng, data, feasible)
    lines, slot = _sweep(data)
    data.update(
        solution=slot,
        feasible_slots=len(feasible),
        all_slots=total,
        constrainedness=round(1 - len(feasible) / total, 4),
    )
    return Instance("calendar", cfg.level, cfg.seed, _prompt(data), f"Final Answer: {slot or NO_SLOT}", data)


def generate(seed: int, level: int) -> Instance:
    return generate_config(CalendarConfig.for_level(seed, level))


def _prompt(data: dict[str, Any]) -> str:
    c = data["constraints"]
    rows = []
    for p, sched in data["availability"].items():
        rows.append(f"- {p}: " + "; ".join(f"{d} {', '.join(v) or 'unavailable'}" for d, v in sched.items()))
    rules = [f"- Meeting duration: {c['duration']} minutes"]
    if c["buffer"]:
        rules.append(f"- Buffer time before and after the meeting: {c['buffer']} minutes")
    if c["no_weekends"]:
        rules.append("- No meetings on weekends")
    if c["no_before"]:
        rules.append(f"- No meetings before {c['no_before']}")
    if c["no_after"]:
        rules.append(f"- No meetings after {c['no_after']} (the meeting must end by then)")
    if c["blocked"]:
        rules.append(f"- No meetings during {c['blocked']}")
    if c["high_priority"]:
        rules.append("- High priority meeting: schedule it at the earliest possible time")
    return (
        "You are a scheduling assistant. Given the participants' availability and the constraints, find a "
        "common time slot for one meeting.\nBuffer time is free time every participant needs right before "
        "and right after the meeting (with a 15 minute buffer, a 9:00-10:00 meeting needs availability "
        "8:45-10:15).\n"
        f"Days: {', '.join(data['days'])}\nAvailability:\n"
        + "\n".join(rows)
        + "\nConstraints:\n"
        + "\n".join(rules)
        + "\nStart times are on a 5-minute grid.\n"
        'Give the slot as "[day] [start_time]-[end_time]" or "No common time slot available", '
        "on a last line:\n"
        "Final Answer: <answer>"
    )


_SLOT = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b\W{0,4}(\d{1,2}):(\d{2})\s*"
    r"(?:-|\u2013|\u2014|to)\s*(\d{1,2}):(\d{2})",
    re.IGNORECASE,
)
_NO_SLOT = re.compile(r"no\s+common\s+time\s+slot", re.IGNORECASE)


def parse_answer(text: str) -> tuple[str, int, int] | str:
    """(day, start, end), NO_SLOT, or an error string starting with '!' when unreadable."""
    line = final_answer(text)
    if line is None:
        return "!no 'Final Answer:' line found"
    slots = {(m.group(1).capitalize(), *(int(g) for g in m.groups()[1:])) for m in _SLOT.finditer(line)}
    no_slot = _NO_SLOT.search(line) is not None
    if len(slots) > 1 or (slots and no_slot):
        return "!more than one answer after 'Final Answer:'"
    if no_slot:
        return NO_SLOT
    if not slots:
        return "!no 'Day HH:MM-HH:MM' slot after 'Final Answer:'"
    day, h1, m1, h2, m2 = slots.pop()
    if max(m1, m2) > 59 or max(h1 * 60 + m1, h2 * 60 + m2) > 24 * 60:
        return "!time out of range"
    return day, h1 * 60 + m1, h2 * 60 + m2


def verify(instance: Instance, text: str) -> Verdict:
    """All applicable constraints checked; score = fraction passed; correct iff all pass."""
    try:
        parsed = parse_answer(text)
    except Exception as exc:  # a verifier never raises
        return unparseable(f"could not read the answer: {exc}")
    if parsed != NO_SLOT and isinstance(parsed, str):
        return unparseable(parsed[1:])
    data = instance.data
    ref = data["solution"]
    if parsed == NO_SLOT:
        ok = ref is None
        detail = {"check": "no common slot exists", "ok": ok, "earliest_feasible": ref}
        why = "no feasible slot exists" if ok else f"a feasible slot exists, e.g. {ref}"
        return Verdict(ok, float(ok), why, "correct" if ok else "wrong", NO_SLOT, [detail])
    day, s, e = parsed
    checks = slot_checks(data, day, s, e)  # a day outside the instance fails availability
    if data["constraints"]["high_priority"]:
        given = f"{day} {hm(s)}-{hm(e)}"
        checks.append({"check": "earliest", "ok": given == ref, "given": given, "earliest": ref})
    passed = sum(c["ok"] for c in checks)
    ok = passed == len(checks)
    failed = [c["check"] for c in checks if not c["ok"]]
    why = "all constraints pass" if ok else f"fails {', '.join(failed)}"
    if "grid" in failed:
        why += f": the start {hm(s)} is not on the {GRID}-minute grid the prompt announces"
    if ref is None and not ok:
        why += "; in fact no feasible slot exists"
    return Verdict(ok, passed / len(checks), why, "correct" if ok else "wrong", f"{day} {hm(s)}-{hm(e)}", checks)


def trace(instance: Instance) -> str:
    return "\n".join(_sweep(instance.data)[0])


FAMILY = Family(
    name="calendar",
    title="Calendar planning (BA-Calendar)",
    description="Find a meeting slot that fits everyone's availability and the constraints.",
    levels=LEVELS,
    generate=generate,
    verify=verify,
    trace=trace,
)
