#!/usr/bin/env python3
"""Runs the image cases of the hostile corpus (and a few readable images beside
them) through a bitbench executable and prints one Markdown row per case: exit
code, peak RSS of the child (wait4's ru_maxrss) and wall time. The before/after
table in docs/FUZZING.md comes from this script.

    /usr/bin/python3 tests/hostile/measure.py BITBENCH_EXE [--timeout 300] [CASE...]

Cases run one at a time, each in a fresh copy of the corpus (as test_hostile
runs them); a case over --timeout is killed and shown as such. The extra
readable images are written into the copy: the Pillow-compat pair needs
Debian's python3-pil (run with /usr/bin/python3).
"""
import argparse
import io
import json
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

# The corpus cases of issue #31's decode/resize list, in the table's order.
CORPUS = ["image_progressive_16384", "imagefolder_palette_trns", "imagefolder_jpeg_bomb", "imagefolder_second_ihdr",
          "image_scans_10001", "ckpt_crop_pct_tiny", "image_progressive_12000_444", "imagefolder_interlaced_budget",
          "imagefolder_bad_crc_tEXt", "imagefolder_bad_crc_zTXt", "imagefolder_bad_crc_iTXt"]

PREDICT = "predict --checkpoint {h}/seed/teacher.safetensors {h}/extra/%s"


def extra_files():
    """Readable images (exit 0 expected after the fix): name -> (bytes, command, note)."""
    from PIL import Image  # Debian's python3-pil
    good = open(os.path.join(HERE, "seed", "good.jpg"), "rb").read()
    cmyk = io.BytesIO()
    Image.new("CMYK", (24, 24), (10, 200, 30, 40)).save(cmyk, "JPEG", quality=90)
    cmyk = cmyk.getvalue()
    at = cmyk.index(b"\xff\xee")  # drop the Adobe APP14 segment
    no_adobe = cmyk[:at] + cmyk[at + 2 + int.from_bytes(cmyk[at + 2:at + 4], "big"):]
    return {
        "trailing_ffda.jpg": (good + b"\x00\xff\xda\x00\x08junk", PREDICT,
                              "JPEG with bytes after EOI that hold FF DA (Pillow reads it)"),
        "cmyk_no_adobe.jpg": (no_adobe, PREDICT, "CMYK JPEG without an Adobe marker (Pillow reads it)"),
        "palette_trns_13000.png": (image_bytes.png_palette_trns(13000, 13000),
                                   "data inspect --dataset imagefolder --data-dir {h}/extra/pal",
                                   "1-bit palette + tRNS PNG of 13000 x 13000 (169 M pixels, under Pillow's limit)"),
        "gray_12000.jpg": (image_bytes.jpeg_baseline(12000, 12000, components=1),
                           "validate --dataset imagefolder --data-dir {h}/extra/big --checkpoint {h}/seed/teacher.safetensors",
                           "baseline gray JPEG of 12000 x 12000 through validate (decode, then resize)"),
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
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    exe = os.path.abspath(a.exe)
    cases = {c["name"]: c for c in json.load(open(os.path.join(HERE, "cases.json")))}
    rows = [(n, cases[n]["args"], cases[n]["note"]) for n in CORPUS]
    extras = extra_files()
    rows += [(n, cmd % n if "%s" in cmd else cmd, note) for n, (_, cmd, note) in extras.items()]
    if a.cases:
        rows = [r for r in rows if r[0] in a.cases]
    print("| case | command | exit | peak RSS | time |")
    print("| --- | --- | --- | --- | --- |")
    for name, args, note in rows:
        with tempfile.TemporaryDirectory() as d:
            h, out = os.path.join(d, "corpus"), os.path.join(d, "out")
            shutil.copytree(HERE, h, symlinks=True)
            os.makedirs(out)
            for n, (data, _, _) in extras.items():
                sub = {"palette_trns_13000.png": "pal/a", "gray_12000.jpg": "big/a"}.get(n, "")
                path = os.path.join(h, "extra", sub, n)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "wb").write(data)
            cmd = exe + " " + args.replace("{h}", h).replace("{out}", out)
            code, rss, secs, last = run(cmd, h, a.timeout)
        shown = args.replace("{h}/", "").replace("{out}/", "out/")
        print("| %s | `bitbench %s` | %s | %.0f MiB | %.2f s |" % (name, shown, code, rss, secs), flush=True)
        if last:
            print("<!-- %s: %s -->" % (name, last[0].replace(h, "{h}")), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
