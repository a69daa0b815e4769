#!/usr/bin/env bash
# The test command (README, .ci/run): make sure everything is installed and the Docker engine is up,
# then run every test this machine can run: unit, conformance and the integration markers
# docker, vllm and browser, against the real engine and servers. Only `gpu` is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh

# Debian's chromium for the browser tests (Playwright drives it; no `playwright install` download).
if ! command -v chromium >/dev/null 2>&1; then
  echo "[test] apt-get install chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
python3 -c "import playwright" || { echo "[test] ERROR: playwright did not install (pip install -e '.[dev]')"; exit 1; }
bash scripts/vllm-up.sh >/dev/null  # the vLLM CPU server in its own venv (tests marked vllm)
bash scripts/postgres-up.sh --install-only >/dev/null  # PostgreSQL 15 binaries; the tests start throwaway servers (marker postgres)

exec python3 -m pytest -m "not gpu" "$@"
