#!/usr/bin/env python3
"""Runs the image files of the hostile corpus (and a few readable images beside
them) through a bitbench executable as a user would, and prints one Markdown
row per case: exit code, peak RSS of the child (wait4's ru_maxrss) and wall
time. The before/after table in docs/FUZZING.md comes from this script.

    /usr/bin/python3 tests/hostile/measure.py BITBENCH_EXE [--timeout 300] [ROW...]

Rows run one at a time, each in a fresh copy of the corpus (cwd = the copy);
one over --timeout is killed and shown as such. The readable images are
written into the copy (the CMYK one by Debian's python3-pil: run with
/usr/bin/python3). stderr gets each run's last line.
"""
import argparse
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import image_bytes

HERE = os.path.dirname(os.path.abspath(__file__))

PREDICT = "predict --checkpoint {h}/seed/teacher.safetensors "
INSPECT = "data inspect --dataset imagefolder --data-dir {h}/"
VALIDATE = "validate --checkpoint {h}/seed/teacher.safetensors --dataset imagefolder --data-dir {h}/"

# The table's rows: issue #31's cases (as the issue ran them: validate for the
# ImageFolder JPEG and the crop_pct checkpoint), the corpus's other image
# cases, then readable images (Pillow-compat, and two within the budget).
ROWS = [
    ("progressive_16384.jpg", PREDICT + "{h}/data/images/progressive_16384.jpg"),
    ("palette_trns.png (32 KB)", INSPECT + "data/imagefolder_palette_trns"),
    ("bomb.jpg (151 B) via validate", VALIDATE + "data/imagefolder_jpeg_bomb"),
    ("second_ihdr.png", INSPECT + "data/imagefolder_second_ihdr"),
    ("scans_10001.jpg", PREDICT + "{h}/data/images/scans_10001.jpg"),
    ("crop_pct 5e-7 via validate", "validate --checkpoint {h}/ckpt/crop_pct_tiny.safetensors --dataset cifar10"
                                   " --data-dir {h}/data/cifar10_ok"),
    ("progressive_12000_444.jpg", PREDICT + "{h}/data/images/progressive_12000_444.jpg"),
    ("interlaced.png", INSPECT + "data/imagefolder_interlaced_budget"),
    ("bad_crc_tEXt.png", INSPECT + "data/imagefolder_bad_crc_tEXt"),
    ("bad_crc_zTXt.png", INSPECT + "data/imagefolder_bad_crc_zTXt"),
    ("bad_crc_iTXt.png", INSPECT + "data/imagefolder_bad_crc_iTXt"),
    ("trailing_ffda.jpg", PREDICT + "{h}/extra/trailing_ffda.jpg"),
    ("cmyk_no_adobe.jpg", PREDICT + "{h}/extra/cmyk_no_adobe.jpg"),
    ("junk_between_segments.jpg", PREDICT + "{h}/extra/junk_between_segments.jpg"),
    ("palette_trns_13000.png", INSPECT + "extra/pal"),
    ("gray_12000.jpg via validate", VALIDATE + "extra/big"),
]


def extra_files():
    """Readable images written into the corpus copy: path below {h}/extra -> bytes."""
    from PIL import Image  # Debian's python3-pil
    good = open(os.path.join(HERE, "seed", "good.jpg"), "rb").read()
    cmyk = io.BytesIO()
    Image.new("CMYK", (24, 24), (10, 200, 30, 40)).save(cmyk, "JPEG", quality=90)
    cmyk = cmyk.getvalue()
    at = cmyk.index(b"\xff\xee")  # drop the Adobe APP14 segment
    no_adobe = cmyk[:at] + cmyk[at + 2 + int.from_bytes(cmyk[at + 2:at + 4], "big"):]
    return {
        "trailing_ffda.jpg": good + b"\x00\xff\xda\x00\x08junk",  # bytes after EOI holding FF DA
        "cmyk_no_adobe.jpg": no_adobe,
        "junk_between_segments.jpg": good[:20] + b"junk" + good[20:],  # after APP0's 16 bytes (Pillow reads it)
        "pal/a/palette_trns_13000.png": image_bytes.png_palette_trns(13000, 13000),  # 169 M pixels
        "big/a/gray_12000.jpg": image_bytes.jpeg_baseline(12000, 12000, components=1),
    }


def run(cmd, cwd, timeout):
    """(exit code or 'killed', peak RSS MiB, seconds) of `cmd` run by sh in its own process group."""
    t0 = time.monotonic()
    p = subprocess.Popen(["/bin/sh", "-c", cmd], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True, env=dict(os.environ, BITBENCH_PROGRESS="plain"))
    killed = []
    timer = threading.Timer(timeout, lambda: (killed.append(1), os.killpg(p.pid, signal.SIGKILL)))
    timer.start()
    err = p.stderr.read().decode(errors="replace")
    _, status, ru = os.wait4(p.pid, 0)
    timer.cancel()
    seconds = time.monotonic() - t0
    code = "killed at %d s" % timeout if killed else str(os.waitstatus_to_exitcode(status))
    return code, ru.ru_maxrss / 1024.0, seconds, err.strip().splitlines()[-1:] if err.strip() else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("cases", nargs="*", help="row names to run (default: all)")
    a = ap.parse_args()
    exe = os.path.abspath(a.exe)
    extras = extra_files()
    rows = [r for r in ROWS if not a.cases or r[0] in a.cases]
    print("| case | command | exit | peak RSS | time |")
    print("| --- | --- | --- | --- | --- |")
    for name, args in rows:
        with tempfile.TemporaryDirectory() as d:
            h, out = os.path.join(d, "corpus"), os.path.join(d, "out")
            shutil.copytree(HERE, h, symlinks=True)
            os.makedirs(out)
            for rel, data in extras.items():
                path = os.path.join(h, "extra", rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "wb").write(data)
            code, rss, secs, last = run(exe + " " + args.replace("{h}", h), h, a.timeout)
            last = [line.replace(h, "{h}") for line in last]
        print("| %s | `bitbench %s` | %s | %.0f MiB | %.2f s |" % (name, args.replace("{h}/", ""), code, rss, secs),
              flush=True)
        if last:
            print("%s: %s" % (name, last[0]), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
