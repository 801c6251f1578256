#!/usr/bin/env bash
# Issue #31's "wrong number or clear refusal" cases, run as a new user meets
# them, with any bitbench binary (so the same cases can be run on an older
# build for a before/after table):
#   scripts/trust_cases.sh [BITBENCH] [WORKDIR]
# BITBENCH defaults to build/cli/bitbench. Prints one Markdown row per case:
# exit code, stderr lines, and what the command reported. Needs /usr/bin/python3
# with Pillow (scripts/install-deps.sh --test) for the ImageFolder fixture.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bb="$(realpath "${1:-$root/build/cli/bitbench}")"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
cd "$work"
zoo="$root/models/zoo"
teacher="$zoo/fashion_mnist_default_teacher.safetensors"
export BITBENCH_PROGRESS=off

# Fixtures: the zoo teacher re-saved without metadata (as another tool writes
# it), and the first 1 000 Fashion-MNIST test images as PNGs in folders named
# after their classes ("T-shirt_top": no folder name holds a '/').
/usr/bin/python3 - "$teacher" <<'PY'
import gzip, json, os, struct, sys
from PIL import Image
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); h.pop("__metadata__")
t = json.dumps(h).encode(); t += b" " * (-len(t) % 8)
open("stripped.safetensors", "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
meta = json.loads(b[8:8 + n])["__metadata__"]
open("teacher_config.json", "w").write(meta["bitbench.config"])
for key, value, name in [("bitbench.transform", '{"std": [0]}', "std0"), ("bitbench.class_names", '"42"', "names42")]:
    hh = json.loads(b[8:8 + n]); hh["__metadata__"][key] = value
    t = json.dumps(hh).encode(); t += b" " * (-len(t) % 8)
    open(name + ".safetensors", "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
d = "/usr/share/datasets/fashion-mnist/"
im = gzip.open(d + "t10k-images-idx3-ubyte.gz").read(); lb = gzip.open(d + "t10k-labels-idx1-ubyte.gz").read()
names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
for i in range(1000):
    c = names[lb[8 + i]].replace("/", "_")
    os.makedirs("folders/" + c, exist_ok=True)
    Image.frombytes("L", (28, 28), im[16 + 784 * i:16 + 784 * (i + 1)]).save("folders/%s/%05d.png" % (c, i))
PY
mkdir -p latin1 && for c in folders/*; do cp -r "$c" latin1/; done
mv "latin1/Ankle boot" "$(printf 'latin1/Ankle\xe9')" 2>/dev/null
printf 'not an image' > "$(printf 'bad\nname.png')"
good="$(ls folders/Trouser/*.png | head -1)"
sed "s#\.\./models/zoo/fashion_mnist_default_teacher.safetensors#$work/stripped.safetensors#; s#\"\.\./models/zoo/#\"$zoo/#g; s#\"fashion_mnist_default_#\"$root/configs/fashion_mnist_default_#g" \
  "$root/configs/default.json" > stripped_run.json
sed "s#\.\./models/zoo/fashion_mnist_default_teacher.safetensors#$zoo/nowhere.safetensors#; s#\"\.\./models/zoo/#\"$zoo/#g; s#\"fashion_mnist_default_#\"$root/configs/fashion_mnist_default_#g" \
  "$root/configs/default.json" > missing_ckpt.json
mkdir -p out

top1() { grep -o '"top1": [0-9.]*' "$1" | head -1 | sed 's/"top1": //'; }
row() {  # case, exit, stderr file, what
  printf '| %s | %s | %s | %s |\n' "$1" "$2" "$(wc -l < "$3")" "$4"
}
first_err() { head -c 160 "$1" | head -1 | tr '|' '/'; }

echo "| case | exit | stderr lines | reported |"
echo "| --- | --- | --- | --- |"
"$bb" validate --checkpoint stripped.safetensors --time-seconds 0 > o1 2> e1; rc=$?
row "validate, teacher without metadata" $rc e1 "$( [ $rc = 0 ] && echo "top-1 $(top1 o1)" || first_err e1)"
"$bb" validate --checkpoint stripped.safetensors --model-config teacher_config.json --time-seconds 0 > o1b 2> e1b; rc=$?
row "the same with --model-config (its config)" $rc e1b "$( [ $rc = 0 ] && echo "top-1 $(top1 o1b)" || first_err e1b)"
"$bb" run stripped_run.json --quick --out run_stripped --no-table > o2 2> e2; rc=$?
row "run --quick, teacher without metadata" $rc e2 "$( [ $rc = 0 ] && echo "teacher top-1 $(python3 -c "import json;print(json.load(open('run_stripped/report.json'))['models'][0]['accuracy']['top1'])")" || first_err e2)"
"$bb" validate --dataset imagefolder --data-dir folders --checkpoint "$teacher" --time-seconds 0 > o3 2> e3; rc=$?
row "validate, ImageFolder named by class (1 000 images)" $rc e3 "$( [ $rc = 0 ] && echo "top-1 $(top1 o3)" || first_err e3)"
"$bb" validate --first 1000 --checkpoint "$teacher" --time-seconds 0 > o3b 2> e3b; rc=$?
row "the same 1 000 images as Fashion-MNIST" $rc e3b "top-1 $(top1 o3b)"
"$bb" validate --checkpoint "$zoo/student_w1a8.packed.safetensors" --model deit_tiny_patch16_224 --time-seconds 0 --first 100 > o4 2> e4; rc=$?
row "validate packed student --model deit_tiny_patch16_224" $rc e4 "$( [ $rc = 0 ] && grep -o '"model": "[^"]*"' o4 | head -1 || first_err e4)"
"$bb" run "$root/configs/default.json" --teacher "$root/models/lowbit/fashion_mnist_teacher_15ep.safetensors" --quick --out run_other --no-table > o5 2> e5; rc=$?
row "run --teacher another teacher" $rc e5 "$( [ $rc = 0 ] && python3 -c "import json;r=json.load(open('run_other/report.json'));t=r['models'][0]['accuracy']['top1'];print('; '.join('%s %.2f' % (m['name'], m['accuracy']['top1']-t) for m in r['models'][2:3]))" || first_err e5)"
"$bb" validate --first 100 --checkpoint "$teacher" --time-seconds 0 --results-file out/r.csv > /dev/null 2> e6; rc=$?
row "validate --results-file r.csv" $rc e6 "r.csv starts with: $(head -c 12 out/r.csv | tr '\n' ' ')"
"$bb" validate --threads 1 --first 100 --checkpoint "$teacher" --time-seconds 0 > o7 2> e7; rc=$?
row "validate --threads 1 (after the subcommand)" $rc e7 "$( [ $rc = 0 ] && grep -o '"threads": [0-9]*' o7 || first_err e7)"
"$bb" config check missing_ckpt.json > o8 2> e8; rc=$?
row "config check, teacher checkpoint missing" $rc e8 "$( [ $rc = 0 ] && cat o8 | sed "s#$work/##" || first_err e8 | sed "s#$zoo/##")"
"$bb" validate --checkpoint "$good" --time-seconds 0 > o10 2> e10; rc=$?
row "validate --checkpoint a PNG" $rc e10 "$(first_err e10 | sed "s#$work/##")"
"$bb" predict --checkpoint "$teacher" "$good" "$(printf 'bad\nname.png')" > o11 2> e11; rc=$?
row "predict good.png bad.png (a newline in its name)" $rc e11 "stdout lines $(wc -l < o11); $(head -c 120 e11 | tr '\n' '~')"
"$bb" predict --checkpoint std0.safetensors "$good" > o13 2> e13; rc=$?
row "predict, checkpoint transform std [0]" $rc e13 "$( [ $rc = 0 ] && sed -n 2p o13 | tr -s ' ' || first_err e13)"
"$bb" predict --checkpoint names42.safetensors "$good" > o14 2> e14; rc=$?
row "predict, checkpoint class_names \"42\"" $rc e14 "$(first_err e14)"
"$bb" validate --dataset imagefolder --data-dir latin1 --checkpoint "$teacher" --time-seconds 0 --logits-out out/l1.npy --results-file out/r1.json > o15 2> e15; rc=$?
row "validate, class folder name not UTF-8" $rc e15 "$(tail -1 e15 | head -c 120 | sed "s#$work/##"); logits written: $([ -f out/l1.npy ] && echo yes || echo no)"
mkdir -p out/folder
start=$(date +%s.%N)
"$bb" validate --checkpoint "$teacher" --time-seconds 0 --results-file out/folder --logits-out out/l2.npy > o16 2> e16; rc=$?
row "validate --results-file naming a folder" $rc e16 "$(tail -1 e16 | head -c 100); after $(python3 -c "import time;print('%.1f s' % (time.time()-$start))"); logits written: $([ -f out/l2.npy ] && echo yes || echo no)"
"$bb" validate --dataset imagefolder --data-dir nowhere --checkpoint "$teacher" > o18 2> e18; rc=$?
row "validate, data folder missing" $rc e18 "$(tail -1 e18 | head -c 120)"
# compare: a quick run's report (1 000 images) against the same report said to hold 10 000.
"$bb" run "$root/configs/default.json" --quick --out run_quick --no-table > /dev/null 2>&1
python3 -c "import json;r=json.load(open('run_quick/report.json'));r['dataset']['count']=10000;json.dump(r,open('b.json','w'))"
"$bb" compare run_quick/report.json b.json > o9 2> e9; rc=$?
row "compare a 1 000-image report with a 10 000-image one" $rc e9 "caveat lines: $(grep -c '^Caveat' o9)"
echo
echo "work folder: $work"
