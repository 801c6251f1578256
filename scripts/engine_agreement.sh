#!/usr/bin/env bash
# The issue-#20 rule, measured: a student's logits on the integer engine
# (`validate --backend bitkernels`, from its packed file) against its
# fake-quant forward (`validate --backend onednn`, from its latent checkpoint),
# on the full test set. Prints the largest logit difference, how many images
# differ by more than 1e-3 (an activation code that flips on a rounding
# boundary after a float-order difference moves the rest of that image) and
# the argmax agreement. ENGINE=onednn-int8 runs the other integer engine;
# BITBENCH_ISA=avx2|generic forces a kernel path (core/simd.hpp). Plain
# Python reads the .npy files (no numpy needed).
#   usage: scripts/engine_agreement.sh LATENT.safetensors PACKED.safetensors [validate flags...]
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 LATENT.safetensors PACKED.safetensors [validate flags...]" >&2
  exit 2
fi
latent=$1 packed=$2
shift 2
bin=${BITBENCH:-$(dirname "$0")/../build/cli/bitbench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {  # validate's progress is kept out of the way; on failure its messages are shown
  "$bin" validate "$@" > /dev/null 2> "$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
}
run --checkpoint "$latent" --backend onednn --logits-out "$tmp/fake.npy" "$@"
run --checkpoint "$packed" --backend "${ENGINE:-bitkernels}" --logits-out "$tmp/engine.npy" "$@"
/usr/bin/python3 - "$tmp/fake.npy" "$tmp/engine.npy" "$packed" "${ENGINE:-bitkernels}" "${BITBENCH_ISA:-best ISA}" <<'PY'
import array, ast, struct, sys

def load(path):  # a float32 [N, K] .npy as validate writes it
    raw = open(path, "rb").read()
    n = struct.unpack("<H", raw[8:10])[0]
    header = ast.literal_eval(raw[10:10 + n].decode())
    if header["descr"] != "<f4" or header["fortran_order"] or len(header["shape"]) != 2:
        sys.exit(f"engine_agreement.sh: {path}: expected little-endian float32 [N, K], got {header}")
    a = array.array("f")
    a.frombytes(raw[10 + n:])
    return a, header["shape"]

(a, (N, K)), (b, shape) = load(sys.argv[1]), load(sys.argv[2])
if shape != [N, K] and tuple(shape) != (N, K):
    sys.exit(f"engine_agreement.sh: the two runs gave logits of shapes {N}x{K} and {shape}")
worst = over = agree = 0
for i in range(N):
    ra, rb = a[i * K:(i + 1) * K], b[i * K:(i + 1) * K]
    d = max(abs(x - y) for x, y in zip(ra, rb))
    worst, over = max(worst, d), over + (d > 1e-3)
    agree += max(range(K), key=ra.__getitem__) == max(range(K), key=rb.__getitem__)
print(f"{sys.argv[3]} on {sys.argv[4]} ({sys.argv[5]}): {N} images, max |engine - fake quant| {worst:.3g} "
      f"(logits up to {max(abs(x) for x in a):.3g}), {over} images over 1e-3, argmax agreement {100 * agree / N:.2f}%")
PY
