#!/usr/bin/env bash
# Worked examples (agents/worked_examples.py): for each task no sample solved, at a level where the round
# solved another, N fresh training problems of that skill and level with the teacher's worked solution.
# zpd without help against zpd with 2 and with 6 worked examples a failure (3 epochs, the default), and with
# 6 and 18 at one epoch (18 at one epoch costs what 6 at three does, on three times the distinct problems). VALIDATION split, seeds
# 300-301, 3 rounds of 2000 tasks (zpd-plain is the run of scripts/teaching_demo.sh: a finished run in
# --out is reused). `python scripts/teaching_table.py runs/teaching-worked` prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
cosr compare --split validation --seeds "${SEEDS:-2}" --first-seed "${FIRST:-300}" -c scripts/teaching-ablation.toml \
  --strategies zpd-plain,zpd-worked2,zpd-worked6,zpd-worked6-e1,zpd-worked18-e1 \
  --variant "zpd-plain=zpd:curator.help.enabled=false" \
  --variant "zpd-worked2=zpd:curator.help.enabled=false,curator.help.worked_examples=2" \
  --variant "zpd-worked6=zpd:curator.help.enabled=false,curator.help.worked_examples=6" \
  --variant "zpd-worked6-e1=zpd:curator.help.enabled=false,curator.help.worked_examples=6,training.epochs=1" \
  --variant "zpd-worked18-e1=zpd:curator.help.enabled=false,curator.help.worked_examples=18,training.epochs=1" \
  --milestone +0.02 --out runs/teaching-worked "$@"
