#!/usr/bin/env bash
# Beyond the teacher's parts (scripts/teaching_ablation.sh): does a larger update a round move the frontier
# more? zpd (help off, the default) against the same at twice the learning rate and at twice the epochs, on
# the VALIDATION split, seeds 300-301, 3 rounds of 2000 tasks. About 20 minutes on two cores;
# `python scripts/teaching_table.py runs/teaching-levers` prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
cosr compare --split validation --seeds "${SEEDS:-2}" --first-seed "${FIRST:-300}" \
  --strategies zpd,zpd-lr2e-3,zpd-epochs6 \
  --variant "zpd-lr2e-3=zpd:training.learning_rate=2e-3" \
  --variant "zpd-epochs6=zpd:training.epochs=6" \
  --milestone +0.02 --out runs/teaching-levers "$@"
