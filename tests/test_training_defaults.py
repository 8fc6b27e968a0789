"""The Train tab's defaults fit the loaded model: the embedded tiny reasoner trains on its own four families (not on
Calendar and Math, which it never saw) with small-model hyperparameters; a general model trains on every family; the
before/after check lets every thought finish (unlimited thinking) on a family the run trained on."""

from __future__ import annotations

import pytest

from playground.evaluation.compare import CompareConfig, default_config
from playground.generation.engine import Engine
from playground.models.presets import TINY_REASONER_DIR
from playground.ui.state import AppState
from playground.ui.train import defaults_for
from training.sft_config import SFTConfig, model_defaults, save_config


@pytest.mark.skipif(not (TINY_REASONER_DIR / "config.json").exists(), reason="assets/tiny-reasoner not shipped")
def test_defaults_for_the_tiny_reasoner_use_only_its_families(tmp_path):
    engine = Engine()
    engine.load("tiny", device="cpu", offline=True)
    info = engine.describe()
    cfg = defaults_for(AppState(engine=engine))
    assert cfg.puzzle_families == info.families == ["sat", "maze", "tsp", "spatial_map"]
    assert "calendar" not in cfg.puzzle_families and "math" not in cfg.puzzle_families
    assert cfg.puzzle_levels == [1]
    assert cfg.learning_rate > SFTConfig().learning_rate and cfg.num_examples < SFTConfig().num_examples
    # the before/after check of such a run: its first family, every thought allowed to finish
    adapter = tmp_path / "run" / "adapter"
    adapter.mkdir(parents=True)
    save_config(cfg, tmp_path / "run" / "config.yaml")
    compare = default_config(adapter)
    assert (compare.family, compare.level, compare.think_budget) == ("sat", 1, None)


def test_defaults_for_a_general_model_cover_every_family():
    cfg = model_defaults(None, params=1_500_000_000)
    assert cfg.puzzle_families == []  # empty: all families
    assert cfg.learning_rate == SFTConfig().learning_rate and cfg.num_examples == SFTConfig().num_examples
    assert model_defaults(["maze", "no-such-family"], params=0).puzzle_families == ["maze"]
    assert CompareConfig().think_budget is None  # unlimited: a cut thought would hide any change
