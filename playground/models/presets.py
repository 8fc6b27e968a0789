"""Model presets: the reasoning models the playground knows by name, with their recommended sampling and prompt.

Any other hub id or local folder works too; a preset only adds good defaults (sampling, system prompt) and a memory
estimate so a model that cannot fit is refused before a long download.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"
TINY_REASONER_DIR = ASSETS / "tiny-reasoner"  # the trained embedded default (when shipped)
PLACEHOLDER_DIR = ASSETS / "placeholder-tiny"  # built on demand by playground/models/placeholder.py
# Held-out level-1 puzzles (family, seed; seeds < 2000 are never trained on) that the shipped tiny reasoner solves
# with greedy decoding and unlimited thinking, in full precision and in 4-bit: the Chat tab's examples, guarded by
# tests/test_tiny_reasoner.py. Picked from the evaluation recorded in its model card.
TINY_EXAMPLES: list[tuple[str, int]] = [("maze", 0), ("tsp", 0), ("sat", 1), ("spatial_map", 1)]
TINY_ANSWER_BUDGET = 128  # its answers are one line: a move list, an option, a dict of a few values
TINY_THINK_BUDGET = 1024  # the Chat tab's default for it: its longest level-1 traces are ~500 tokens

PHI_SYSTEM = (
    "You are Phi, a language model trained by Microsoft to help users. Your role as an assistant involves thoroughly "
    "exploring questions through a systematic thinking process before providing the final precise and accurate "
    "solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, "
    "reflection, backtracing, and iteration to develop well-considered thinking process. Please structure your "
    "response into two main sections: Thought and Solution using the specified format: <think> {Thought section} "
    "</think> {Solution section}. In the Thought section, detail your reasoning process in steps. Each step should "
    "include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new "
    "ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the "
    "Solution section, based on various attempts, explorations, and reflections from the Thought section, "
    "systematically present the final solution that you deem correct. The Solution section should be logical, "
    "accurate, and concise and detail necessary steps needed to reach the conclusion. Now, try to solve the "
    "following question through the above guidelines:"
)


@dataclass(frozen=True)
class Preset:
    """A known model: where it lives, how it chats and thinks, how to sample it, and what it needs."""

    name: str
    hub_id: str
    params_b: float  # billions of parameters, for the memory estimate
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 20
    system_prompt: str = ""  # the default system prompt; the tokenizer's own chat template renders prompts
    think_open: str = "<think>"
    think_close: str = "</think>"
    max_new_tokens: int = 32768
    description: str = ""

    def need_gb(self, quant: str) -> float:
        """Approximate GPU memory to load and run a few thousand tokens, in GB (weights + KV cache + overhead)."""
        bytes_per_param = {"4bit": 0.62, "8bit": 1.1, "none": 2.05}[quant]
        return round(self.params_b * bytes_per_param + 0.8 + 0.05 * self.params_b, 1)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            name="phi-4-reasoning",
            hub_id="microsoft/Phi-4-reasoning",
            params_b=14.7,
            temperature=0.8,
            top_p=0.95,
            top_k=50,
            system_prompt=PHI_SYSTEM,
            description="Phi-4-reasoning (14B): SFT on curated reasoning traces; strong on math and planning.",
        ),
        Preset(
            name="phi-4-reasoning-plus",
            hub_id="microsoft/Phi-4-reasoning-plus",
            params_b=14.7,
            temperature=0.8,
            top_p=0.95,
            top_k=50,
            system_prompt=PHI_SYSTEM,
            description="Phi-4-reasoning-plus (14B): Phi-4-reasoning + RL; longer, more accurate thoughts.",
        ),
        Preset(
            name="phi-4-mini-reasoning",
            hub_id="microsoft/Phi-4-mini-reasoning",
            params_b=3.8,
            temperature=0.8,
            top_p=0.95,
            top_k=50,
            description="Phi-4-mini-reasoning (3.8B): math-focused, 128K context.",
        ),
        *[
            Preset(
                name=f"qwen3-{size.lower()}",
                hub_id=f"Qwen/Qwen3-{size}",
                params_b=params,
                temperature=0.6,
                top_p=0.95,
                top_k=20,
                description=desc,
            )
            for size, params, desc in [
                ("0.6B", 0.6, "Qwen3 0.6B: the smallest thinking model; fits anywhere."),
                ("1.7B", 1.7, "Qwen3 1.7B: small thinking model."),
                ("4B", 4.0, "Qwen3 4B: good quality per GB."),
                ("8B", 8.2, "Qwen3 8B: strong open thinking model."),
            ]
        ],
        *[
            Preset(
                name=f"deepseek-r1-distill-qwen-{size.lower()}",
                hub_id=f"deepseek-ai/DeepSeek-R1-Distill-Qwen-{size}",
                params_b=params,
                temperature=0.6,
                top_p=0.95,
                top_k=50,
                description=desc,
            )
            for size, params, desc in [
                ("1.5B", 1.8, "DeepSeek-R1-Distill-Qwen 1.5B: R1 traces distilled into Qwen2.5-Math."),
                ("7B", 7.6, "DeepSeek-R1-Distill-Qwen 7B."),
            ]
        ],
    ]
}

# Tried in this order by `--model auto` on a CUDA machine with the hub: the best that fits.
AUTO_GPU_ORDER = ["phi-4-reasoning-plus", "phi-4-mini-reasoning", "qwen3-4b", "qwen3-1.7b", "qwen3-0.6b"]

EMBEDDED_NAMES = {"tiny", "embedded", "default"}
QUANTS = ("auto", "4bit", "8bit", "none")  # how weights are loaded (auto: 4-bit on CUDA, none on CPU)
DEVICES = ("auto", "cuda", "cpu")


def find_preset(name: str) -> Preset | None:
    """The preset called `name` (case-insensitive) or whose hub id is `name`."""
    key = name.strip().lower()
    for preset in PRESETS.values():
        if key in (preset.name, preset.hub_id.lower()):
            return preset
    return None


def choices() -> list[str]:
    """Names to offer in a model picker: the embedded default first, then the presets."""
    return ["tiny", *PRESETS]


def recommended_temperature(preset: Preset | None, name: str | None) -> float:
    """The sampling temperature the UI starts with: the preset's, greedy for the embedded tiny reasoner (it follows
    its traces token by token, and its examples are checked greedy), else 0.6."""
    if preset is not None:
        return preset.temperature
    return 0.0 if name in EMBEDDED_NAMES else 0.6
