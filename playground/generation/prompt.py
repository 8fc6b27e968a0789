"""A chat rendered into prompt ids that fit the model's context, with a notice for every cut.

The tokenizer's own chat template renders the conversation. A prompt must leave room for thinking and the answer:
a system prompt longer than half of that room is cut first; then the oldest turns are dropped (found by bisection,
so a long history costs a few renders, not one per turn); then the tail of the last message is cut. Text that cannot
be encoded (lone surrogates) is replaced character by character.
"""

from __future__ import annotations

from playground.generation.request import GenerationRequest
from playground.generation.thinking import prompt_opens_think
from playground.models.loading import LoadedModel


def encodable(text: str) -> str:
    """`text` with characters UTF-8 cannot encode (lone surrogates) replaced, so every tokenizer takes it."""
    return text.encode("utf-8", "replace").decode("utf-8")


def render_prompt(
    loaded: LoadedModel, request: GenerationRequest, room: int, open_tag: str = "<think>"
) -> tuple[list[int], bool, list[str]]:
    """(prompt ids, whether the template opened the thought, notices) for `request` on `loaded`, leaving `room`
    tokens (at most half the context) for what is generated."""
    tok = loaded.tokenizer
    system = request.system_prompt
    if system is None:
        system = loaded.preset.system_prompt if loaded.preset else ""
    system = encodable(system)
    messages = [{"role": m["role"], "content": encodable(m["content"])} for m in request.messages]
    notices: list[str] = []
    limit = loaded.context_length - min(room, loaded.context_length // 2)

    system_ids = tok(system, add_special_tokens=False)["input_ids"] if system else []
    if len(system_ids) > limit // 2:
        keep = max(limit // 2, 1)
        system = tok.decode(system_ids[:keep])
        notices.append(
            f"The system prompt was {len(system_ids):,} tokens; it was cut to its first {keep:,} tokens so the "
            "conversation fits the model's context."
        )

    def encode(msgs: list[dict[str, str]]) -> tuple[list[int], str]:
        full = ([{"role": "system", "content": system}] if system else []) + msgs
        text = tok.apply_chat_template(full, tokenize=False, add_generation_prompt=True)
        return tok(text, add_special_tokens=False)["input_ids"], text

    ids, text = encode(messages)
    if len(ids) > limit and len(messages) > 1:
        lo, hi = 1, len(messages) - 1  # the fewest leading turns to drop so that the rest fits, or hi
        while lo < hi:
            mid = (lo + hi) // 2
            if len(encode(messages[mid:])[0]) <= limit:
                hi = mid
            else:
                lo = mid + 1
        messages = messages[lo:]
        ids, text = encode(messages)
        notices.append("Earlier turns were dropped to fit the model's context.")
    if len(ids) > limit:
        content = messages[-1]["content"]
        content_ids = tok(content, add_special_tokens=False)["input_ids"]
        keep = max(len(content_ids) - (len(ids) - limit) - 8, 1)
        messages[-1] = {"role": messages[-1]["role"], "content": tok.decode(content_ids[:keep])}
        ids, text = encode(messages)
        notices.append(
            f"Your prompt was {len(content_ids):,} tokens; it was cut to its first {keep:,} tokens to fit the "
            f"model's context of {loaded.context_length:,} tokens (room is kept for thinking and the answer)."
        )
    return ids, prompt_opens_think(text, open_tag), notices
