#!/usr/bin/env bash
# Checks a run folder's reports the way a reader would meet them:
#   1. report.json validates against reports/report.schema.json (python3-jsonschema);
#   2. report.html is self-contained (no http(s) resources) and renders in headless
#      Chromium with its script run to the end and no JavaScript error.
# Usage: scripts/check_report.sh RUN_DIR        (exit 0: all good; 1: a check failed)
set -euo pipefail
dir="${1:?usage: check_report.sh RUN_DIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
for f in report.json report.md results.csv report.html; do
  [ -s "$dir/$f" ] || { echo "check_report: $dir/$f is missing or empty" >&2; exit 1; }
done

/usr/bin/python3 - "$root/reports/report.schema.json" "$dir/report.json" <<'PY'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
report = json.load(open(sys.argv[2]))
jsonschema.Draft7Validator.check_schema(schema)
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(report), key=lambda e: list(e.path))
for e in errors[:20]:
    print("check_report: %s: /%s: %s" % (sys.argv[2], "/".join(map(str, e.path)), e.message), file=sys.stderr)
sys.exit(1 if errors else 0)
PY

if grep -Eq '(src|href)="https?:' "$dir/report.html"; then
  echo "check_report: $dir/report.html loads something from the network" >&2
  exit 1
fi
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "check_report: chromium is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
dom="$(timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir="$profile" \
        --virtual-time-budget=2000 --dump-dom "file://$(cd "$dir" && pwd)/report.html" 2>/dev/null)"
grep -q 'data-rendered="ok"' <<<"$dom" || { echo "check_report: report.html did not finish rendering in Chromium" >&2; exit 1; }
if grep -Eq '<pre id="errors">[^<]+' <<<"$dom"; then
  echo "check_report: report.html raised a JavaScript error: $(grep -Eo '<pre id="errors">[^<]+' <<<"$dom")" >&2
  exit 1
fi
n_svg="$(grep -o '<svg' <<<"$dom" | wc -l)"
[ "$n_svg" -ge 3 ] || { echo "check_report: report.html shows $n_svg plots, expected at least 3" >&2; exit 1; }
echo "check_report: $dir: schema ok, html renders ($n_svg plots)"
