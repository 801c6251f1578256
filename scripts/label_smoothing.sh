#!/usr/bin/env bash
# Label smoothing on the zoo's teacher, off against on (issue #20, docs/LOWBIT.md
# "Label smoothing"): trains the default teacher recipe with label smoothing
# 0.1 (scripts/teacher_recipes.sh ls27, about 19 minutes on 2 cores), then
# distils the two students that were the zoo's when this was measured, BitNet's
# W1.58A8 with SubLN and W1A8 (rows w1.58a8_lr1e-3 and w1a8_lr1e-3 of
# configs/fashion_mnist_default_students_recipes.json), from it (about 9
# minutes), and prints both tables. The "off" side is the zoo's teacher
# (`bitbench run configs/default.json --from-scratch`, label smoothing 0) and
# the same two rows distilled from it.
# Usage: scripts/label_smoothing.sh   (BITBENCH=path: another bitbench binary)
set -euo pipefail
cd "$(dirname "$0")/.."
bb=${BITBENCH:-build/cli/bitbench}
[ -x "$bb" ] || { echo "label_smoothing.sh: $bb not built (run scripts/build.sh release)" >&2; exit 1; }
BITBENCH="$bb" scripts/teacher_recipes.sh ls27
teacher=runs/teacher_recipes/ls27/teacher.safetensors
rm -rf runs/label_smoothing_students
"$bb" distill --config configs/fashion_mnist_default_students_recipes.json --teacher "$teacher" \
  --students w1.58a8_lr1e-3,w1a8_lr1e-3 --out runs/label_smoothing_students
top1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[-1]["eval_top1"])' \
  runs/teacher_recipes/ls27/history.json)
scripts/distill_table.py --teacher "$top1" runs/label_smoothing_students
