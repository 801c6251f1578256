#!/usr/bin/env bash
# The seed spread of W1.58A8 students against the zoo's 91.18 % teacher (issue
# #20, docs/LOWBIT.md "Seeds"): distils the named students of
# configs/fashion_mnist_default_students_recipes.json once per seed (the
# config's top-level seed drives initial shuffling, augmentation and batch
# order), then prints one table per seed and the mean and range of each
# student's gap. About 5 minutes per student and seed on 2 cores.
# Usage: scripts/student_seeds.sh [SEEDS [STUDENTS]]
#   SEEDS     comma-separated (default 0,1,2)
#   STUDENTS  comma-separated names (default: W1.58A8 and W1.58rA8, each without
#             and with RPReLU)
#   BITBENCH=path: another bitbench binary
#   BASE_CONFIG=path: another distil config (e.g. configs/fashion_mnist_integer.json
#             with STUDENTS=student_w1.58ra8_rprelu_int: issue #33's seeds);
#             its runs go to runs/student_seeds/<config name>/
set -euo pipefail
cd "$(dirname "$0")/.."
bb=${BITBENCH:-build/cli/bitbench}
[ -x "$bb" ] || { echo "student_seeds.sh: $bb not built (run scripts/build.sh release)" >&2; exit 1; }
seeds=${1:-0,1,2}
students=${2:-w1.58a8_lr1e-3,w1.58ra8_lr1e-3,w1.58a8_lr1e-3_rprelu,w1.58ra8_lr1e-3_rprelu}
base=${BASE_CONFIG:-configs/fashion_mnist_default_students_recipes.json}
out=runs/student_seeds
[ -n "${BASE_CONFIG:-}" ] && out=runs/student_seeds/$(basename "$base" .json)
mkdir -p "$out"
for s in ${seeds//,/ }; do
  cfg=$out/seed$s.json
  python3 - "$base" "$s" "$cfg" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["seed"] = int(sys.argv[2])
c["name"] += "_seed" + sys.argv[2]
json.dump(c, open(sys.argv[3] + ".tmp", "w"), indent=1)
PY
  mv "$cfg.tmp" "$cfg"
  rm -rf "$out/seed$s"
  "$bb" distill --config "$cfg" --students "$students" --out "$out/seed$s"
done
python3 - "$seeds" "$students" "$out" <<'PY'
import json, statistics, sys
seeds, names, out = sys.argv[1].split(","), sys.argv[2].split(","), sys.argv[3]
gaps = {n: [] for n in names}
for s in seeds:
    for st in json.load(open(f"{out}/seed{s}/students.json"))["students"]:
        if st["name"] in gaps:
            gaps[st["name"]].append((s, st["top1"], st["top1_minus_teacher"]))
print("| student | " + " | ".join(f"seed {s}" for s in seeds) + " | mean gap | range |")
print("| --- |" + " --- |" * (len(seeds) + 2))
for n, rows in gaps.items():
    g = [r[2] for r in rows]
    cells = " | ".join(f"{r[1]:.2f} % ({r[2]:+.2f})" for r in rows)
    print(f"| {n} | {cells} | {statistics.mean(g):+.2f} | {min(g):+.2f} to {max(g):+.2f} |")
PY
