#!/usr/bin/env bash
# Install cosr and prepare what `cosr selfplay` needs, idempotently (quick when already done):
# the package with its test tools, a Docker engine with the offline-built sandbox image, and the
# embedded default student. What only the tests need (chromium, the vLLM venv) is in test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[install] %s\n' "$*"; }
start=$(date +%s)

# torch is pinned in pyproject.toml to the CPU wheel; an unpinned one would pull GBs of CUDA packages.
say "pip install -e '.[dev]'"
python3 -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v -e "Location '" -e "root' user" || true
python3 -c "import cosr.cli" || { say "ERROR: cosr did not install"; exit 1; }

bash scripts/docker-up.sh
cosr student build  # says where the embedded student is (it ships with cosr; builds only if missing)
# Prove once that no held-out problem is in its pretraining (replays it, ~2 minutes the first time; kept in
# COSR_HOME), so every run's summary.json can record it without the wait.
cosr audit > /dev/null || { say "ERROR: cosr audit found held-out problems in the embedded student's pretraining"; exit 1; }
say "done in $(( $(date +%s) - start ))s"
