#!/usr/bin/env bash
# The engine table of issue #17 (docs/RESULTS.md: bench_vit figures): bench_vit's student
# forward against the fp32 teacher (oneDNN) at batch 1 and 64 on 1 and 2
# threads, each point in its own process, the whole list run twice (the second
# pass after the first, so the VM's drift shows as a difference between them).
# Inside each process the teacher and the student are timed in 5 interleaved
# rounds: x_teacher is the median of the per-round ratios [min–max].
# Needs the release build (scripts/build.sh release). Prints a Markdown table;
# keeps each run's JSON in runs/engine_table/.
#   scripts/engine_table.sh [regex of bench_vit names]   (default: every student
#   and the memory points, BM_ModelMemory: one model alone, peak RSS above start)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=build/bench/bench_vit
[ -x "$bench" ] || { echo "engine_table.sh: $bench not built (run scripts/build.sh release)" >&2; exit 1; }
filter="${1:-BM_StudentForward/|BM_ModelMemory/}"
out=runs/engine_table
rm -rf "$out" && mkdir -p "$out"
mapfile -t points < <("$bench" --benchmark_list_tests --benchmark_filter="$filter")
[ "${#points[@]}" -gt 0 ] || { echo "engine_table.sh: no bench_vit point matches '$filter'" >&2; exit 1; }
for pass in 1 2; do
  for i in "${!points[@]}"; do
    echo "pass $pass, point $((i + 1))/${#points[@]}: ${points[$i]}" >&2
    # min_time 0.01: Google Benchmark calls the point once (its setup builds two
    # models); the figures are the 5 interleaved rounds inside that call.
    "$bench" --benchmark_filter="^${points[$i]}\$" --benchmark_min_time=0.01 --benchmark_out="$out/p${pass}_$i.json" \
      --benchmark_out_format=json >/dev/null 2>"$out/p${pass}_$i.log" || { cat "$out/p${pass}_$i.log" >&2; exit 1; }
  done
done
python3 - "$out" "${#points[@]}" <<'EOF'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
rows = [(json.load(open(f"{out}/p1_{i}.json"))["benchmarks"][0], json.load(open(f"{out}/p2_{i}.json"))["benchmarks"][0])
        for i in range(n)]
speed = [(a, b) for a, b in rows if a["name"].startswith("BM_StudentForward")]
memory = [(a, b) for a, b in rows if a["name"].startswith("BM_ModelMemory")]
def point(r):
    name = r["name"].split("/")
    return name[1], name[2].split(":")[1], name[3].split(":")[1]
if speed:
    print("| model / engine | batch | threads | student ms/img (pass 1, 2) | student images/s | teacher images/s | x_teacher median [95 % interval] (pass 1; pass 2) | weights MB student / teacher |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    x = lambda r: f'{r["x_teacher"]:.2f} [{r["x_teacher_lo"]:.2f}–{r["x_teacher_hi"]:.2f}]'
    for a, b in speed:
        model, batch, threads = point(a)
        print(f'| {model} | {batch} | {threads} | {1e3 / a["student_images/s"]:.2f}, {1e3 / b["student_images/s"]:.2f} | '
              f'{a["student_images/s"]:.1f}, {b["student_images/s"]:.1f} | {a["teacher_images/s"]:.1f}, {b["teacher_images/s"]:.1f} | '
              f'{x(a)}; {x(b)} | {a["weights_MB"]:.2f} / {a["teacher_weights_MB"]:.2f} |')
    print()
    print("Per-part profile, pass 1 (ms per forward: linear / attention / norm / gelu / other):")
    print()
    print("| model / engine | batch | threads | student | teacher |")
    print("| --- | --- | --- | --- | --- |")
    for a, _ in speed:
        parts = lambda p: " / ".join(f'{a[p + k + "_ms"]:.2f}' for k in ("linear", "attention", "norm", "gelu", "other"))
        model, batch, threads = point(a)
        print(f'| {model} | {batch} | {threads} | {parts("")} | {parts("teacher_")} |')
if memory:
    if speed:
        print()
    print("| model / engine (alone in its process, batch 64) | peak RSS above start, MB (pass 1, 2) | weights in memory, MB |")
    print("| --- | --- | --- |")
    for a, b in memory:
        print(f'| {a["name"].split("/")[1]} | {a["peak_rss_above_start_MB"]:.1f}, {b["peak_rss_above_start_MB"]:.1f} | {a["weights_MB"]:.2f} |')
EOF
