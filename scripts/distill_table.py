#!/usr/bin/env python3
"""The students of one or more `bitbench distill --out DIR` folders as a Markdown table.

For each student folder (DIR/<name>/history.json, in the order its epochs
finished): epochs run, final-epoch top-1 (the figure the notes report), the
gap to the teacher, the best epoch's top-1, and training minutes (the sum of
the epochs' seconds). A student still training or stopped early shows the
epochs it finished.

    scripts/distill_table.py --teacher 89.70 runs/lowbit [more dirs]
"""
import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+", help="distill output folders")
    ap.add_argument("--teacher", type=float, help="the teacher's top-1, for the gap column")
    ap.add_argument("--train", action="store_true", help="add the final epoch's train top-1")
    args = ap.parse_args()
    rows = []
    for d in args.dirs:
        if not os.path.isdir(d):
            sys.exit(f"{d}: not a folder")
        for name in os.listdir(d):
            path = os.path.join(d, name, "history.json")
            if not os.path.isfile(path):
                continue
            try:
                with open(path) as f:
                    h = json.load(f)
            except (OSError, ValueError) as e:
                sys.exit(f"{path}: {e}")
            if not h:
                continue
            rows.append((os.path.getmtime(path), name, h))
    if not rows:
        sys.exit("no student histories (DIR/<student>/history.json) found in " + ", ".join(args.dirs))
    cols = ["student", "epochs", "top-1 (final)"] + (["gap"] if args.teacher is not None else []) + \
        (["train top-1 (final)"] if args.train else []) + ["best epoch top-1", "minutes"]
    print("| " + " | ".join(cols) + " |")
    print("|" + " --- |" * len(cols))
    for _, name, h in sorted(rows):
        last = h[-1]
        best = max(e["eval_top1"] for e in h)
        minutes = sum(e["seconds"] for e in h) / 60
        cells = [name, str(last["epoch"]), f"{last['eval_top1']:.2f} %"]
        if args.teacher is not None:
            cells.append(f"{last['eval_top1'] - args.teacher:+.2f}")
        if args.train:
            cells.append(f"{last['train_top1']:.2f} %")
        cells += [f"{best:.2f} %", f"{minutes:.1f}"]
        print("| " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
