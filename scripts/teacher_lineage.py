#!/usr/bin/env python3
"""A safetensors file's weight identity, as bitbench computes it
(models/safetensors.hpp: weights_sha256), and the lineage record a student
carries (metadata bitbench.teacher_sha256).

  teacher_lineage.py hash FILE                  print FILE's weights SHA-256
  teacher_lineage.py stamp STUDENT TEACHER      record in STUDENT that it was distilled
                                                from TEACHER (rewrites STUDENT's header only;
                                                its tensor bytes are kept as they are)

The hash: SHA-256 over the tensors sorted by name, each as
`name \\0 dtype \\0 dims joined by "," \\0` followed by its raw bytes. Standard
library only, so a PyTorch user can stamp a student trained elsewhere.
`stamp` is for students whose teacher is known by other means (the zoo's,
distilled before bitbench recorded lineage); `bitbench distill` records it itself.
"""
import hashlib
import json
import os
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def weights_sha256(path):
    header, data = read(path)
    h = hashlib.sha256()
    for name in sorted(k for k in header if k != "__metadata__"):
        t = header[name]
        begin, end = t["data_offsets"]
        h.update(name.encode() + b"\0" + t["dtype"].encode() + b"\0" + ",".join(map(str, t["shape"])).encode() + b"\0")
        h.update(data[begin:end])
    return h.hexdigest()


def stamp(student, teacher):
    header, data = read(student)
    meta = header.setdefault("__metadata__", {})
    meta["bitbench.teacher_sha256"] = weights_sha256(teacher)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = student + ".tmp.%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, student)
    return meta["bitbench.teacher_sha256"]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "hash":
        print(weights_sha256(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "stamp":
        print("%s: bitbench.teacher_sha256 = %s" % (sys.argv[2], stamp(sys.argv[2], sys.argv[3])))
    else:
        sys.exit(__doc__)
