#!/usr/bin/env bash
# What each part of the teacher adds, each on and off, same seeds and budget, on the VALIDATION split (where
# settings are chosen): graded help (zpd against zpd with help off), learning from mistakes (the clipped RLOO
# objective on top of help), the teacher of teachers (the `teachers` bandit against zpd with help), and two
# choices of help: a helped answer trained on the bare task (`bare`) against with its help in the prompt
# (`hinted`, the default), and a hint rung first, picked by the RLT reward (`hint`). Writes
# compare.json into runs/teaching-validation (and where --json says); `python scripts/teaching_table.py
# runs/teaching-validation` prints the table in docs/teaching.md. About 40 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-2}
FIRST=${FIRST:-300}
cosr compare --split validation --seeds "$SEEDS" --first-seed "$FIRST" -c scripts/teaching-ablation.toml \
  --strategies zpd-plain,zpd,zpd-rloo,teachers,zpd-bare,zpd-hint \
  --variant "zpd-plain=zpd:curator.help.enabled=false" \
  --variant "zpd-rloo=zpd:training.objective=rloo" \
  --variant "zpd-bare=zpd:curator.help.form=bare" \
  --variant "zpd-hint=zpd:curator.help.hint=true" \
  --milestone +0.02 --out runs/teaching-validation "$@"
