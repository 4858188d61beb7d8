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
    from tests.tiny_run import make_tiny_model as save

    def make(model_type: str = "llama", template: bool = True, **fields) -> str:
        path = tmp_path_factory.mktemp(f"tiny-{model_type}{'' if template else '-base'}")
        return save(path, embedded_model, model_type, template, **fields)

    return make


@pytest.fixture(scope="session")
def tiny_base_model(make_tiny_model) -> str:
    """The tiny Llama with a tokenizer that has no chat template, as base LLaMA's has none."""
    return make_tiny_model(template=False)


@pytest.fixture(scope="session")
def tiny_model(make_tiny_model) -> str:
    """A 2-layer random Llama with the embedded model's tokenizer and chat template."""
    return make_tiny_model()


@pytest.fixture(scope="session")
def gguf() -> str:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.fail("llama-cpp-python[server] is not installed; run tools/setup.sh")
    from humpback.inference.embedded_model import gguf_path

    return str(gguf_path())


@pytest.fixture(scope="session")
def server(gguf, tmp_path_factory):
    from tests.servers import LlamaServer

    running = LlamaServer(gguf, tmp_path_factory.mktemp("server") / "log").start()
    yield running
    running.stop()
