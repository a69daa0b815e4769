#!/usr/bin/env bash
# The issue's yardstick for the teacher, on the TEST split: the default `cosr compare` (random, reasoning-gym's
# threshold rule, zpd: the teacher chosen on validation, docs/teaching.md) on three seeds never used before,
# to a +5-point frontier milestone. Seeds 400-402 measured zpd before its worked examples; 500-502 after
# (FIRST=500, the default). About 40 minutes on two cores; compare.json to --json.
set -euo pipefail
cd "$(dirname "$0")/.."
first=${FIRST:-500}
cosr compare --split test --seeds 3 --first-seed "$first" --milestone +0.05 --out "runs/teaching-test-$first" "$@"
