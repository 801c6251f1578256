#!/usr/bin/env python3
"""How well ternary codes fit a checkpoint's block Linears (docs/LOWBIT.md).

For each block weight [N, K] prints ||W - s*c|| / ||W|| and the share of zero
codes for BitNet's absmean quantiser with one scale per matrix (W1.58) and with
one per output row (W1.58r): c = clamp(round(W / s), -1, 1), s = mean |W|.
Pure Python (no numpy): reads the safetensors file directly.

Usage: scripts/ternary_error.py [CHECKPOINT]   (default: the zoo's teacher)
"""
import json
import math
import struct
import sys

EPS = 1e-5  # the quantiser's, kernels/weight_formats.cpp


def tensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        start, end = meta["data_offsets"]
        yield name, meta["shape"], struct.unpack("<%df" % ((end - start) // 4), blob[8 + n + start:8 + n + end])


def ternary(ws):
    """Squared error and zero count of absmean ternary codes for one group of weights."""
    s = sum(abs(x) for x in ws) / len(ws)
    err = zeros = 0.0
    for x in ws:
        c = max(-1.0, min(1.0, round(x / (s + EPS))))
        err += (x - s * c) ** 2
        zeros += c == 0
    return err, zeros


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "models/zoo/fashion_mnist_default_teacher.safetensors"
    print("| weight | N x K | error, one scale per matrix | zeros | error, one scale per row | zeros |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, shape, w in sorted(tensors(path)):
        if not (name.startswith("blocks.") and name.endswith(".weight") and len(shape) == 2):
            continue
        N, K = shape
        norm = sum(x * x for x in w)
        e1, z1 = ternary(w)
        rows = [ternary(w[r * K:(r + 1) * K]) for r in range(N)]
        e2, z2 = sum(e for e, _ in rows), sum(z for _, z in rows)
        print(f"| {name} | {N} x {K} | {math.sqrt(e1 / norm):.3f} | {z1 / len(w):.0%} | "
              f"{math.sqrt(e2 / norm):.3f} | {z2 / len(w):.0%} |")


if __name__ == "__main__":
    main()
