"""A small tokenizer for the project's tiny local models, built with `tokenizers`.

Characters (printable ASCII + newline) underneath, and on top of them whole tokens for what the puzzles repeat:
maze coordinates `(r,c)`, the transcription's squares `r,c#` and the walk's steps ` (r,c)M`, numbers up to 99,
3SAT assignments `TTF`, and (for a trained model) the frequent words and names of its training texts
(`frequent_words`), so that a tiny model reads " Owl Library" or "-x2" as one token instead of a dozen characters:
shorter sequences to train on, and copies and look-ups of whole units. `<think>`/`</think>` are ordinary added
tokens (so streamers that skip special tokens still show them), chat markers
as special tokens, and a Phi-4-mini-style chat template so that `apply_chat_template` works like it does for the
real presets.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import combinations, product

from tokenizers import AddedToken, Tokenizer, decoders, models
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ["<|pad|>", "<|unk|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
THINK_TOKENS = ["<think>", "</think>"]
CHARS = ["\n"] + [chr(c) for c in range(32, 127)]
# The maze trace (playground/puzzles/maze.py): one token per coordinate "(r,c)", per transcribed square "r,c#" (its
# coordinate and what is there) and per walk step " (r,c)M" (a square and the move tried from it), so the
# transcription is token-for-token as long as the drawing, a look-up of a square is a one-token content match, and
# the padded path line is exactly as many tokens as the final answer has slots. 0-9 covers mazes up to 10 squares
# wide (levels 1-2; the tiny reasoner trains on level 1). "\u00b7" is maze.OPEN_MARK, written out so that this does
# not import the puzzle library.
GRID_TOKENS = (
    [f"({r},{c})" for r in range(10) for c in range(10)]
    + [f"{r},{c}{ch}" for r in range(10) for c in range(10) for ch in "#\u00b7SEX"]
    + [f" ({r},{c}){m}" for r in range(10) for c in range(10) for m in "UDLR"]
)
# Whole numbers up to 99 (TSP distances and sums: an addition is then one look-up, not digit-by-digit carries) and
# the 3SAT brute-force assignments "TTF"... of up to four variables.
NUMBER_TOKENS = [str(k) for k in range(10, 100)]
ASSIGNMENT_TOKENS = ["".join(w) for n in (3, 4) for w in product("TF", repeat=n)]
# Whole 3SAT clauses over x1..x4 as the prompt writes them, "(-x1 OR x2 OR x3)", and the spatial map's relations
# " is to the Northeast of": a trace then copies a clause or a statement's direction as one token that follows a
# unique one (the clause's label, the statement's subject), the look-up a small model learns first, instead of
# picking signs or a direction out of a line that looks like every other line.
CLAUSE_TOKENS = [
    "(" + " OR ".join(("-" if neg else "") + f"x{v}" for v, neg in zip(vs, signs)) + ")"
    for vs in combinations(range(1, 5), 3)
    for signs in product((False, True), repeat=3)
]
RELATION_TOKENS = [f" is to the {d} of" for d in ("Northeast", "Northwest", "Southwest", "Southeast")]
# A 3SAT clause label with its colon and space, "c4: ", as the prompt writes it before the clause: the clause is then
# the token right after a unique one, the look-up a small model copies reliably. Level-1 formulas have at most 32
# clauses.
CLAUSE_LABEL_TOKENS = [f"c{i}: " for i in range(1, 41)]
FIXED_TOKENS = (
    THINK_TOKENS
    + GRID_TOKENS
    + NUMBER_TOKENS
    + ASSIGNMENT_TOKENS
    + CLAUSE_TOKENS
    + RELATION_TOKENS
    + CLAUSE_LABEL_TOKENS
)
# A two-word name ("Owl Library", "Final Answer"), a word or a letter with its leading space, a 3SAT literal or clause
# name, a TSP leg "0-3", an arrow, answer tags.
WORD = re.compile(
    r" ?(?:[A-Z][a-z]+ [A-Z][a-z]+|-?x\d+|c\d+|\d-\d|[A-Za-z]{2,})| [A-Za-z]|->|</?final_answer>|\{'|': '|'\}"
)

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
# R1-Distill style: the generation prompt already opens the thought, so the model's output holds only "</think>".
CHAT_TEMPLATE_OPEN_THINK = CHAT_TEMPLATE.replace(
    "'<|assistant|>' }}{% endif %}", "'<|assistant|><think>\\n' }}{% endif %}"
)


def frequent_words(texts: Iterable[str], limit: int = 800, min_count: int = 5) -> list[str]:
    """The `limit` most frequent WORD pieces of `texts` seen at least `min_count` times (ties: alphabetical)."""
    counts = Counter(m for text in texts for m in WORD.findall(text))
    ranked = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    return ranked[:limit]


def build_tokenizer(
    model_max_length: int = 4096, open_think: bool = False, words: Sequence[str] = ()
) -> PreTrainedTokenizerFast:
    """Return the tokenizer (ids: special tokens, think tags, characters, grid tokens, then `words`).

    `open_think` picks the chat template whose generation prompt already opens `<think>`. Added tokens match
    leftmost-longest in the raw text, so a word is one token wherever it appears; the rest falls back to characters.
    """
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + THINK_TOKENS + CHARS)}
    # BPE with no merges and no pre-tokenizer is exactly "one token per character".
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<|unk|>"))
    core.decoder = decoders.Fuse()
    core.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    fixed = FIXED_TOKENS
    core.add_tokens([AddedToken(t, special=False, normalized=False) for t in fixed])
    # " TTF" stays " " + "TTF": the clause list's assignments must be the same tokens as the lines that look them up
    known = set(fixed) | {" " + t for t in ASSIGNMENT_TOKENS}
    core.add_tokens([AddedToken(w, special=False, normalized=False) for w in dict.fromkeys(words) if w not in known])
    return PreTrainedTokenizerFast(
        clean_up_tokenization_spaces=False,
        tokenizer_object=core,
        eos_token="<|end|>",
        pad_token="<|pad|>",
        unk_token="<|unk|>",
        chat_template=CHAT_TEMPLATE_OPEN_THINK if open_think else CHAT_TEMPLATE,
        model_max_length=model_max_length,
        padding_side="left",
    )
