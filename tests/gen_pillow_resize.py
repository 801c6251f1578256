#!/usr/bin/env python3
"""Pillow's own resize results for tests/test_transforms.cpp (made at test time
with Debian's python3-pil): random 8-bit images of odd sizes, grayscale and
RGB, resized with every filter to shrinks and enlargements. Writes, into the
folder given, case_<i>.in (rows × cols × channels bytes), case_<i>.out (Pillow's
result) and cases.txt: one line per case "i w h c out_w out_h filter"."""
import random
import sys

from PIL import Image

out = sys.argv[1]
filters = {"nearest": Image.NEAREST, "box": Image.BOX, "bilinear": Image.BILINEAR,
           "hamming": Image.HAMMING, "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS}
# (w, h) -> (out_w, out_h): 1x1 both ways, a 3x500 sliver, the ImageNet-typical
# 500x375 and 1024x768 shrinks to timm's Resize(256) sizes, upscales, odd ratios.
sizes = [((1, 1), (1, 1)), ((1, 1), (5, 3)), ((3, 500), (1, 171)), ((500, 375), (341, 256)),
         ((375, 500), (256, 341)), ((1024, 768), (341, 256)), ((7, 5), (20, 13)), ((64, 48), (63, 49)),
         ((33, 17), (8, 9)), ((224, 224), (256, 256))]
rng = random.Random(7)
lines = []
i = 0
for (w, h), (ow, oh) in sizes:
    for mode, c in (("L", 1), ("RGB", 3)):
        data = bytes(rng.randrange(256) for _ in range(w * h * c))
        img = Image.frombytes(mode, (w, h), data)
        for name, f in filters.items():
            res = img.resize((ow, oh), f)
            with open(f"{out}/case_{i}.in", "wb") as fh:
                fh.write(data)
            with open(f"{out}/case_{i}.out", "wb") as fh:
                fh.write(res.tobytes())
            lines.append(f"{i} {w} {h} {c} {ow} {oh} {name}")
            i += 1
with open(f"{out}/cases.txt", "w") as fh:
    fh.write("\n".join(lines) + "\n")
