#!/usr/bin/env bash
# After scripts/teaching_test.sh: its random runs taken on to six rounds (12288 tasks), so that random's tasks
# to the +5-point frontier milestone are counted rather than bounded by the default's three rounds. The
# 3-round runs in runs/teaching-test-$FIRST go on from where they stopped. About 12 minutes on two cores;
# compare.json to --json.
set -euo pipefail
cd "$(dirname "$0")/.."
first=${FIRST:-500}
cosr compare --split test --seeds 3 --first-seed "$first" --milestone +0.05 --strategies random --rounds 6 \
  --out "runs/teaching-test-$first" "$@"
