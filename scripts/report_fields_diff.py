#!/usr/bin/env python3
"""Compares two report.json files field by field: which paths only one has,
and which values differ, leaving out what changes from run to run by nature
(times, latency figures, memory read from the OS, the environment's clock and
load). Used to show that a redesign kept every figure of the main job's report.

usage: scripts/report_fields_diff.py BEFORE/report.json AFTER/report.json
Exit 0 always; prints counts and the paths.
"""
import json
import re
import sys

# Paths (dot-joined, list indices as numbers) whose values are measured anew each run.
VOLATILE = [
    r"^created_utc$", r"^run\.", r"^stages\.", r"^environment\.", r"^config_hash$",
    r"^latency_protocol\.", r"\.latency", r"\.speedup", r"_rss_", r"\.eval_seconds$",
    r"\.images_per_second$", r"^models\.\d+\.rounds", r"\.seconds$", r"peak_rss_scope",
]


def flatten(v, prefix, out):
    if isinstance(v, dict):
        for k, x in v.items():
            flatten(x, f"{prefix}.{k}" if prefix else k, out)
    elif isinstance(v, list) and v and all(isinstance(x, (dict, list)) for x in v):
        for i, x in enumerate(v):
            flatten(x, f"{prefix}.{i}", out)
    else:
        out[prefix] = v


def main():
    a, b = ({}, {})
    flatten(json.load(open(sys.argv[1])), "", a)
    flatten(json.load(open(sys.argv[2])), "", b)
    volatile = lambda p: any(re.search(r, p) for r in VOLATILE)
    only_a = sorted(p for p in a if p not in b)
    only_b = sorted(p for p in b if p not in a)
    both = [p for p in a if p in b]
    differ = [p for p in both if a[p] != b[p] and not volatile(p)]
    print(f"fields: before {len(a)}, after {len(b)}, in both {len(both)} "
          f"({sum(volatile(p) for p in both)} measured anew each run)")
    print(f"only before: {len(only_a)}")
    for p in only_a:
        print(f"  - {p}")
    print(f"only after: {len(only_b)}")
    for p in only_b:
        print(f"  + {p}")
    print(f"stable fields that differ: {len(differ)}")
    for p in differ:
        print(f"  ~ {p}: {json.dumps(a[p])[:80]} -> {json.dumps(b[p])[:80]}")


if __name__ == "__main__":
    main()
