#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds, and
# runs bitbench on Fashion-MNIST from Debian's dataset-fashion-mnist.
# (Until `bitbench run` lands, the main job is `bitbench data inspect`.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
mkdir -p out
./build/cli/bitbench data inspect --grid out/fashion_mnist_grid.png "$@"
