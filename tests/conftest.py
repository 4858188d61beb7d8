"""Shared fixtures: the sample data folder and a tiny random model with the embedded tokenizer."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
DATA = Path(os.environ.get("HUMPBACK_DATA", Path(__file__).resolve().parents[1] / "../shared/data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"sample data not found at {DATA}; set HUMPBACK_DATA")
    return DATA.resolve()


@pytest.fixture(scope="session")
def embedded_model() -> str:
    from humpback.inference.embedded_model import ensure_embedded_model

    return str(ensure_embedded_model())


@pytest.fixture(scope="session")
def make_tiny_model(tmp_path_factory, embedded_model):
    """Saves a 2-layer random model of a transformers `model_type` (extra config fields as
    keywords) with the embedded model's tokenizer, and its chat template unless `template` is
    False (a base model's tokenizer); returns its folder."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_model)

    def make(model_type: str = "llama", template: bool = True, **fields) -> str:
        config = AutoConfig.for_model(
            model_type,
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            tie_word_embeddings=True,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            **fields,
        )
        torch.manual_seed(0)
        path = tmp_path_factory.mktemp(f"tiny-{model_type}{'' if template else '-base'}")
        AutoModelForCausalLM.from_config(config).save_pretrained(path)
        saved = AutoTokenizer.from_pretrained(embedded_model)
        if not template:
            saved.chat_template = None
        saved.save_pretrained(path)
        return str(path)

    return make


@pytest.fixture(scope="session")
def tiny_base_model(make_tiny_model) -> str:
    """The tiny Llama with a tokenizer that has no chat template, as base LLaMA's has none."""
    return make_tiny_model(template=False)


@pytest.fixture(scope="session")
def tiny_model(make_tiny_model) -> str:
    """A 2-layer random Llama with the embedded model's tokenizer and chat template."""
    return make_tiny_model()
