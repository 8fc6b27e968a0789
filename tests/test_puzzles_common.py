"""Registry-wide invariants, one test parametrised over the families: every family imports, generates
deterministically (and differently per seed) at every level, rejects a bad level, verifies its own reference,
serialises to JSON, keeps level-1 traces short, and never raises on arbitrary text or on non-text."""

from __future__ import annotations

import importlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import puzzles
from playground.puzzles import FAMILY_MODULES, families, get_family
from playground.puzzles.base import Family, Instance, PuzzleConfigError

EXPECTED = {"sat", "tsp", "calendar", "maze", "spatial_map", "math"}
WRAPS = [
    "{}",
    "Final Answer: {}",
    "\\boxed{{{}}}",
    "<final_answer>{}</final_answer>",
    "<final_answer>{{'Solution': '{}'}}</final_answer>",
    "<think>{}</think>Final Answer: {}",
    "{}</think>{}",
    "<think>{}",
    "**Final Answer:** {}",
    "Final Answer:\n{}",
    "Final Answer: Monday {}",
    "<think>x</think>Final Answer: {}",
]


@pytest.mark.parametrize("module", FAMILY_MODULES)
def test_every_family_module_imports_with_a_family(module):
    fam = importlib.import_module(f"playground.puzzles.{module}").FAMILY
    assert isinstance(fam, Family)
    assert fam.levels and min(fam.levels) == 1 and fam.default_level in fam.levels
    assert sorted(fam.levels) == list(range(1, len(fam.levels) + 1))
    assert all(isinstance(d, str) and d for d in fam.levels.values())


def test_registry_lists_all_families():
    fams = families()
    assert set(fams) == EXPECTED
    assert all(get_family(name) is fam for name, fam in fams.items())


def _cases() -> list[tuple[str, int]]:
    return [(name, lvl) for name, fam in families().items() for lvl in sorted(fam.levels)]


@pytest.mark.parametrize(("name", "level"), _cases())
def test_generate_is_deterministic_and_verifies_its_reference(name, level):
    fam = get_family(name)
    a, b, c = fam.generate(0, level), fam.generate(0, level), fam.generate(1, level)
    assert isinstance(a, Instance) and (a.family, a.level, a.seed) == (name, level, 0)
    assert a.to_json() == b.to_json()
    assert a.to_json() != c.to_json()
    assert a.prompt and a.reference
    assert json.loads(json.dumps(a.to_json())) == a.to_json()  # plain JSON types only
    v = fam.verify(a, a.reference)
    assert v.correct and v.status == "correct" and v.score == 1.0, v.reason
    json.dumps(v.to_json())
    assert isinstance(fam.trace(a), str) and fam.trace(a)


@pytest.mark.parametrize(("name", "level"), _cases())
def test_seeds_give_different_puzzles(name, level):
    fam = get_family(name)
    assert len({fam.generate(seed, level).prompt for seed in range(5)}) == 5


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_level_one_traces_stay_short(name):
    """Level 1 is what a tiny model learns from: its traces must fit a small context."""
    fam = get_family(name)
    assert len(fam.trace(fam.generate(0, 1))) < 1500
    assert max(len(fam.trace(fam.generate(seed, 1))) for seed in range(30)) < 2000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verify_returns_unparseable_for_non_text(name):
    fam = get_family(name)
    for inst in _instances(name):
        for value in (None, 42, b"Final Answer: A", ["Final Answer: A"], {"Solution": "True"}):
            v = fam.verify(inst, value)
            assert v.status == "unparseable" and not v.correct and v.score == 0.0 and v.reason, (value, v)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registry_generate_matches_family(name):
    fam = get_family(name)
    assert puzzles.generate(name, fam.default_level, 3).to_json() == fam.generate(3, fam.default_level).to_json()


_INSTANCES: dict[str, list[Instance]] = {}


def _instances(name: str) -> list[Instance]:
    if name not in _INSTANCES:
        fam = get_family(name)
        _INSTANCES[name] = [fam.generate(5, lvl) for lvl in (min(fam.levels), fam.default_level)]
    return _INSTANCES[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200), wrap=st.sampled_from(WRAPS))
def test_verify_never_raises_on_arbitrary_text(name, text, wrap):
    fam = get_family(name)
    for inst in _instances(name):
        v = fam.verify(inst, wrap.format(text, text))
        assert v.status in ("correct", "wrong", "unparseable")
        assert 0.0 <= v.score <= 1.0
        assert v.correct == (v.status == "correct")
        if v.status == "unparseable":
            assert v.reason and v.extracted is None


def test_unknown_family_is_a_helpful_config_error():
    with pytest.raises(PuzzleConfigError, match="unknown puzzle family 'nope'") as err:
        get_family("nope")
    for name in EXPECTED:
        assert name in str(err.value)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_level_is_a_helpful_config_error(name):
    fam = get_family(name)
    with pytest.raises(PuzzleConfigError, match="choose one of") as err:
        puzzles.generate(name, 99, 0)
    assert str(sorted(fam.levels)) in str(err.value)
    with pytest.raises(PuzzleConfigError):
        fam.check_level(0)
    for level in (0, max(fam.levels) + 1):  # the family's own generate(seed, level) checks too
        with pytest.raises(PuzzleConfigError, match="choose one of"):
            fam.generate(0, level)
