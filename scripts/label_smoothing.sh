#!/usr/bin/env bash
# Label smoothing on the zoo's teacher, off against on (issue #20, docs/LOWBIT.md
# "Label smoothing"): trains the default teacher recipe with label smoothing
# 0.1 (scripts/teacher_recipes.sh ls27, about 19 minutes on 2 cores), then
# distils the two default students (configs/fashion_mnist_default_students.json)
# from it (about 9 minutes), and prints both tables. The "off" side is the zoo:
# its teacher and students come from `bitbench run configs/default.json
# --from-scratch`, the same recipes with label smoothing 0.
# Usage: scripts/label_smoothing.sh   (BITBENCH=path: another bitbench binary)
set -euo pipefail
cd "$(dirname "$0")/.."
bb=${BITBENCH:-build/cli/bitbench}
[ -x "$bb" ] || { echo "label_smoothing.sh: $bb not built (run scripts/build.sh release)" >&2; exit 1; }
BITBENCH="$bb" scripts/teacher_recipes.sh ls27
teacher=runs/teacher_recipes/ls27/teacher.safetensors
rm -rf runs/label_smoothing_students
"$bb" distill --config configs/fashion_mnist_default_students.json --teacher "$teacher" \
  --out runs/label_smoothing_students
top1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[-1]["eval_top1"])' \
  runs/teacher_recipes/ls27/history.json)
scripts/distill_table.py --teacher "$top1" runs/label_smoothing_students
