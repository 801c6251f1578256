#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing
# (scripts/install-deps.sh), builds the release flavour's bitbench target only
# (scripts/build.sh; the test command builds the rest in the same folder),
# and runs `bitbench run configs/default.json`: the shipped Fashion-MNIST
# teacher (Debian's dataset-fashion-mnist) in fp32 on oneDNN, its W8A8
# post-training-quantised copy on oneDNN int8, and its precision ladder of
# seven students on bitbench's bit kernels — ternary W1.58rA8 with RPReLU (also
# integer-only), W1A8, W1A4, W1A2, W1A1 and a searched mixed-precision one; the
# first two also on oneDNN int8 —; accuracy, fidelity to the teacher, memory,
# latency in interleaved rounds, modelled energy, the Pareto fronts, and the
# formats at DeiT shapes (about 3 minutes). It prints the results table and writes
# runs/fashion_mnist_default/report.{html,md,json} and results.csv. Extra
# arguments go to `bitbench run` (e.g. --quick, --from-scratch, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release bitbench
./build/cli/bitbench run configs/default.json "$@"
