#!/usr/bin/env bash
# A PNG of a run folder's report.html as headless Chromium renders it (the
# picture in the README, docs/report.png, comes from this script):
#   scripts/report_screenshot.sh RUN_DIR OUT.png [WIDTH [HEIGHT]]
# WIDTH (default 1400) is the window's width; HEIGHT (default 4200) the most
# of the page to take. Blank space under the page is cut off when Pillow
# (python3-pil) is installed. Needs chromium (scripts/install-deps.sh --test).
set -euo pipefail
dir="${1:?usage: report_screenshot.sh RUN_DIR OUT.png [WIDTH [HEIGHT]]}"
out="${2:?usage: report_screenshot.sh RUN_DIR OUT.png [WIDTH [HEIGHT]]}"
width="${3:-1400}"
height="${4:-4200}"
[ -s "$dir/report.html" ] || { echo "report_screenshot: $dir/report.html is missing" >&2; exit 1; }
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "report_screenshot: chromium is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
out_abs="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars --user-data-dir="$profile/user" \
  --virtual-time-budget=10000 --window-size="$width,$height" --screenshot="$profile/shot.png" \
  "file://$(cd "$dir" && pwd)/report.html" >/dev/null 2>&1 || true
[ -s "$profile/shot.png" ] || { echo "report_screenshot: Chromium wrote no screenshot" >&2; exit 1; }
if /usr/bin/python3 -c "import PIL" 2>/dev/null; then
  /usr/bin/python3 - "$profile/shot.png" "$out_abs" <<'PY'
import sys
from PIL import Image, ImageChops
im = Image.open(sys.argv[1]).convert("RGB")
box = ImageChops.difference(im, Image.new("RGB", im.size, (255, 255, 255))).getbbox()
if box:
    im = im.crop((0, 0, im.width, min(im.height, box[3] + 24)))
im.save(sys.argv[2], optimize=True)
PY
else
  cp "$profile/shot.png" "$out_abs"
fi
echo "report_screenshot: $out"
