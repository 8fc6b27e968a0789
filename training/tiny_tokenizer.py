"""A character-level tokenizer for the project's tiny local models, built with `tokenizers`.

Small vocabulary (printable ASCII + newline, and the maze transcription's row labels and column-tagged squares),
`<think>`/`</think>` as ordinary added tokens (so streamers that skip special tokens still show them), chat markers
as special tokens, and a Phi-4-mini-style chat template so that `apply_chat_template` works like it does for the
real presets.
"""

from __future__ import annotations

from tokenizers import AddedToken, Tokenizer, decoders, models
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ["<|pad|>", "<|unk|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
THINK_TOKENS = ["<think>", "</think>"]
CHARS = ["\n"] + [chr(c) for c in range(32, 127)]
# The maze trace's transcription of the drawing (playground/puzzles/maze.py `transcribe`): one token per row label
# and one per square tagged with its column, so the copy is token-for-token as long as the drawing. Rows and columns
# 0-9 cover mazes up to 10 squares wide (levels 1-2; the tiny reasoner trains on level 1); wider ones split "#10".
# "\u00b7" is maze.OPEN_MARK, written out so that building a tokenizer does not import the puzzle library.
GRID_TOKENS = [f"\n{r}:" for r in range(10)] + [f"{ch}{c}" for ch in "#\u00b7SE" for c in range(10)]

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


def build_tokenizer(model_max_length: int = 4096, open_think: bool = False) -> PreTrainedTokenizerFast:
    """Return the character-level tokenizer (ids: special tokens, think tags, then characters).

    `open_think` picks the chat template whose generation prompt already opens `<think>`.
    """
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + THINK_TOKENS + CHARS)}
    # BPE with no merges and no pre-tokenizer is exactly "one token per character".
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<|unk|>"))
    core.decoder = decoders.Fuse()
    core.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    core.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK_TOKENS + GRID_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|end|>",
        pad_token="<|pad|>",
        unk_token="<|unk|>",
        chat_template=CHAT_TEMPLATE_OPEN_THINK if open_think else CHAT_TEMPLATE,
        model_max_length=model_max_length,
        padding_side="left",
    )
