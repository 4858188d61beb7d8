"""Chat templates: every model of a run renders prompts with the same one.

A base model whose tokenizer has no template (base LLaMA) gets `DEFAULT_CHAT_TEMPLATE`, or the
run's configured template; training saves it with each model, so inference on a trained model
reads it from the model's folder.
"""

from typing import Any

# Turns as "<|role|>\ncontent" closed by the tokenizer's own end-of-sequence token, which a base
# model's generation config already stops at.
DEFAULT_CHAT_TEMPLATE = (
    "{%- if bos_token %}{{ bos_token }}{%- endif %}"
    "{%- for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>\\n' }}{%- endif %}"
)


def with_chat_template(tokenizer: Any, template: str | None = None) -> Any:
    """The tokenizer with `template`, or the default where it has none of its own."""
    if template:
        tokenizer.chat_template = template
    elif not tokenizer.chat_template:
        tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    return tokenizer


SAFE_LOADING = {"use_safetensors": True, "trust_remote_code": False}  # no pickles, no repo code


def load_tokenizer(path: str, template: str | None = None, **kwargs: Any) -> Any:
    """A model's tokenizer (transformers), with a chat template (see `with_chat_template`)."""
    from transformers import AutoTokenizer

    return with_chat_template(
        AutoTokenizer.from_pretrained(path, trust_remote_code=False, **kwargs), template
    )
