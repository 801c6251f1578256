#!/usr/bin/env bash
# bench_datasets' loader and image-step figures as docs/RESULTS.md gives them:
# each benchmark repeated 5 times in random interleaving within one process, the
# median and coefficient of variation printed. Needs a Release build (build/).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bench/bench_datasets ] || bash scripts/build.sh release
build/bench/bench_datasets --benchmark_filter="${1:-Jpeg|Resize|OneImage|FashionMnist}" --benchmark_repetitions=5 \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true --benchmark_min_time=0.5 2>&1 |
  grep -E "_(median|cv) " | awk '{ label = $NF; rate = ""; for (i = 4; i <= NF; ++i) if ($i ~ /^images\/s=/) rate = $i;
                                   printf "%-62s %10s %-3s %-24s %s\n", $1, $2, $3, rate, label }'
