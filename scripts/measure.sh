#!/usr/bin/env bash
# The figures of README "Results", made again: the embedded student's held-out accuracy on both splits
# (and embedded-v4's, pretrained before the splits, on test), the audits, the default `cosr selfplay`, and
# what each part of the teacher adds on validation (scripts/teaching_ablation.sh, teaching_levers.sh,
# teaching_worked.sh) and the default compare on fresh test seeds (scripts/teaching_test.sh). About three hours on two cores. Writes JSON to docs/results/ (or $1); `python scripts/headline.py
# docs/results/*.json` prints the table. Runs go to runs/ (reused when present: delete to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/results}
mkdir -p "$out/teaching" runs
v5=training/students/embedded-v5
v4=runs/embedded-v4  # the student before the splits, from git history (commit dbf23d9)
if [ ! -f "$v4/config.json" ]; then
  mkdir -p "$v4"
  for f in config.json cosr_embedded.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json; do
    git show "dbf23d9:training/students/embedded-v4/$f" > "$v4/$f"
  done
fi
cosr audit --student "$v5" --json > "$out/audit-embedded-v5.json"
# Every reference answer of both splits, judged as a student's output: exit 0 only if all are correct.
for split in validation test; do
  cosr heldout export "runs/heldout-$split.jsonl" --split "$split"
  python -c "import json, sys; [print(json.dumps({'task': json.loads(l), 'answer': json.loads(l)['answer']})) for l in sys.stdin]" \
    < "runs/heldout-$split.jsonl" > "runs/judge-references-$split.jsonl"
  cosr judge "runs/judge-references-$split.jsonl" > /dev/null && echo "judge: every $split reference answer correct"
done
cosr eval --split test --json "$out/eval-v5-test.json"
cosr eval --split validation --json "$out/eval-v5-validation.json"
cosr eval --student-model "$v4" --split test --json "$out/eval-v4-test.json"
cosr selfplay --run-dir runs/selfplay-default
cp runs/selfplay-default/summary.json "$out/selfplay-default.json"
cosr audit runs/selfplay-default --json > "$out/audit-selfplay-default.json"
bash scripts/teaching_ablation.sh --json "$out/teaching/teaching-validation.json"
python scripts/teaching_table.py runs/teaching-validation
bash scripts/teaching_levers.sh --json "$out/teaching/teaching-levers.json"
python scripts/teaching_table.py runs/teaching-levers
bash scripts/teaching_worked.sh --json "$out/teaching/teaching-worked.json"
python scripts/teaching_table.py runs/teaching-worked
bash scripts/teaching_test.sh --json "$out/teaching/teaching-test-500.json"
python scripts/teaching_table.py runs/teaching-test-500
bash scripts/teaching_test_longer.sh --json "$out/teaching/teaching-test-500-random6.json"
python scripts/teaching_table.py runs/teaching-test-500
python scripts/headline.py "$out"/*.json
