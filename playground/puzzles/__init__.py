"""Registry of puzzle families. A new family is one new module listed in FAMILY_MODULES with a `FAMILY` object.

Two generate functions with different argument orders, both positional:
    puzzles.generate(family, level, seed)     the registry's: family name first, validates the level
    get_family(name).generate(seed, level)    each family's own (and `<module>.generate(seed, level)`): seed first
"""

from __future__ import annotations

import importlib

from playground.puzzles.base import Family, Instance, PuzzleConfigError, Verdict, final_answer, strip_thinking

FAMILY_MODULES = ["sat", "tsp", "calendar_planning", "maze", "spatial_map", "math_problems"]

_cache: dict[str, Family] = {}


def families() -> dict[str, Family]:
    """All families by name, in display order (imported on first use, not at import time)."""
    if not _cache:
        loaded = {}
        for module in FAMILY_MODULES:  # fill the cache only when every module imported
            fam = importlib.import_module(f"playground.puzzles.{module}").FAMILY
            loaded[fam.name] = fam
        _cache.update(loaded)
    return dict(_cache)


def get_family(name: str) -> Family:
    """The family called `name`, or a PuzzleConfigError listing the known ones."""
    fams = families()
    if name not in fams:
        raise PuzzleConfigError(f"unknown puzzle family {name!r}; choose one of {', '.join(fams)}")
    return fams[name]


def generate(family: str, level: int, seed: int) -> Instance:
    """Generate one instance of `family` at `level` from `seed` (validated).

    Note the order: (family, level, seed) here, while a family's own generate takes (seed, level).
    """
    fam = get_family(family)
    fam.check_level(level)
    return fam.generate(seed, level)


__all__ = [
    "Family",
    "Instance",
    "PuzzleConfigError",
    "Verdict",
    "families",
    "final_answer",
    "generate",
    "get_family",
    "strip_thinking",
]
