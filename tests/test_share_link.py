"""Share links: a tab's settings survive the trip through a URL, and a bad link opens with what it could use."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from playground.puzzles import families
from playground.ui.share_link import PARAMS, TABS, link_query, read_link, split_budgets
from playground.ui.widgets import ANSWER_MAX, SEED_MAX, THINK_MAX


def _query(link: str) -> dict[str, str]:
    assert link.startswith("?")
    return dict(parse_qsl(link[1:]))


def test_the_issue_example_opens_the_race_it_names():
    view = read_link(_query("?tab=puzzles&family=maze&level=2&seed=7&a_budget=0&b_budget=unlimited"))
    assert view.tab == "puzzles" and not view.ignored and view.note == ""
    assert view.values["puzzles"] == {
        "family": "maze",
        "level": 2,
        "seed": 7,
        "a_think_budget": 0,
        "b_think_budget": THINK_MAX,  # the slider's last stop is unlimited
    }


def test_no_tab_means_no_shared_view():
    view = read_link({})
    assert view.tab is None and view.values == {} and view.note == ""
    assert read_link({"family": "maze"}).tab is None


def test_bad_settings_are_left_out_and_named():
    view = read_link(
        {
            "tab": "puzzles",
            "family": "maze",
            "level": "99",
            "seed": "x",
            "a_budget": "-5",
            "b_mode": "sideways",
            "colour": "red",
            "a_temperature": "nan",
        }
    )
    assert view.values["puzzles"] == {"family": "maze"}
    note = view.note
    for fragment in ("level=99", "Maze has levels 1–", "seed=x", "a_budget=-5", "b_mode=sideways", "colour", "nan"):
        assert fragment in note, (fragment, note)
    assert read_link({"tab": "settings"}).ignored == ["tab=settings (one of chat, puzzles, evaluate, train)"]


def test_a_budget_above_the_slider_is_refused_not_turned_into_unlimited():
    view = read_link({"tab": "chat", "budget": str(THINK_MAX + 5), "answer": str(ANSWER_MAX - 1)})
    assert view.values["chat"] == {"answer_budget": ANSWER_MAX - 1}
    assert f"at most {THINK_MAX - 1} tokens" in view.note


def test_evaluation_levels_outside_the_family_are_dropped_and_budgets_read_as_labels():
    view = read_link({"tab": "evaluate", "family": "sat", "levels": "1,2,40", "budgets": "0, 33,unlimited,0"})
    assert view.values["evaluate"]["levels"] == [1, 2]
    assert view.values["evaluate"]["budgets"] == ["0", "33", "unlimited"]
    assert "levels 40" in view.note
    assert split_budgets(["0", "33", "unlimited"], ["0", "128", "unlimited"]) == (["0", "unlimited"], "33")


def test_the_evaluate_link_carries_typed_budgets_too():
    link = link_query("evaluate", {"budgets": ["0", "512"], "extra_budgets": "32, 96", "family": "sat"})
    assert _query(link)["budgets"] == "0,512,32,96"


def test_every_tab_has_settings_with_distinct_keys():
    for tab in TABS:
        keys = [p.key for p in PARAMS[tab]]
        assert len(keys) == len(set(keys)) and "tab" not in keys
    assert all(PARAMS[tab] for tab in ("chat", "puzzles", "evaluate"))


think = st.one_of(st.integers(0, THINK_MAX - 1), st.just(THINK_MAX))
answer = st.one_of(st.integers(0, ANSWER_MAX - 1), st.just(ANSWER_MAX))
temperature = st.integers(0, 40).map(lambda t: t / 20)
modes = st.sampled_from(["hard", "wrapup", "extend"])
seeds = st.integers(-1, SEED_MAX)


@st.composite
def puzzle_views(draw):
    name = draw(st.sampled_from(sorted(families())))
    values = {"family": name, "level": draw(st.sampled_from(sorted(families()[name].levels))), "seed": draw(seeds)}
    for side in "ab":
        values |= {
            f"{side}_think_budget": draw(think),
            f"{side}_budget_mode": draw(modes),
            f"{side}_answer_budget": draw(answer),
            f"{side}_min_think": draw(think),
            f"{side}_temperature": draw(temperature),
            f"{side}_seed": draw(seeds),
        }
    return values


@settings(max_examples=150, deadline=None)
@given(values=puzzle_views())
def test_a_race_survives_the_round_trip(values):
    view = read_link(_query(link_query("puzzles", values)))
    assert view.tab == "puzzles" and not view.ignored
    assert view.values["puzzles"] == values


@settings(max_examples=150, deadline=None)
@given(
    values=st.fixed_dictionaries(
        {
            "think_budget": think,
            "budget_mode": modes,  # the Chat tab names its widgets as its requests do
            "min_think": think,
            "answer_budget": answer,
            "temperature": temperature,
            "seed": seeds,
        }
    )
)
def test_chat_settings_survive_the_round_trip(values):
    view = read_link(_query(link_query("chat", values)))
    assert not view.ignored and view.values["chat"] == values


@settings(max_examples=100, deadline=None)
@given(
    family=st.sampled_from(sorted(families())),
    puzzles=st.integers(1, 200),
    samples=st.integers(1, 64),
    budgets=st.lists(st.sampled_from(["0", "64", "128", "512", "unlimited"]), min_size=1, unique=True),
    seed=st.integers(0, SEED_MAX),
)
def test_an_evaluation_survives_the_round_trip(family, puzzles, samples, budgets, seed):
    levels = sorted(families()[family].levels)[:2]
    values = {"family": family, "levels": levels, "puzzles": puzzles, "samples": samples, "budgets": budgets}
    values |= {"temperature": 0.8, "seed": seed, "budget_mode": "wrapup", "answer_budget": 512, "first_seed": 100}
    view = read_link(_query(link_query("evaluate", values)))
    assert not view.ignored and view.values["evaluate"] == values


def test_a_level_is_checked_against_the_tabs_own_family_when_the_link_names_none():
    view = read_link({"tab": "puzzles", "level": "99", "seed": "3"}, {"puzzles": {"family": "maze"}})
    assert view.values["puzzles"] == {"seed": 3}
    assert "level=99 (Maze has levels 1–" in view.note


def test_the_note_repeats_a_long_value_cut_short_and_skips_gradios_own_keys():
    view = read_link({"tab": "chat", "budget": "9" * 5000, "__theme": "dark"})
    assert len(view.note) < 200 and "…" in view.note and "__theme" not in view.note


def test_a_budget_above_this_apps_slider_is_left_out_with_its_limit():
    import gradio as gr

    from playground.ui.share_wiring import LinkWidgets, widget_updates

    with gr.Blocks():  # a shared demo's sliders stop below unlimited
        think = gr.Slider(0, 2048, value=64, step=16)
        answer = gr.Slider(0, 1024, value=512, step=16)
    link = LinkWidgets("chat", {"think_budget": think, "answer_budget": answer})
    view = read_link({"tab": "chat", "budget": "unlimited", "answer": "256"})
    updates = widget_updates(link, view)
    assert think not in updates and updates[answer]["value"] == 256
    assert "budget=unlimited (at most 2048 here)" in view.note
