#!/usr/bin/env bash
# The teacher-recipe measurements behind the zoo's teacher (docs/LOWBIT.md,
# "The zoo's teacher"): each variant is configs/fashion_mnist_default_teacher.json
# with a few keys changed, trained with `bitbench train` into
# runs/teacher_recipes/<variant>/, then scripts/distill_table.py's table of
# them (final-epoch top-1, train top-1, minutes). Variants (name=epochs:change):
#   base6   6 epochs, the default recipe (pad 1 + flip)
#   lr3     6 epochs, peak lr 3e-3
#   bs64    6 epochs, batch 64
#   noaug6  6 epochs, no augmentation
#   flip6   6 epochs, flip only (no pad-and-crop)
#   flip26  26 epochs, flip only
#   ls27    27 epochs, the default recipe with label smoothing 0.1 (the
#           default is 0); scripts/label_smoothing.sh distils the default
#           students from it
# The 27-epoch default itself is the teacher stage of
#   bitbench run configs/default.json --from-scratch
# Usage: scripts/teacher_recipes.sh [variant ...]   (default: all; 6-epoch
# variants take about 4.5 minutes each on 2 cores, flip26 and ls27 about 19)
set -euo pipefail
cd "$(dirname "$0")/.."
bb=${BITBENCH:-build/cli/bitbench}  # BITBENCH: another binary (a frozen copy for long runs)
[ -x "$bb" ] || { echo "teacher_recipes.sh: $bb not built (run scripts/build.sh release)" >&2; exit 1; }
out=runs/teacher_recipes
mkdir -p "$out"
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(base6 lr3 bs64 noaug6 flip6 flip26)
for v in "${variants[@]}"; do
  python3 - "$v" "$out/$v.json" <<'EOF'
import json, sys
v, path = sys.argv[1], sys.argv[2]
c = json.load(open("configs/fashion_mnist_default_teacher.json"))
c["name"] = "teacher_recipe_" + v
t, a, l = c["train"], c["augment"], c["loader"]
changes = {
    "base6": lambda: t.update(epochs=6),
    "lr3": lambda: t.update(epochs=6, lr=0.003),
    "bs64": lambda: (t.update(epochs=6), l.update(batch_size=64)),
    "noaug6": lambda: (t.update(epochs=6), a.update(pad=0, hflip=0.0)),
    "flip6": lambda: (t.update(epochs=6), a.update(pad=0)),
    "flip26": lambda: (t.update(epochs=26), a.update(pad=0)),
    "ls27": lambda: t.update(label_smoothing=0.1),
}
if v not in changes:
    sys.exit(f"teacher_recipes.sh: unknown variant {v!r} (known: {', '.join(changes)})")
changes[v]()
json.dump(c, open(path, "w"), indent=1)
EOF
  rm -rf "$out/$v"
  "$bb" train --config "$out/$v.json" --out "$out/$v"
done
scripts/distill_table.py --train "$out"
