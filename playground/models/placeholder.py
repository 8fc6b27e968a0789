"""Build the untrained placeholder model: a tiny Llama with random weights and the character-level tokenizer.

It stands in for the embedded tiny reasoner until that is trained, and it is the model tests run forward passes on.
Hidden sizes suit bitsandbytes 4-bit on CPU (in_features % 64 == 0, out_features % 32 == 0).

    python -m playground.models.placeholder [OUT_DIR] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

from playground.models.presets import PLACEHOLDER_DIR
from playground.models.tiny_tokenizer import build_tokenizer

DEFAULT_DIR = PLACEHOLDER_DIR

CARD = """---
library_name: transformers
tags: [placeholder, random-weights]
---
# Untrained placeholder (random weights)

A {params:,}-parameter Llama with **random weights** and a character-level tokenizer, made by
`python -m playground.models.placeholder`. It produces noise: it only exists so the playground, its budgets and its
tests run with no GPU and no hub when the embedded tiny reasoner is missing.
"""


def tiny_llama_config(tok, hidden: int, intermediate: int, layers: int, heads: int, max_positions: int) -> LlamaConfig:
    """The Llama shape of the playground's tiny models (the placeholder and the trained tiny reasoner).

    The vocabulary is padded to a multiple of 32 and the embeddings are tied, so every linear layer, lm_head included,
    can be 4-bit quantized. There is no BOS token; EOS and padding are the tokenizer's."""
    return LlamaConfig(
        vocab_size=-(-len(tok) // 32) * 32,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )


def build_placeholder(
    out_dir: str | Path = DEFAULT_DIR,
    seed: int = 0,
    hidden: int = 128,
    layers: int = 2,
    max_positions: int = 4096,
    open_think: bool = True,
) -> Path:
    """Write a random-weight tiny Llama + tokenizer to `out_dir` (deterministic for a seed) and return the path.

    `open_think`: the chat template opens `<think>` in the prompt (R1 style), so even random weights stream a thought.
    """
    out = Path(out_dir)
    tok = build_tokenizer(model_max_length=max_positions, open_think=open_think)
    config = tiny_llama_config(
        tok, hidden=hidden, intermediate=hidden * 2, layers=layers, heads=4, max_positions=max_positions
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # chat markers get zero embeddings so a random model rarely emits them (visible noise)
        for token in ("<|pad|>", "<|unk|>", "<|system|>", "<|user|>", "<|assistant|>"):
            model.get_input_embeddings().weight[tok.convert_tokens_to_ids(token)] = 0.0
    model.generation_config = GenerationConfig(
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, max_new_tokens=512
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    params = sum(p.numel() for p in model.parameters())
    (out / "README.md").write_text(CARD.format(params=params))
    (out / "playground.json").write_text(
        json.dumps(
            {
                "kind": "placeholder",
                "description": f"untrained {params / 1e6:.1f}M-parameter placeholder "
                "with random weights: it produces noise",
            },
            indent=2,
        )
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", nargs="?", default=str(DEFAULT_DIR))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(build_placeholder(args.out_dir, seed=args.seed))


if __name__ == "__main__":
    main()
