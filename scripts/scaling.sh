#!/usr/bin/env bash
# Measures 1 process against `mpirun -np N` (default 2) on this machine for
# docs/SCALING.md: sharded evaluation (the shipped Fashion-MNIST teacher and
# ternary student, W1.58rA8 + RPReLU, on the 10 000 test images) and
# data-parallel training (one epoch of the default teacher recipe on the first
# 12 000 training images).
# One process uses every core; each rank is pinned to its share
# (--bind-to core). Needs the release build with MPI (scripts/build.sh release
# after install-deps.sh --test). Prints a Markdown table; keeps its runs in
# runs/scaling/.
set -euo pipefail
cd "$(dirname "$0")/.."
np="${1:-2}"
out=runs/scaling
rm -rf "$out" && mkdir -p "$out"
bb=build/cli/bitbench
export BITBENCH_PROGRESS=off OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun -np "$np" --bind-to core --map-by core)
cores="$(nproc)"

field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

echo "| work | 1 process ($cores threads) | $np ranks (pinned, $((cores / np)) thread(s) each) | speed-up |"
echo "| --- | --- | --- | --- |"
for m in fashion_mnist_default_teacher.safetensors:onednn student_w1.58ra8_rprelu.packed.safetensors:bitkernels; do
  ckpt="models/zoo/${m%%:*}" backend="${m##*:}"
  "$bb" validate --checkpoint "$ckpt" --backend "$backend" --batch-size 250 --results-file "$out/v1.json" >/dev/null
  "${mpi[@]}" "$bb" validate --checkpoint "$ckpt" --backend "$backend" --batch-size 250 --results-file "$out/v$np.json" >/dev/null
  a="$(field "$out/v1.json" samples_per_sec)" b="$(field "$out/v$np.json" samples_per_sec)"
  [ "$(field "$out/v1.json" top1)" = "$(field "$out/v$np.json" top1)" ] || { echo "top-1 differs" >&2; exit 1; }
  name="${ckpt##*/}"
  echo "| eval ${name%.safetensors} ($backend), images/s | $a | $b | $(python3 -c "print(f'{$b/$a:.2f}x')") |"
done

python3 - "$out/train.json" <<'EOF'
import json, sys
c = json.load(open("configs/fashion_mnist_default_teacher.json"))
c["name"] = "scaling"
c["train"]["epochs"] = 1
c["train"]["warmup_epochs"] = 0
c["loader"]["limit_train"] = 12000
c["loader"]["limit_eval"] = 1000
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF
"$bb" train --config "$out/train.json" --out "$out/t1" >"$out/t1.log" 2>&1
"${mpi[@]}" "$bb" train --config "$out/train.json" --out "$out/t$np" >"$out/t$np.log" 2>&1
read -r a <<<"$(python3 -c "import json; print(round(json.load(open('$out/t1/history.json'))[0]['images_per_sec'], 1))")"
read -r b s <<<"$(python3 -c "import json; h=json.load(open('$out/t$np/history.json'))[0]; print(round(h['images_per_sec'], 1), round(h['allreduce_s'], 2))")"
steps=$(( (12000 + 127) / 128 ))
params="$("$bb" model info --json "$out/t1/teacher.safetensors" | python3 -c "import json,sys; print(json.load(sys.stdin)['param_count'])")"
echo "| train 1 epoch (12 000 images, batch 128), images/s | $a | $b (allreduce ${s} s over $steps steps) | $(python3 -c "print(f'{$b/$a:.2f}x')") |"
echo
echo "gradient allreduce: $params parameters = $((params * 4)) bytes per rank and step"
