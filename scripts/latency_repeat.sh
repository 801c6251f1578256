#!/usr/bin/env bash
# Does the latency protocol repeat? Runs the main job (configs/default.json,
# the shipped zoo) twice in a row, then once with a busy loop on one core, and
# prints every model's speed-up interval at each point for the three runs,
# whether the two quiet runs' intervals overlap, each run's wall time and what
# the report said about the machine. Needs the release build
# (scripts/build.sh release). Keeps the runs in runs/latency_repeat/.
set -euo pipefail
cd "$(dirname "$0")/.."
bb=build/cli/bitbench
[ -x "$bb" ] || { echo "latency_repeat.sh: $bb not built (run scripts/build.sh release)" >&2; exit 1; }
out=runs/latency_repeat
rm -rf "$out" && mkdir -p "$out"
export BITBENCH_PROGRESS=off
for run in quiet1 quiet2 busy; do
  pid=""
  if [ "$run" = busy ]; then
    (while :; do :; done) &  # one core kept busy by another process
    pid=$!
  fi
  start=$(date +%s%N)
  "$bb" run configs/default.json --out "$out/$run" --no-table 2>"$out/$run.log"
  end=$(date +%s%N)
  [ -n "$pid" ] && kill "$pid"
  echo "$run $(((end - start) / 1000000))" >>"$out/seconds.txt"  # milliseconds
done
python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
runs = ["quiet1", "quiet2", "busy"]
rep = {r: json.load(open(f"{out}/{r}/report.json")) for r in runs}
secs = dict(line.split() for line in open(f"{out}/seconds.txt"))
for r in runs:
    m = rep[r]["latency_protocol"]["machine"]
    print(f"{r}: {float(secs[r]) / 1000:.0f} s wall; other processes {m['other_cpu_cores']:.2f} cores, load "
          f"{m['load_before']:.2f} -> {m['load_after']:.2f}, busy: {m['busy']}")
print()
print("| model | backend | batch | threads | " + " | ".join(runs) + " | quiet runs overlap |")
print("| --- | --- | --- | --- | " + " | ".join("---" for _ in runs) + " | --- |")
overlaps = total = 0
for i, m in enumerate(rep["quiet1"]["models"]):
    if m["role"] == "teacher":
        continue
    for j, p in enumerate(m["latency"]):
        cells, iv = [], []
        for r in runs:
            s = rep[r]["models"][i]["latency"][j]["speedup_vs_teacher"]
            lo, hi = s["ci95"]
            iv.append((lo, hi))
            mark = "" if s["significant"] else " n.s."
            mark += " noisy" if rep[r]["models"][i]["latency"][j]["noisy"] else ""
            cells.append(f"{s['median']:.2f} [{lo:.2f}–{hi:.2f}]{mark}")
        ok = iv[0][0] <= iv[1][1] and iv[1][0] <= iv[0][1]
        overlaps += ok
        total += 1
        print(f"| {m['name']} | {m['backend']} | {p['batch']} | {p['threads']} | " + " | ".join(cells) + f" | {'yes' if ok else 'NO'} |")
print()
print(f"quiet runs' intervals overlap at {overlaps} of {total} points")
EOF
