#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds, and
# runs `bitbench run configs/default.json` — the shipped Fashion-MNIST teacher
# (Debian's dataset-fashion-mnist) and its W1.58A8 and W1A8 students, with the
# oneDNN fp32 and int8 baselines, on every backend — then prints the results
# table and where report.html is. Extra arguments go to `bitbench run`
# (e.g. --quick, --from-scratch, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
./build/cli/bitbench run configs/default.json "$@"
