#!/usr/bin/env bash
# The test command (README, .ci/run): make sure everything is installed and the Docker engine is up,
# then run every test this machine can run: unit, conformance and the integration markers
# docker, vllm and browser, against the real engine and servers. Only `gpu` is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec python3 -m pytest -m "not gpu" "$@"
