"""Special-token strings in untrusted text, defused before a chat template sees them.

A tokenizer turns the string `<|im_end|>` inside a message into the real end-of-turn token, so
web text could close the user's turn and write the assistant's. `defuse` puts a zero-width space
after the first character of every such string: the text reads the same, and tokenizes as text.
Segments are defused against the special tokens of common chat templates when they are cut; every
prompt is defused again against its model's own special tokens when it is rendered.
"""

import re
from functools import lru_cache
from typing import Any

ZERO_WIDTH_SPACE = "\u200b"
CHAT_TEMPLATE_TOKENS = re.compile(
    r"<\|[^|<>\s]{1,64}\|>"  # ChatML, Llama 3, Phi, GPT: <|im_start|>, <|eot_id|>, <|end|>
    r"|<｜[^｜<>\s]{1,64}｜>"  # DeepSeek's full-width bars
    r"|</?s>|\[/?INST\]|<</?SYS>>"  # Llama 2, Mistral
    r"|<(?:start|end)_of_turn>|<(?:bos|eos|pad|unk|mask)>"  # Gemma and others
    r"|\[/?(?:SYSTEM_PROMPT|AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS)\]"  # Mistral tools
)


def _break(match: re.Match) -> str:
    token = match.group(0)
    return token[0] + ZERO_WIDTH_SPACE + token[1:]


def defuse(text: str, pattern: re.Pattern = CHAT_TEMPLATE_TOKENS) -> str:
    """`text` with every special-token string `pattern` matches broken by a zero-width space."""
    return pattern.sub(_break, text)


def tokenizer_specials(tokenizer: Any) -> re.Pattern:
    """A pattern of the tokenizer's own special-token strings and the common template ones."""
    added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    names = {*tokenizer.all_special_tokens, *(t.content for t in added.values() if t.special)}
    return _pattern(tuple(sorted(n for n in names if len(n) > 1)))


@lru_cache(maxsize=16)
def _pattern(names: tuple[str, ...]) -> re.Pattern:
    own = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(f"{own}|{CHAT_TEMPLATE_TOKENS.pattern}" if own else CHAT_TEMPLATE_TOKENS)
