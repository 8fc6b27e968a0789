"""Accuracy of a tiny reasoner by family × thinking budget (greedy, held-out seeds), computed by playground.evaluation.

Budgets are fractions of the family's typical thought: the median token length of the solver's reference traces on
the evaluated puzzles (0 = no thinking, 0.25, 0.5, and None = unlimited, i.e. a cap of twice the longest reference
trace + 64 tokens, which a model that follows its training never reaches). Puzzle seeds are 0, 1, 2, ... — the
evaluation seeds the curriculum never trains on (training/curriculum.py checks prompts as well). Each family is one
`EvalConfig` (temperature 0, one sample per puzzle) run by `run_evaluation`; this module only picks the budgets and
writes the table into the model card and the banner.

    python -m training.tiny_eval MODEL_DIR [--puzzles 50] [--quant none [4bit]] [--families sat maze ...] [--json F]
                                [--unlimited-only] [--write-card]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from playground.evaluation.run import EvalConfig, run_evaluation
from playground.generation.budgets import UNLIMITED, budget_label
from playground.puzzles import get_family

FRACTIONS: tuple[float | None, ...] = (0.0, 0.25, 0.5, None)
FAMILIES = ("sat", "maze", "spatial_map", "tsp", "calendar", "math")
LEVEL = 1
PUZZLES = 50
BATCH_ROWS = 25  # puzzles per batched generate call
ANSWER_BUDGET = 128  # tokens after </think>: every family's answer fits


@dataclass
class Cell:
    """One (family, budget) cell of the accuracy table."""

    family: str
    fraction: float | None
    budget: int | None
    accuracy: float
    correct: int
    n: int
    thinking_tokens: float  # mean per answer
    generated_tokens: int
    seconds: float
    solved: list[int] = field(default_factory=list)  # seeds of the puzzles answered correctly

    @property
    def label(self) -> str:
        return fraction_label(self.fraction)


def fraction_label(fraction: float | None) -> str:
    return UNLIMITED if fraction is None else f"{fraction:.0%}"


def family_budgets(engine, family: str, level: int, seeds: Sequence[int], fractions: Sequence[float | None]):
    """{fraction: thinking budget in tokens} for one family, from its reference traces' lengths on these puzzles."""
    fam = get_family(family)
    tok = engine.loaded.tokenizer
    traces = [fam.trace(fam.generate(seed, level)).rstrip() for seed in seeds]
    lengths = [len(tok(trace, add_special_tokens=False)["input_ids"]) for trace in traces]
    typical = int(statistics.median(lengths))
    return {f: 2 * max(lengths) + 64 if f is None else int(round(f * typical)) for f in fractions}


def evaluate_family(
    engine,
    family: str,
    level: int = LEVEL,
    puzzles: int = PUZZLES,
    fractions: Sequence[float | None] = FRACTIONS,
    batch_size: int = BATCH_ROWS,
    first_seed: int = 0,
) -> list[Cell]:
    """Greedy pass@1 of one family at each budget fraction: one `run_evaluation` over the family's budgets."""
    budgets = family_budgets(engine, family, level, range(first_seed, first_seed + puzzles), fractions)
    config = EvalConfig(
        family=family,
        levels=[level],
        puzzles=puzzles,
        samples=1,
        budgets=list(dict.fromkeys(budgets.values())),
        temperature=0.0,
        first_seed=first_seed,
        answer_budget=ANSWER_BUDGET,
        batch_rows=batch_size,
    )
    result = run_evaluation(engine, config, save=False)
    sweep = result.sweep
    cells = []
    for fraction in fractions:
        budget = budgets[fraction]
        label = budget_label(budget)
        records = [r for r in result.records if r["budget"] == budget]
        cells.append(
            Cell(
                family,
                fraction,
                None if fraction is None else budget,
                sweep[label]["pass1"]["mean"],
                sum(r["correct"] for r in records),
                len(records),
                sweep[label]["tokens"]["thinking"]["mean"],
                sum(r["thinking_tokens"] + r["answer_tokens"] for r in records),
                result.budget_seconds[label],
                [r["seed"] for r in records if r["correct"]],
            )
        )
    return cells


def markdown_table(cells: Sequence[Cell]) -> str:
    """Family rows × budget columns of pass@1 (%), in Markdown."""
    labels = list(dict.fromkeys(fraction_label(c.fraction) for c in cells))
    lines = [
        "| family | " + " | ".join(f"budget {lab}" for lab in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for family in dict.fromkeys(c.family for c in cells):
        row = {fraction_label(c.fraction): c for c in cells if c.family == family}
        parts = []
        for lab in labels:
            c = row.get(lab)
            parts.append("" if c is None else f"{c.accuracy:.0%}" + (f" ({c.budget} tok)" if c.budget else ""))
        lines.append(f"| {family} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def write_card_table(model_dir: str | Path, text: str) -> None:
    """Put `text` (the measured tables) between the accuracy markers of the model card README.md."""
    card = Path(model_dir) / "README.md"
    head, rest = card.read_text().split("<!-- accuracy -->", 1)
    tail = rest.split("<!-- /accuracy -->", 1)[1]
    card.write_text(f"{head}<!-- accuracy -->\n{text.strip()}\n<!-- /accuracy -->{tail}")


QUANT_WORDS = {"none": "full precision", "4bit": "4-bit NF4"}


def quant_line(quant: str, base: Sequence[Cell], cells: Sequence[Cell]) -> str:
    """One line comparing another load of the model (e.g. 4-bit) with the table's, unlimited thinking."""
    ref = {c.family: c.accuracy for c in base if c.fraction is None}
    parts = [
        f"{c.family} {c.accuracy:.0%}" + (f" ({(c.accuracy - ref[c.family]) * 100:+.0f})" if c.family in ref else "")
        for c in cells
        if c.fraction is None
    ]
    return f"{QUANT_WORDS[quant]} on CPU, unlimited thinking (points vs the table): {', '.join(parts)}."


SUMMARY_LEAD = "solved with unlimited thinking"  # starts the banner's summary; write_summary replaces from here


def solved_summary(cells: Sequence[Cell]) -> str:
    """One line for the UI: what the model solves with unlimited thinking ("Maze N%, 3SAT N%, ...")."""
    full = [c for c in cells if c.fraction is None]
    parts = ", ".join(f"{get_family(c.family).short_title} {c.accuracy:.0%}" for c in full)
    return f"{SUMMARY_LEAD} (greedy, held-out level-1 puzzles): {parts}"


def write_summary(model_dir: str | Path, cells: Sequence[Cell]) -> None:
    """Put `solved_summary` into the folder's playground.json description (the banner the Chat tab shows)."""
    meta_path = Path(model_dir) / "playground.json"
    meta = json.loads(meta_path.read_text())
    base = meta["description"].split(f"; {SUMMARY_LEAD}", 1)[0]
    meta["description"] = f"{base}; {solved_summary(cells)}"
    meta_path.write_text(json.dumps(meta, indent=2))


def main() -> None:
    from playground.generation.engine import Engine
    from playground.models.loading import load_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--level", type=int, default=LEVEL)
    parser.add_argument("--puzzles", type=int, default=PUZZLES)
    parser.add_argument(
        "--quant",
        nargs="+",
        default=["none"],
        choices=["none", "4bit"],
        help="the first gets the table; each further one (e.g. --quant none 4bit) is measured with unlimited "
        "thinking on the same puzzles and added below it",
    )
    parser.add_argument("--unlimited-only", action="store_true")
    parser.add_argument("--json", help="also write the cells to this JSON file")
    parser.add_argument(
        "--write-card", action="store_true", help="write the table into the model card and a summary into the banner"
    )
    args = parser.parse_args()
    runs: dict[str, list[Cell]] = {}
    for k, quant in enumerate(dict.fromkeys(args.quant)):
        engine = Engine(load_model(args.model, quant=quant, device="cpu", offline=True))
        fractions = (None,) if args.unlimited_only or k else FRACTIONS
        runs[quant] = []
        for family in args.families:
            new = evaluate_family(engine, family, args.level, args.puzzles, fractions)
            for c in new:
                print({"quant": quant, **asdict(c)}, flush=True)
            runs[quant] += new
    (first, cells), *others = runs.items()
    text = "\n\n".join(
        [
            markdown_table(cells),
            f"{args.puzzles} held-out puzzles per family (seeds 0–{args.puzzles - 1}), greedy, "
            f"{QUANT_WORDS[first]} on CPU.",
            *(quant_line(quant, cells, other) for quant, other in others),
        ]
    )
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({q: [asdict(c) for c in cs] for q, cs in runs.items()}, indent=1))
    if args.write_card:
        write_card_table(args.model, text)
        write_summary(args.model, cells)


if __name__ == "__main__":
    main()
