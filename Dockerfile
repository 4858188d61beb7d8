# The Dataflow worker image: CUDA, Python, vLLM, humpback, and Beam's SDK harness boot program as
# the entrypoint. Build from the repository root and push where the workers can pull it:
#   docker build -t REGION-docker.pkg.dev/PROJECT/humpback/worker:0.1.0 .
#   docker push REGION-docker.pkg.dev/PROJECT/humpback/worker:0.1.0
# Launch jobs from Python 3.12 too: the launcher's and the workers' minor versions must match.
# BEAM_VERSION must equal the apache-beam the job is launched with: pyproject pins that one
# exactly (a test checks the pin, this line and the installed Beam against each other), as must
# the vLLM pin against pyproject's `vllm` extra.
ARG BEAM_VERSION=2.77.0
ARG PYTHON_VERSION=3.12
FROM apache/beam_python${PYTHON_VERSION}_sdk:${BEAM_VERSION} AS beam

FROM nvidia/cuda:12.9.1-cudnn-runtime-ubuntu24.04
ARG BEAM_VERSION
ARG PYTHON_VERSION
ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
RUN apt-get update \
    && apt-get install -y --no-install-recommends python${PYTHON_VERSION} python${PYTHON_VERSION}-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python${PYTHON_VERSION} -m venv /opt/venv
# vLLM brings its own CUDA build of torch; humpback's other dependencies follow.
RUN pip install vllm==0.32.0 "apache-beam[gcp,aws]==${BEAM_VERSION}"
COPY pyproject.toml README.md /src/
COPY humpback /src/humpback
COPY schemas /src/schemas
COPY beam_pipelines /src/beam_pipelines
COPY training /src/training
RUN pip install "/src[vllm,gcp,aws]"
# Beam's boot program starts the SDK harness the runner talks to.
COPY --from=beam /opt/apache/beam /opt/apache/beam
ENTRYPOINT ["/opt/apache/beam/boot"]
