"""The tiny reasoner: its recipe trains (on a tiny config, a few steps) and the shipped model really solves puzzles."""

from __future__ import annotations

import json
import re

import pytest
import torch
from tokenizers import AddedToken
from transformers import LlamaConfig, LlamaForCausalLM

from playground.generation.engine import Engine
from playground.generation.request import GenerationRequest
from playground.models.loading import load_model
from playground.models.presets import TINY_EXAMPLES
from playground.models.tiny_tokenizer import build_tokenizer
from playground.puzzles import generate, get_family
from training import tiny_eval
from training.curriculum import IGNORE, build_curriculum, eval_prompts
from training.tiny import DEFAULT_DIR, Recipe, build_tiny_tokenizer, grow_embeddings, train
from training.tiny_eval import Cell, write_summary

# Held-out evaluation puzzles (seeds < 2000, never trained on) that the shipped model solves with greedy decoding and
# unlimited thinking — in full precision and in 4-bit NF4: the Chat tab's examples and a few more of the evaluation.
KNOWN_SOLVED = [*TINY_EXAMPLES, ("maze", 1), ("tsp", 1)]

shipped = pytest.mark.skipif(not (DEFAULT_DIR / "config.json").exists(), reason="assets/tiny-reasoner not shipped")


def tiny_recipe(**kw) -> Recipe:
    return Recipe(
        **{
            "families": ["math", "sat"],
            "per_family": 24,
            "hidden": 64,
            "layers": 2,
            "heads": 2,
            "intermediate": 128,
            "batch_tokens": 2048,
            "lr": 3e-3,
            "warmup_steps": 2,
            "max_steps": 12,
            **kw,
        }
    )


def test_curriculum_is_verified_masked_and_disjoint_from_evaluation():
    tok = build_tokenizer(open_think=True)
    examples, stats = build_curriculum(tok, ["maze"], [1], per_family=60, seed=0, p_nothink=0.2, p_cut=0.2)
    assert len(examples) == 60 and stats.examples == {"maze": 60}
    assert stats.shapes["full"] and stats.shapes["no-think"] and stats.shapes["cut-short"]
    reserved = eval_prompts("maze", 1)
    trained = {True: 0, False: 0}
    for ex in examples:
        start = ex["input_ids"].index(tok.convert_tokens_to_ids("<think>")) + 2  # the prompt ends "<think>\n"
        close = ex["input_ids"].index(tok.convert_tokens_to_ids("</think>"))
        trained[ex["labels"][close] != IGNORE] += 1
        assert all(x == IGNORE for x in ex["labels"][:start])
        assert [x for i, x in enumerate(ex["labels"]) if i >= start and i != close] == [
            x for i, x in enumerate(ex["input_ids"]) if i >= start and i != close
        ]
        prompt = tok.decode(ex["input_ids"][:start])
        assert prompt.endswith("<|assistant|><think>\n")
        user = prompt.split("<|user|>", 1)[1].split("<|end|>", 1)[0]
        assert user not in reserved  # no evaluation puzzle leaks into training
        assert tok.decode(ex["input_ids"][start:]).endswith("<|end|>")
    # The model learns to close a finished thought itself, never one the budget closed (no-think, cut-short).
    assert trained == {True: stats.shapes["full"], False: stats.shapes["no-think"] + stats.shapes["cut-short"]}


def test_spatial_drill_mixes_larger_sketched_maps_into_the_family():
    tok = build_tokenizer(open_think=True)
    examples, stats = build_curriculum(
        tok, ["spatial_map"], [1], per_family=40, seed=0, p_nothink=0.0, p_cut=0.0, drill={"spatial_map": 0.5}
    )
    assert stats.examples == {"spatial_map": 40} and stats.drilled == {"spatial_map": 20}
    prompts = [tok.decode(ex["input_ids"]) for ex in examples]
    # level 1 places 2 objects by a statement; the drill 3 or 4, and its traces are sketches too
    placed = sorted(re.search(r"sketch:.*?\n((?: .* so \(\d,\d\) .*\n)+)", p).group(1).count("\n") for p in prompts)
    assert placed.count(2) == 20 and set(placed[20:]) == {3, 4}
    with pytest.raises(ValueError, match="no drill for"):
        build_curriculum(tok, ["maze"], [1], per_family=2, drill={"maze": 0.5})


def test_maze_transcription_is_a_copy_at_one_fixed_distance():
    """The maze trace's transcription is token-for-token as long as the drawing, so every square of it sits at the
    same distance from the square it copies (what makes the copy learnable for a tiny model), and each copied
    token names the same square."""
    tok = build_tiny_tokenizer(Recipe(families=["sat", "maze", "tsp", "spatial_map"]))
    fam = get_family("maze")
    offsets = set()
    for seed in range(6):
        inst = fam.generate(seed, 1)
        prompt = tok.apply_chat_template(
            [{"role": "user", "content": inst.prompt}], tokenize=False, add_generation_prompt=True
        )
        toks = tok.convert_ids_to_tokens(tok(prompt + fam.trace(inst), add_special_tokens=False)["input_ids"])
        n = len(tok(prompt, add_special_tokens=False)["input_ids"])
        grid = inst.data["grid"]
        drawing = [k for k in range(n) if toks[k] in ("#", ".", "S", "E", "X")][-(len(grid) ** 2) :]
        copied = [k for k in range(n, len(toks)) if re.fullmatch(r"\d,\d.", toks[k])][: len(grid) ** 2]
        assert len(copied) == len(grid) ** 2
        for i, (src, dst) in enumerate(zip(drawing, copied)):
            assert toks[dst] == f"{i // len(grid)},{i % len(grid)}" + toks[src].replace(".", "\u00b7")
            offsets.add(dst - src)
    assert len(offsets) == 1


def test_tokenizer_words_are_single_tokens_and_text_round_trips():
    """The run's tokenizer reads the puzzles' frequent words whole and still writes any text back exactly."""
    families = ["sat", "maze", "tsp", "spatial_map"]
    tok = build_tiny_tokenizer(Recipe(families=families))
    assert len(tok) > 500  # characters, grid tokens and hundreds of words
    for name in families:
        fam = get_family(name)
        inst = fam.generate(0, 1)
        text = inst.prompt + fam.trace(inst) + inst.reference
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text
        assert len(ids) < len(text) / 2  # words, coordinates and literals are whole tokens
    assert tok.tokenize("c1: (-x1 OR x2)") == ["c1: ", "(", "-x1", " OR", " x2", ")"]
    assert tok.tokenize("0-3=3 (2,5)#") == ["0-3", "=", "3", " ", "(2,5)", "#"]
    # a walk step, a number, a 3SAT assignment and a spatial-map name are one token each
    assert tok.tokenize(" (2,5)L. 15+3=18 TTFT=c4") == [  # the clause list writes " TTFT" as " " + "TTFT"
        " (2,5)L",
        ".",
        " ",
        "15",
        "+",
        "3",
        "=",
        "18",
        " ",
        "TTFT",
        "=",
        "c4",
    ]
    # a spatial-map statement is its subject, its relation and its object; a 3SAT clause is one token
    assert tok.tokenize("Fox Books is to the Southwest of Owl Library") == [
        "Fox Books",
        " is to the Southwest of",
        " Owl Library",
    ]
    assert tok.tokenize("c4: (-x1 OR x2 OR -x4) false at TTFT") == [
        "c4: ",
        "(-x1 OR x2 OR -x4)",
        " false",
        " at",
        " ",
        "TTFT",
    ]
    odd = "Zqj ünïcode 🙂 {}"  # unknown words fall back to characters; characters outside ASCII to <|unk|>
    assert tok.decode(tok(odd, add_special_tokens=False)["input_ids"]).startswith("Zqj ")


def test_recipe_trains_a_loadable_model(tmp_path, monkeypatch, capsys):
    out = tmp_path / "tiny"
    run = train(tiny_recipe(), out, checkpoint_minutes=0, log_every=2)
    losses = [loss for _, loss in run["losses"]]
    assert len(losses) >= 5 and losses[-1] < losses[0] - 0.5, losses
    assert run["tokens"] > 0 and run["tokens_per_s"] > 0
    meta = json.loads((out / "playground.json").read_text())
    assert meta["kind"] == "tiny-reasoner" and "trained from scratch" in meta["description"]
    assert "tokens/s" in (out / "README.md").read_text()
    engine = Engine(load_model(str(out), quant="none", device="cpu", offline=True))
    inst = generate("math", 1, 0)
    request = GenerationRequest(messages=[], temperature=0.0, think_budget=8, answer_budget=8)
    (stats,) = engine.generate_batch([[{"role": "user", "content": inst.prompt}]], request)[0]
    assert stats.thinking_tokens == 8 and stats.budget_reached  # the budget cut the thought exactly
    # The measured accuracy reaches the banner's description (rewritten, not appended, on a second measurement).
    for acc in (0.25, 0.5):
        cells = [Cell("math", None, None, acc, 1, 4, 3.0, 12, 0.1), Cell("sat", 0.0, 0, 0.0, 0, 4, 0, 4, 0.1)]
        write_summary(out, cells)
    described = load_model(str(out), quant="none", device="cpu", offline=True).description
    assert described.startswith(meta["description"]) and described.endswith(": Math 50%"), described
    # The evaluation CLI measures full precision and 4-bit on the same puzzles and writes both into the card.
    argv = ["tiny_eval", str(out), "--families", "math", "--puzzles", "2", "--quant", "none", "4bit"]
    monkeypatch.setattr("sys.argv", [*argv, "--unlimited-only", "--write-card"])
    tiny_eval.main()
    card = (out / "README.md").read_text().split("<!-- accuracy -->")[1]
    table = re.search(r"\| math \| (\d+)% \|", card)
    line = r"4-bit NF4 on CPU, unlimited thinking \(points vs the table\): math (\d+)% \(([+-]\d+)\)\."
    four_bit = re.search(line, card)
    assert table and four_bit, card
    assert int(four_bit[1]) - int(table[1]) == int(four_bit[2])
    assert "2 held-out puzzles per family (seeds 0–1), greedy, full precision on CPU." in card
    assert capsys.readouterr().out.count("'quant': '4bit'") == 1


def test_recipe_is_deterministic_from_its_seed(tmp_path):
    a = train(tiny_recipe(max_steps=4), tmp_path / "a", checkpoint_minutes=0, log_every=1)
    b = train(tiny_recipe(max_steps=4), tmp_path / "b", checkpoint_minutes=0, log_every=1)
    assert a["losses"] == b["losses"]
    c = train(tiny_recipe(max_steps=4, seed=1), tmp_path / "c", checkpoint_minutes=0, log_every=1)
    assert c["losses"] != a["losses"]


def _solve(engine: Engine) -> list[tuple[str, int, bool, str]]:
    request = GenerationRequest(messages=[], temperature=0.0, think_budget=None, answer_budget=96)
    out = []
    for family, seed in KNOWN_SOLVED:
        inst = generate(family, 1, seed)
        (stats,) = engine.generate_batch([[{"role": "user", "content": inst.prompt}]], request)[0]
        verdict = get_family(family).verify(inst, f"<think>{stats.thinking}</think>{stats.answer}")
        out.append((family, seed, verdict.correct, stats.answer))
    return out


@shipped
def test_shipped_model_is_the_trained_reasoner():
    meta = json.loads((DEFAULT_DIR / "playground.json").read_text())
    assert meta["kind"] == "tiny-reasoner"
    size = sum(p.stat().st_size for p in DEFAULT_DIR.iterdir())
    assert size < 40e6  # tens of MB at most
    config = json.loads((DEFAULT_DIR / "config.json").read_text())
    assert config["hidden_size"] % 64 == 0 and config["intermediate_size"] % 64 == 0  # bitsandbytes 4-bit on CPU


@shipped
def test_shipped_model_solves_known_puzzles():
    engine = Engine(load_model("tiny", quant="none", device="cpu", offline=True))
    assert engine.loaded.source == str(DEFAULT_DIR) and not engine.loaded.placeholder
    results = _solve(engine)
    assert all(ok for _, _, ok, _ in results), results


@shipped
def test_shipped_model_in_4bit_on_cpu():
    pytest.importorskip("bitsandbytes")
    loaded = load_model("tiny", quant="4bit", device="cpu", offline=True)
    assert any(type(m).__name__ == "Linear4bit" for m in loaded.model.modules())
    assert next(loaded.model.parameters()).device == torch.device("cpu")
    full = load_model("tiny", quant="none", device="cpu", offline=True)
    assert loaded.params == full.params  # packed 4-bit weights count as the parameters they hold
    results = _solve(Engine(loaded))
    assert all(ok for _, _, ok, _ in results), results


def test_continued_run_records_the_phases_before_it(tmp_path):
    first = tmp_path / "first"
    train(tiny_recipe(max_steps=2), first, checkpoint_minutes=0, log_every=1)
    second = tmp_path / "second"
    train(tiny_recipe(max_steps=2, seed=1, init=str(first)), second, checkpoint_minutes=0, log_every=1)
    third = tmp_path / "third"
    train(tiny_recipe(max_steps=2, seed=2, init=str(second)), third, checkpoint_minutes=0, log_every=1)
    phases = json.loads((third / "training_run.json").read_text())["earlier_phases"]
    assert [p["recipe"]["seed"] for p in phases] == [0, 1] and phases[0]["run"]["steps"] == 2
    card = (third / "README.md").read_text()
    assert "- phase 1: families math, sat, seed 0, init random: 2 steps" in card and "- phase 2:" in card


def test_a_continued_model_grows_rows_for_new_tokens_from_their_pieces():
    old_tok = build_tokenizer()
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(old_tok),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=1,
            num_attention_heads=2,
            tie_word_embeddings=True,
        )
    )
    tok = build_tokenizer()
    tok.add_tokens([AddedToken("c4: x9", normalized=False)])
    assert grow_embeddings(model, tok, old_tok) == ["c4: x9"]
    emb = model.get_input_embeddings().weight
    assert emb.shape[0] % 32 == 0 and emb.shape[0] >= len(tok)
    pieces = old_tok("c4: x9", add_special_tokens=False)["input_ids"]
    assert old_tok.convert_ids_to_tokens(pieces) == ["c4: ", "x", "9"]
    new_row = emb[tok.convert_tokens_to_ids("c4: x9")]
    assert torch.allclose(new_row, emb[pieces].mean(0))
    assert model.get_output_embeddings().weight.data_ptr() == emb.data_ptr()  # still tied
