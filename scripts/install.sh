#!/usr/bin/env bash
# Install cosr and prepare what `cosr selfplay` needs, idempotently (quick when already done):
# the package with its test tools, a Docker engine with the offline-built sandbox image, and the
# embedded default student (pretrained once, cached under ~/.cache/cosr).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[install] %s\n' "$*"; }
start=$(date +%s)

# torch is pinned in pyproject.toml to the CPU wheel; an unpinned one would pull GBs of CUDA packages.
say "pip install -e '.[dev]'"
python3 -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v -e "Location '" -e "root' user" || true
python3 -c "import cosr.cli" || { say "ERROR: cosr did not install"; exit 1; }

# Debian's chromium for the browser tests (Playwright drives it; no `playwright install` download).
if ! command -v chromium >/dev/null 2>&1; then
  say "apt-get install chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
python3 -c "import playwright" || { say "ERROR: playwright did not install (pip install -e '.[dev]')"; exit 1; }

bash scripts/docker-up.sh
bash scripts/vllm-up.sh >/dev/null  # the vLLM CPU server in its own venv (tests marked vllm)
cosr student build
say "done in $(( $(date +%s) - start ))s"
