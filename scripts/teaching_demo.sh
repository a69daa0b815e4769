#!/usr/bin/env bash
# The teacher's whole worked solution as a rung (BREAD's expert prefix "up to all of it"; a worked example):
# zpd without help against zpd whose ladder ends with the full worked solution (prefixes 0.34, 0.67, 1.0) and
# against that rung alone, the helped answers trained on the bare task (form bare: the task, then the
# teacher's steps and the student's answer). VALIDATION split, seeds 300-301, 3 rounds of 2000 tasks; about
# 35 minutes on two cores. `python scripts/teaching_table.py runs/teaching-demo` prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
cosr compare --split validation --seeds "${SEEDS:-2}" --first-seed "${FIRST:-300}" -c scripts/teaching-ablation.toml \
  --strategies zpd-plain,zpd-demo,zpd-demo-only \
  --variant "zpd-plain=zpd:curator.help.enabled=false" \
  --variant 'zpd-demo=zpd:curator.help.prefixes=[0.34,0.67,1.0],curator.help.form="bare"' \
  --variant 'zpd-demo-only=zpd:curator.help.prefixes=[1.0],curator.help.form="bare"' \
  --milestone +0.02 --out runs/teaching-demo "$@"
