# The image of compose.yaml's app and Ray nodes: cosr with its dependencies, torch's CPU wheel pinned (the
# CUDA build of the same version on a GPU node: build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128).
FROM python:3.11-slim
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir "torch==2.13.0" --index-url "$TORCH_INDEX"
WORKDIR /opt/cosr
COPY pyproject.toml README.md ./
COPY cosr cosr
COPY agents agents
COPY graphs graphs
COPY sandbox sandbox
COPY training training
RUN pip install --no-cache-dir ".[postgres]"
