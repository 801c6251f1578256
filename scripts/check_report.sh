#!/usr/bin/env bash
# Checks a run folder's reports the way a reader would meet them:
#   1. report.json validates against reports/report.schema.json (python3-jsonschema);
#   2. report.html is self-contained (no http(s) resources: Vega is inlined) and,
#      rendered in headless Chromium, every plot was drawn: each plot container
#      holds Vega's SVG with all its data marks (one per point or heat-map cell,
#      as many as its spec holds: data-rendered="ok"), the page's counter says
#      N/N plots ok, at least the four plots every run has are there (size,
#      latency, speed-up intervals, confusion matrix), and no script error
#      occurred (window.onerror and every view's promise write to #errors);
#   3. every cell of report.md's tables and every line of its notes is in report.html.
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
dom="$profile/dom.html"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile/user" \
  --virtual-time-budget=10000 --dump-dom "file://$(cd "$dir" && pwd)/report.html" >"$dom" 2>/dev/null || true

/usr/bin/python3 - "$dom" "$dir/report.md" "$dir/report.html" <<'PY'
import html, re, sys
from html.parser import HTMLParser

dom_path, md_path, html_path = sys.argv[1:4]
dom = open(dom_path, encoding="utf-8").read()
fail = []

class Page(HTMLParser):
    """The plot containers, what Vega drew inside each, the error box, the body's marks."""
    def __init__(self):
        super().__init__()
        self.plots, self.stack, self.errors, self.in_errors, self.body = {}, [], "", False, {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "pre" and a.get("id") == "errors":
            self.in_errors = True
        if tag == "div" and "plot" in a.get("class", "").split():
            self.plots[a.get("id")] = {"attrs": a, "svg": 0, "marks": 0}
            self.stack.append(a.get("id"))
        elif self.stack and tag not in ("br", "img", "input", "meta", "link"):
            p = self.plots[self.stack[-1]]
            p["svg"] += tag == "svg"
            self.stack.append(self.stack[-1])
            cls = a.get("class", "").split()
            p["marks"] += "role-mark" in cls and ("mark-symbol" in cls or "mark-rect" in cls)
    def handle_startendtag(self, tag, attrs):
        pass  # <path/> inside a mark group: counted through the group's data-marks below
    def handle_endtag(self, tag):
        if tag == "pre":
            self.in_errors = False
        if self.stack and tag not in ("br", "img", "input", "meta", "link"):
            self.stack.pop()
    def handle_data(self, data):
        if self.in_errors:
            self.errors += data

p = Page()
p.feed(dom)
if p.body.get("data-rendered") != "ok":
    fail.append("report.html did not finish running its scripts in Chromium")
if p.errors.strip():
    fail.append("report.html raised a script error: " + p.errors.strip().replace("\n", "; "))
required = {"plot-size", "plot-latency", "plot-speedup", "plot-confusion"}
missing = required - set(p.plots)
if missing:
    fail.append("report.html lacks the plots " + ", ".join(sorted(missing)))
for pid, q in sorted(p.plots.items()):
    a = q["attrs"]
    if a.get("data-rendered") != "ok":
        fail.append("%s: data-rendered=%s (marks drawn %s of %s)" % (pid, a.get("data-rendered"), a.get("data-marks"), a.get("data-points")))
    if not q["svg"]:
        fail.append("%s: no <svg> rendered" % pid)
    if not q["marks"]:
        fail.append("%s: no data marks in its <svg>" % pid)
n = len(p.plots)
if p.body.get("data-plots") != "%d/%d ok" % (n, n):
    fail.append("plots rendered: %s, expected %d/%d ok" % (p.body.get("data-plots"), n, n))

# Every figure report.md prints is in report.html: each table cell, each note.
page = html.unescape(re.sub(r"<[^>]+>", "\n", open(html_path, encoding="utf-8").read()))
lines = set(l.strip() for l in page.split("\n"))
for line in open(md_path, encoding="utf-8").read().split("\n"):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    if line.startswith("|"):
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip("|"))]
        texts = [c for c in cells if c and c != "---"]
    elif line.startswith("- "):
        texts = [t.strip() for t in line[2:].split(": ", 1)]
    else:
        texts = [line]
    for t in texts:
        if t not in lines:
            fail.append("report.md's %r is not in report.html" % t[:80])
            break

for f in fail[:20]:
    print("check_report: " + f, file=sys.stderr)
if not fail:
    print("check_report: %d plots rendered (%s)" % (n, ", ".join("%s %s marks" % (k, v["attrs"].get("data-marks")) for k, v in sorted(p.plots.items()))))
sys.exit(1 if fail else 0)
PY
echo "check_report: $dir: schema ok, html renders every plot, report.md's figures all in report.html"
