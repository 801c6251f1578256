#!/usr/bin/env python3
"""Writes a BitNet student checkpoint from outside bitbench, with NumPy alone,
as docs/STUDENT_CHECKPOINT.md describes it: the packed file (ternary codes
base 3, one scale per output row) and the latent file (fp32 weights and the
quant plan), from the fp32 weights of a timm-named ViT checkpoint.

    python3 scripts/student_checkpoint_example.py TEACHER.safetensors OUT_DIR

gives OUT_DIR/student.packed.safetensors and OUT_DIR/student.safetensors,
every block Linear W1.58rA8 (patch embedding and head fp32, no SubLN),
stamped with the teacher's weights hash (bitbench.teacher_sha256). The two
hold the same student: `bitbench validate --backend bitkernels` gives the
same predictions for both (the engine re-quantises the latent file's weights
with bitbench's own rule, which this script reproduces). A student trained
elsewhere would write its own codes and scales the same way.
"""
import json
import struct
import sys

import numpy as np

from teacher_lineage import weights_sha256  # scripts/teacher_lineage.py: bitbench's weight identity

DTYPES = {"F32": np.float32, "F16": np.float16, "U8": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return tensors, meta


def write_safetensors(path, tensors, meta):
    header, offset, blobs = {"__metadata__": meta}, 0, []
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8"}[a.dtype]
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data section 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def ternary_per_row(w):
    """BitNet's absmean ternary quantiser with one scale per output row
    (bitbench's W1.58r): gamma = mean|W[n]|, code = clip(round(W / (gamma + 1e-5)), -1, 1),
    rounding half to even, in float32 as bitbench computes it."""
    w = w.astype(np.float32)
    gamma = np.abs(w).mean(axis=1, dtype=np.float64).astype(np.float32)
    codes = np.clip(np.rint(w / (gamma[:, None] + np.float32(1e-5))), -1, 1).astype(np.int8)
    return codes, gamma


def pack_tq1(codes):
    """Base 3, five codes per byte, each row padded to whole bytes with code 0:
    byte = sum((c_i + 1) * 3**i), i = 0..4 (tq1 / tq1r)."""
    n, k = codes.shape
    kp = (k + 4) // 5 * 5
    u = np.ones((n, kp), dtype=np.int32)  # padding: code 0 stored as 1
    u[:, :k] = codes.astype(np.int32) + 1
    u = u.reshape(n, kp // 5, 5)
    return (u * np.array([1, 3, 9, 27, 81], dtype=np.int32)).sum(axis=2).astype(np.uint8)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    t, meta = read_safetensors(src)
    t = {k: v.astype(np.float32) for k, v in t.items()}
    config = json.loads(meta["bitbench.config"]) if "bitbench.config" in meta else None
    if config is None:
        sys.exit("this example reads the config from bitbench.config; give one for a foreign file")
    depth, spec = config["depth"], "W1.58rA8"
    # The quant plan's one schema (docs/STUDENT_CHECKPOINT.md): every block at spec.
    plan = {"spec": spec, "patch_embed": "FP32", "head": "FP32", "subln": False, "ste": "clipped"}
    linears = ["attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"]
    quantised = {f"blocks.{i}.{l}.weight" for i in range(depth) for l in linears}

    # The lineage `bitbench run` checks: the weights hash of the teacher the student comes from.
    common = {"bitbench.config": json.dumps(config), "bitbench.quant": json.dumps(plan),
              "bitbench.teacher_sha256": weights_sha256(src)}
    if "bitbench.class_names" in meta:
        common["bitbench.class_names"] = meta["bitbench.class_names"]

    # The latent file: fp32 weights under timm names, the plan in bitbench.quant.
    write_safetensors(f"{out}/student.safetensors", t, {**common, "bitbench.format": "bitbench-vit"})

    # The packed file: each quantised weight as U8 codes [N, row_bytes] plus <name>.scale F32 [N].
    packed, packing = {}, {}
    for name, w in t.items():
        if name not in quantised:
            packed[name] = w
            continue
        codes, scale = ternary_per_row(w)
        packed[name] = pack_tq1(codes)
        packed[name + ".scale"] = scale
        packing[name] = {"format": "tq1r", "shape": list(w.shape), "spec": spec}
    write_safetensors(f"{out}/student.packed.safetensors", packed,
                      {**common, "bitbench.format": "bitbench-packed", "bitbench.packing": json.dumps(packing)})
    print(f"wrote {out}/student.safetensors and {out}/student.packed.safetensors")


if __name__ == "__main__":
    main()
