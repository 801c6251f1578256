#!/usr/bin/env python3
"""Images as users feed them, and what Pillow and torchvision make of them, for
tests/test_decode.cpp (made at test time with Debian's python3-pil and
python3-torchvision). Into the folder given it writes each image file, its
Image.open(f).convert("RGB") bytes (<name>.rgb) and, for the photo-like ones,
torchvision's eval tensors with timm's settings (<name>.<setting>.f32: float32
CHW): deit (Resize(256, bicubic), CenterCrop(224), ImageNet mean/std) and
augreg (Resize(248, bicubic), CenterCrop(224), mean/std 0.5).
cases.txt: one line per image "name width height tensors(0|1)"; refused.txt: one
line per file Pillow refuses to open or convert (bitbench must refuse them too)."""
import io
import random
import struct
import sys
import zlib

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

out = sys.argv[1]
rng = random.Random(19)
lines = []


def photo(w, h, mode="RGB"):
    """Smooth gradients plus noise: JPEG-like content whose resize is not trivial."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for k in range(3):
        base = 127 + 100 * np.sin(x / (3 + 7 * k) + y / (5 + 3 * k)) * np.cos((x - y) / (11 + k))
        chans.append(base + np.array([rng.gauss(0, 12) for _ in range(w * h)]).reshape(h, w))
    a = np.clip(np.stack(chans, -1), 0, 255).astype(np.uint8)
    return Image.fromarray(a, "RGB").convert(mode) if mode != "RGB" else Image.fromarray(a, "RGB")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(w, h, bit_depth, color_type, rows):
    """A PNG written by hand (filter 0 rows) for depths Pillow cannot save."""
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    body = b"".join(b"\x00" + r for r in rows)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(body)) + png_chunk(b"IEND", b"")


settings = {
    "deit": transforms.Compose([transforms.Resize(256, interpolation=transforms.InterpolationMode.BICUBIC),
                                transforms.CenterCrop(224), transforms.ToTensor(),
                                transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))]),
    "augreg": transforms.Compose([transforms.Resize(248, interpolation=transforms.InterpolationMode.BICUBIC),
                                  transforms.CenterCrop(224), transforms.ToTensor(),
                                  transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]),
}


def add(name, data, tensors):
    path = f"{out}/{name}"
    with open(path, "wb") as f:
        f.write(data)
    img = Image.open(path).convert("RGB")
    with open(path + ".rgb", "wb") as f:
        f.write(img.tobytes())
    if tensors:
        for key, t in settings.items():
            with torch.no_grad():
                x = t(img).numpy().astype(np.float32)
            with open(f"{path}.{key}.f32", "wb") as f:
                f.write(x.tobytes())
    lines.append(f"{name} {img.size[0]} {img.size[1]} {1 if tensors else 0}")


def saved(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


# JPEGs: odd sizes, every chroma subsampling, progressive, gray, CMYK.
for (w, h) in [(1, 1), (3, 500), (500, 375), (375, 500), (1024, 768), (250, 200), (7, 5)]:
    add(f"rgb_{w}x{h}.jpg", saved(photo(w, h), "JPEG", quality=90), True)
add("rgb_444.jpg", saved(photo(333, 251), "JPEG", quality=95, subsampling=0), True)
add("rgb_422.jpg", saved(photo(333, 251), "JPEG", quality=75, subsampling=1), True)
add("progressive.jpg", saved(photo(500, 375), "JPEG", quality=85, progressive=True), True)
add("gray.jpg", saved(photo(401, 299, "L"), "JPEG", quality=90), True)
add("cmyk.jpg", saved(photo(257, 193, "CMYK"), "JPEG", quality=90), True)
add("cmyk_1x1.jpg", saved(photo(1, 1, "CMYK"), "JPEG", quality=90), False)
exif = Image.Exif()
exif[0x0112] = 6  # orientation "rotate 90": Pillow's open() ignores it, and so must bitbench
add("exif_rotated.jpg", saved(photo(64, 40), "JPEG", quality=90, exif=exif.tobytes()), False)
# PNGs: RGB, RGBA, palette (with and without transparency), gray, gray+alpha, 1-bit, 16-bit.
p = photo(211, 157)
add("rgb.png", saved(p, "PNG"), True)
rgba = p.copy()
rgba.putalpha(Image.fromarray((np.arange(211 * 157) % 256).astype(np.uint8).reshape(157, 211)))
add("rgba.png", saved(rgba, "PNG"), True)
add("palette.png", saved(p.convert("P", palette=Image.ADAPTIVE, colors=37), "PNG"), True)
add("palette_trns.png", saved(p.convert("P", palette=Image.ADAPTIVE, colors=16), "PNG", transparency=3), False)
add("gray.png", saved(p.convert("L"), "PNG"), False)
add("gray_alpha.png", saved(rgba.convert("LA"), "PNG"), False)
add("bilevel.png", saved(p.convert("1"), "PNG"), False)
g16 = (np.arange(97 * 61).reshape(61, 97) * 11 % 65536).astype(np.uint16)
add("gray16.png", saved(Image.fromarray(g16.astype(np.int32), "I").convert("I;16"), "PNG"), False)
rows16 = [bytes(rng.randrange(256) for _ in range(45 * 6)) for _ in range(33)]
add("rgb16.png", raw_png(45, 33, 16, 2, rows16), False)
rows16a = [bytes(rng.randrange(256) for _ in range(45 * 8)) for _ in range(33)]
add("rgba16.png", raw_png(45, 33, 16, 6, rows16a), False)
rows_la16 = [bytes(rng.randrange(256) for _ in range(45 * 4)) for _ in range(33)]
add("gray_alpha16.png", raw_png(45, 33, 16, 4, rows_la16), False)
for depth in (2, 4):
    per_row = (37 * depth + 7) // 8
    add(f"gray{depth}.png", raw_png(37, 19, depth, 0, [bytes(rng.randrange(256) for _ in range(per_row)) for _ in range(19)]), False)
# Files as Pillow reads them although a strict reader might not, and files it refuses.
def without_segment(jpeg, marker):
    """The JPEG without its first segment of this marker (e.g. Adobe's APP14)."""
    at = jpeg.index(bytes([0xFF, marker]))
    return jpeg[:at] + jpeg[at + 2 + int.from_bytes(jpeg[at + 2:at + 4], "big"):]


def png_chunks(png):
    pos, chunks = 8, []
    while pos < len(png):
        n = struct.unpack(">I", png[pos:pos + 4])[0]
        chunks.append(png[pos:pos + 12 + n])
        pos += 12 + n
    return chunks


def bad_crc(chunk):
    return chunk[:-1] + bytes([chunk[-1] ^ 1])


# Bytes after EOI that hold FF DA (a start-of-scan marker): Pillow and libjpeg stop at EOI.
add("trailing_ffda.jpg", saved(photo(61, 43), "JPEG", quality=90) + b"\x00\xff\xda\x00\x0c\x03junk\xff\xd8\xff\xda", False)
# Bytes between two segments that are no marker: libjpeg skips them with a warning, and Pillow reads the file.
plain = saved(photo(29, 31), "JPEG", quality=90)
at = 4 + int.from_bytes(plain[4:6], "big")  # after APP0
add("junk_between_segments.jpg", plain[:at] + b"junk" + plain[at:], False)
# CMYK without the Adobe marker that says how its samples are stored: Pillow assumes Adobe's inverted CMYK anyway.
add("cmyk_no_adobe.jpg", without_segment(saved(photo(57, 41, "CMYK"), "JPEG", quality=90), 0xEE), False)
# Pillow checks CRCs of the chunks before the first IDAT only: a bad one after it, even IDAT's, is read.
pc = png_chunks(saved(photo(23, 17), "PNG"))
idat = next(i for i, c in enumerate(pc) if c[4:8] == b"IDAT")
text = png_chunk(b"tEXt", b"Comment\x00after the pixels")
add("text_bad_crc_after_idat.png", b"\x89PNG\r\n\x1a\n" + b"".join(pc[:idat + 1] + [bad_crc(text)] + pc[idat + 1:]), False)
add("idat_bad_crc.png", b"\x89PNG\r\n\x1a\n" + b"".join(pc[:idat] + [bad_crc(pc[idat])] + pc[idat + 1:]), False)
refused = []
for kind, body in ((b"tEXt", b"Comment\x00x"), (b"zTXt", b"Comment\x00\x00" + zlib.compress(b"x")),
                   (b"iTXt", b"Comment\x00\x00\x00\x00\x00x")):
    name = "bad_crc_%s.png" % kind.decode()
    data = b"\x89PNG\r\n\x1a\n" + b"".join(pc[:idat] + [bad_crc(png_chunk(kind, body))] + pc[idat:])
    with open(f"{out}/{name}", "wb") as f:
        f.write(data)
    try:
        Image.open(io.BytesIO(data)).convert("RGB")
    except Exception:  # SyntaxError inside open(): "broken PNG file (bad header checksum ...)"
        refused.append(name)
with open(f"{out}/cases.txt", "w") as f:
    f.write("\n".join(lines) + "\n")
with open(f"{out}/refused.txt", "w") as f:
    f.write("\n".join(refused) + "\n")
