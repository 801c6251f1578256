#!/usr/bin/env bash
# The issue-#20 rule, measured: a student's logits on the integer engine
# (`validate --backend bitkernels`, from its packed file) against its
# fake-quant forward (`validate --backend onednn`, from its latent checkpoint),
# on the full test set. Prints the largest logit difference, how many images
# differ by more than 1e-3 (an activation code that flips on a rounding
# boundary after a float-order difference moves the rest of that image) and
# the argmax agreement.
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
run --checkpoint "$packed" --backend bitkernels --logits-out "$tmp/engine.npy" "$@"
/usr/bin/python3 - "$tmp/fake.npy" "$tmp/engine.npy" "$packed" <<'PY'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
d = np.abs(a - b).max(axis=1)
print(f"{sys.argv[3]}: {len(a)} images, max |engine - fake quant| {d.max():.3g} (logits up to {np.abs(a).max():.3g}), "
      f"{int((d > 1e-3).sum())} images over 1e-3, argmax agreement {100 * (a.argmax(1) == b.argmax(1)).mean():.2f}%")
PY
