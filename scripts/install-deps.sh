#!/usr/bin/env bash
# Installs the Debian packages bitbench needs. Idempotent: when every package is
# already present it only checks and returns (no apt-get update, no network).
# The build needs libjs-vega too: report.html inlines Vega 5 from it
# (reports/CMakeLists.txt), so the page draws its plots offline.
# --test adds what the tests use beyond the build: python3-pil (Pillow makes
# the reference images, decodes and resizes the transform tests match),
# python3-torch and python3-torchvision (timm's eval transform and a
# DeiT-shaped forward for the end-to-end ImageNet check), python3-jsonschema (report
# schema check), chromium (renders report.html headless), and clang with its
# sanitizer/libFuzzer runtimes and OpenMP for the ASan/UBSan, fuzzing and TSan
# builds, and OpenMPI (the release build then scales out; tests use mpirun).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libopencv-core-dev libopencv-imgproc-dev libjpeg62-turbo-dev libpng-dev
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers
  nlohmann-json3-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  zlib1g-dev
  libcli11-dev
  libjs-vega
  dataset-fashion-mnist
)
if [ "${1:-}" = "--test" ]; then
  PACKAGES+=(python3-pil python3-torch python3-torchvision python3-jsonschema chromium clang libclang-rt-14-dev libomp-dev openmpi-bin libopenmpi-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
