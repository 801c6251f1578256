#!/usr/bin/env python3
"""Writes the hostile-file corpus (tests/hostile/{ckpt,data,config}/) from the
good seed files in tests/hostile/seed/, and the case list cases.json that
test_hostile runs through the bitbench CLI. Run from anywhere; the output is
committed, so the test needs no Python. Deterministic: rerunning it gives the
same bytes.

Seeds: teacher.safetensors / packed.safetensors (a 1-block 12x12 ViT teacher and
its packed W1.58A8 student, written by bitbench), images3.idx / labels3.idx
(three 12x12 IDX images and labels), cifar10_two_records.bin, good.jpg and
good.png (24x24, written by OpenCV).
"""
import gzip
import json
import os
import shutil
import struct
import zlib

import image_bytes

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = os.path.join(HERE, "seed")


def seed(name):
    with open(os.path.join(SEED, name), "rb") as f:
        return f.read()


def put(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def link(rel, target):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(target, path)


def split_safetensors(b):
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def join_safetensors(header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def flip(b, at, mask=0x01):
    b = bytearray(b)
    b[at] ^= mask
    return bytes(b)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


cases = []


def case(name, args, expect, note):
    cases.append({"name": name, "args": args, "expect": expect, "note": note})


# ---------------------------------------------------------------- checkpoints
teacher, packed = seed("teacher.safetensors"), seed("packed.safetensors")
th, tdata = split_safetensors(teacher)
ph, pdata = split_safetensors(packed)
first = next(k for k in th if k != "__metadata__")

ckpts = {}
ckpts["truncated"] = (teacher[: len(teacher) // 2], "cut in half: tensors end past the file", ["past the data section"])
ckpts["empty"] = (b"", "zero bytes", ["shorter than the 8-byte header length"])
ckpts["wrong_magic"] = (seed("good.png"), "a PNG renamed .safetensors", ["not a safetensors file (it looks like a PNG image)"])
ckpts["header_length_huge"] = (struct.pack("<Q", 1 << 62) + teacher[8:], "header length field 2^62", ["header length", "above the limit"])
ckpts["header_bitflip"] = (flip(teacher, 8 + 2, 0x40), "one bit flipped inside the JSON header", ["header"])
h = json.loads(json.dumps(th))
h[first]["data_offsets"] = [0, 1 << 40]
ckpts["lying_offsets"] = (join_safetensors(h, tdata), "a tensor's data_offsets end 1 TiB into a 10 KiB file", [first, "past the data section"])
h = json.loads(json.dumps(th))
h[first]["shape"] = [1 << 31, 1 << 31, 1 << 31]
ckpts["lying_shape"] = (join_safetensors(h, tdata), "a shape whose element count overflows", [first])
h = json.loads(json.dumps(th))
h[first]["dtype"] = "Q7"
ckpts["unknown_dtype"] = (join_safetensors(h, tdata), "dtype Q7", [first, "Q7"])
h = json.loads(json.dumps(th))
cfg = json.loads(h["__metadata__"]["config"])
cfg.update({"embed_dim": 65536, "num_heads": 1024, "mlp_hidden": 1 << 20, "depth": 1024})
h["__metadata__"]["config"] = json.dumps(cfg)
ckpts["lying_config"] = (join_safetensors(h, tdata), "metadata config claims a 3.5e13-parameter model", ["does not match the model config"])
h = json.loads(json.dumps(ph))
h["__metadata__"]["quant"] = "{not json"
ckpts["packed_bad_quant"] = (join_safetensors(h, pdata), "packed student whose quant metadata is not JSON", ["bitbench.quant"])
h = json.loads(json.dumps(ph))
packed_name = next(k for k, v in h.items() if k != "__metadata__" and v["dtype"] == "U8")
h[packed_name]["shape"] = [h[packed_name]["shape"][0] * 2, h[packed_name]["shape"][1] // 2]
ckpts["packed_lying_rows"] = (join_safetensors(h, pdata), "packed weight with rows and row bytes swapped around", [packed_name])

validate = ("validate --dataset mnist --data-dir {h}/data/mnist_ok --limit 3 --checkpoint {h}/ckpt/%s"
            " --results-file {out}/results.json --logits-out {out}/logits.npy")
for name, (data, note, expect) in ckpts.items():
    put("ckpt/%s.safetensors" % name, data)
    case("ckpt_" + name, validate % (name + ".safetensors"), [name + ".safetensors"] + expect, note)
link("ckpt/self_loop.safetensors", "self_loop.safetensors")
case("ckpt_self_loop", validate % "self_loop.safetensors", ["self_loop.safetensors", "symbolic links"],
     "a symlink to itself")
case("distill_truncated_teacher",
     "distill --config {h}/config/distill.json --teacher {h}/ckpt/truncated.safetensors --out {out}/students",
     ["truncated.safetensors", "past the data section"],
     "distillation whose teacher checkpoint is truncated")
put("config/distill.json", json.dumps({
    "name": "hostile", "teacher": "seed/teacher.safetensors",
    "dataset": {"name": "mnist", "data_dir": "data/mnist_ok"}, "train": {"epochs": 1},
    "students": [{"quant": {"spec": "W1.58A8"}}]}, indent=1))

# ------------------------------------------------------------------ data sets
images, labels = seed("images3.idx"), seed("labels3.idx")


def mnist(dirname, img, lab, gz=False):
    put("data/%s/t10k-images-idx3-ubyte%s" % (dirname, ".gz" if gz else ""), img)
    put("data/%s/t10k-labels-idx1-ubyte" % dirname, lab)


inspect = "data inspect --grid {out}/grid.png --dataset %s --data-dir {h}/data/%s"
mnist("mnist_ok", images, labels)
mnist("mnist_truncated", images[:-7], labels)
case("mnist_truncated", inspect % ("mnist", "mnist_truncated"), ["t10k-images-idx3-ubyte", "truncated IDX data"],
     "image file 7 bytes short")
mnist("mnist_wrong_magic", images, b"\x00\x00\x09\x01" + labels[4:])
case("mnist_wrong_magic", inspect % ("mnist", "mnist_wrong_magic"), ["t10k-labels-idx1-ubyte", "not unsigned byte"],
     "label file with data type 0x09")
mnist("mnist_lying_count", images[:4] + struct.pack(">I", 60000) + images[8:], labels)
case("mnist_lying_count", inspect % ("mnist", "mnist_lying_count"), ["t10k-images-idx3-ubyte", "header promises"],
     "header claims 60000 images, file holds 3")
gz = gzip.compress(images, mtime=0)
mnist("mnist_gz_bitflip", flip(gz, len(gz) - 6, 0x10), labels, gz=True)
case("mnist_gz_bitflip", inspect % ("mnist", "mnist_gz_bitflip"), ["t10k-images-idx3-ubyte.gz"],
     "a bit flipped in the gzip CRC")
mnist("mnist_count_mismatch", images, labels[:4] + struct.pack(">I", 2) + labels[8:10])
case("mnist_count_mismatch", inspect % ("mnist", "mnist_count_mismatch"), ["t10k-labels-idx1-ubyte", "holds 2 labels"],
     "3 images but 2 labels")

cifar = seed("cifar10_two_records.bin")
put("data/cifar10_truncated/test_batch.bin", cifar[:-100])
case("cifar10_truncated", inspect % ("cifar10", "cifar10_truncated"), ["test_batch.bin", "not a multiple"],
     "record cut short")
put("data/cifar10_bad_label/test_batch.bin", bytes([200]) + cifar[1:])
case("cifar10_bad_label", inspect % ("cifar10", "cifar10_bad_label"), ["test_batch.bin", "label byte 200 out of range"],
     "label byte 200")
put("data/cifar10_bad_meta/test_batch.bin", cifar)
put("data/cifar10_bad_meta/batches.meta.txt", "airplane\nautomobile\n")
case("cifar10_bad_meta", inspect % ("cifar10", "cifar10_bad_meta"), ["batches.meta.txt", "expected 10"],
     "class-name file with 2 names")

good_jpg, good_png = seed("good.jpg"), seed("good.png")
for i in (1, 2):
    put("data/imagenet_label_huge/ILSVRC2012_val_%08d.JPEG" % i, good_jpg)
put("data/imagenet_label_huge/val_map.txt", "ILSVRC2012_val_00000001.JPEG 0\nILSVRC2012_val_00000002.JPEG 999999999\n")
case("imagenet_label_huge", inspect % ("imagenet", "imagenet_label_huge"), ["val_map.txt", "label 999999999", "limit"],
     "a label that would size the class list at 1e9")
for i in (1, 2):
    put("data/imagenet_csv_garbage/ILSVRC2012_val_%08d.JPEG" % i, good_jpg)
put("data/imagenet_csv_garbage/LOC_val_solution.csv", "ImageId,PredictionString\n\x00\x01\x02garbage\n")
put("data/imagenet_csv_garbage/LOC_synset_mapping.txt", "n01440764 tench\n")
case("imagenet_csv_garbage", inspect % ("imagenet", "imagenet_csv_garbage"), ["LOC_val_solution.csv", "line 2"],
     "binary junk in the Kaggle solution file")
for i in (1, 2):
    put("data/imagenet_synset_unknown/ILSVRC2012_val_%08d.JPEG" % i, good_jpg)
put("data/imagenet_synset_unknown/LOC_val_solution.csv",
    "ImageId,PredictionString\nILSVRC2012_val_00000001,n01440764 1 2 3 4\nILSVRC2012_val_00000002,n99999999 1 2 3 4\n")
put("data/imagenet_synset_unknown/LOC_synset_mapping.txt", "n01440764 tench\n")
case("imagenet_synset_unknown", inspect % ("imagenet", "imagenet_synset_unknown"), ["synset n99999999", "is not in"],
     "a synset missing from the mapping")

huge_png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) +
            png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))


def folder(dirname, bad_name, bad_bytes):
    put("data/%s/a/ok.png" % dirname, good_png)
    put("data/%s/b/ok.jpg" % dirname, good_jpg)
    if bad_bytes is not None:
        put("data/%s/b/%s" % (dirname, bad_name), bad_bytes)


folder("imagefolder_huge_png", "huge.png", huge_png)
case("imagefolder_huge_png", inspect % ("imagefolder", "imagefolder_huge_png"), ["huge.png", "100000", "above the limit"],
     "PNG header claiming 100000 x 100000 pixels (refused before decoding)")
folder("imagefolder_truncated_jpeg", "cut.jpg", good_jpg[: len(good_jpg) // 2])
case("imagefolder_truncated_jpeg", inspect % ("imagefolder", "imagefolder_truncated_jpeg"), ["cut.jpg", "truncated JPEG"],
     "JPEG cut in half")
folder("imagefolder_wrong_magic", "flipped.jpg", flip(good_jpg, 0, 0x80))
case("imagefolder_wrong_magic", inspect % ("imagefolder", "imagefolder_wrong_magic"), ["flipped.jpg", "not a JPEG or PNG"],
     "JPEG whose first bit is flipped")
folder("imagefolder_class_loop", None, None)
link("data/imagefolder_class_loop/c", "c")
case("imagefolder_class_loop", inspect % ("imagefolder", "imagefolder_class_loop"),
     ["imagefolder_class_loop/c", "symbolic links"], "a class folder that is a symlink to itself")
folder("imagefolder_file_loop", None, None)
link("data/imagefolder_file_loop/b/loop.jpg", "loop.jpg")
case("imagefolder_file_loop", inspect % ("imagefolder", "imagefolder_file_loop"), ["b/loop.jpg", "symbolic links"],
     "an image that is a symlink to itself")
folder("imagefolder_dangling", None, None)
link("data/imagefolder_dangling/a/gone.png", "../../nowhere/gone.png")
case("imagefolder_dangling", inspect % ("imagefolder", "imagefolder_dangling"), ["a/gone.png", "dangling"],
     "an image symlink to a missing file")

# ------------------------------------------- images: decode and resize budget
# Files whose bytes are few but whose decode is not (tests/hostile/image_bytes.py
# writes them); each must be refused before the memory or time it claims is
# spent (test_hostile also bounds the child's peak RSS and wall time).
predict = "predict --checkpoint {h}/seed/teacher.safetensors {h}/data/images/%s"


def image_case(name, data, command, expect, note):
    put("data/images/" + name, data)
    case("image_" + name.split(".")[0], command % name, [name] + expect, note)


image_case("progressive_16384.jpg", image_bytes.jpeg_progressive(16384, 16384), predict, ["16384x16384", "above the limit"],
           "161-byte progressive JPEG claiming 16384 x 16384 (libjpeg's coefficient buffers 1.6 GB + 0.8 GB of RGB)")
image_case("progressive_12000_444.jpg", image_bytes.jpeg_progressive(12000, 12000), predict, ["coefficient", "budget"],
           "progressive 4:4:4 JPEG of 12000 x 12000, under the pixel limit: 864 MB of coefficients + 432 MB of RGB")
image_case("scans_10001.jpg", image_bytes.jpeg_progressive(12000, 12000, components=1, ac_scans=10000), predict,
           ["10001 scans", "limit of 1000"], "progressive gray JPEG with 10001 scans, each a pass over 2.25 M blocks")
folder("imagefolder_palette_trns", "palette_trns.png", image_bytes.png_palette_trns(16384, 16384))
case("imagefolder_palette_trns", inspect % ("imagefolder", "imagefolder_palette_trns"),
     ["palette_trns.png", "16384x16384", "above the limit"],
     "32 KB 1-bit palette PNG with tRNS claiming 16384 x 16384 (expanded to RGBA by libpng: 1 GB + 0.8 GB of RGB)")
folder("imagefolder_second_ihdr", "second_ihdr.png",
       image_bytes.PNG_SIGNATURE + image_bytes.png_ihdr(16384, 16384, 16, 2) + image_bytes.png_zero_idat(16384, 16384 * 6) +
       image_bytes.png_ihdr(1, 1, 8, 2) + image_bytes.PNG_IEND)
case("imagefolder_second_ihdr", inspect % ("imagefolder", "imagefolder_second_ihdr"), ["second_ihdr.png", "second IHDR"],
     "PNG whose first IHDR claims 16384 x 16384 16-bit RGB (what libpng decodes: 1.6 GB) and a second, 1 x 1, after IDAT")
folder("imagefolder_interlaced_budget", "interlaced.png",
       image_bytes.PNG_SIGNATURE + image_bytes.png_ihdr(10000, 10000, 16, 6, interlace=1) +
       image_bytes.png_zero_idat_interlaced(10000, 10000, 8) + image_bytes.PNG_IEND)
case("imagefolder_interlaced_budget", inspect % ("imagefolder", "imagefolder_interlaced_budget"),
     ["interlaced.png", "budget"],
     "interlaced 16-bit RGBA PNG of 10000 x 10000, under the pixel limit: the whole 800 MB image is held to de-interlace")
# (validate prints its data configuration before it loads an image, so these run
# through data inspect and predict; docs/FUZZING.md measures them through validate.)
folder("imagefolder_jpeg_bomb", "bomb.jpg", image_bytes.jpeg_baseline(16384, 16384))
case("imagefolder_jpeg_bomb", inspect % ("imagefolder", "imagefolder_jpeg_bomb"),
     ["bomb.jpg", "16384x16384", "above the limit"],
     "151-byte baseline JPEG claiming 16384 x 16384 in an ImageFolder (0.8 GB of RGB, then a transposed copy to resize)")
for kind in (b"tEXt", b"zTXt", b"iTXt"):
    body = {b"tEXt": b"Comment\x00hostile", b"zTXt": b"Comment\x00\x00" + zlib.compress(b"hostile"),
            b"iTXt": b"Comment\x00\x00\x00\x00\x00hostile"}[kind]
    name = "bad_crc_%s.png" % kind.decode()
    png = seed("good.png")
    folder("imagefolder_" + name[:-4], name, png[:33] + image_bytes.png_chunk(kind, body, crc_xor=1) + png[33:])
    case("imagefolder_" + name[:-4], inspect % ("imagefolder", "imagefolder_" + name[:-4]), [name, kind.decode(), "CRC"],
         "a %s chunk before IDAT whose CRC is wrong: Pillow refuses the file" % kind.decode())
put("data/cifar10_ok/test_batch.bin", cifar)
h = json.loads(json.dumps(th))
h["__metadata__"]["transform"] = json.dumps({"crop_pct": 5e-7})
put("ckpt/crop_pct_tiny.safetensors", join_safetensors(h, tdata))
put("data/images/rgb_32x32.png", image_bytes.png_rgb(32, 32))
case("ckpt_crop_pct_tiny", "predict --checkpoint {h}/ckpt/crop_pct_tiny.safetensors {h}/data/images/rgb_32x32.png",
     ["crop_pct_tiny.safetensors", "bitbench.transform crop_pct 5e-07 is outside [0.01, 1]"],
     "checkpoint transform crop_pct 5e-7: a 32 x 32 image resized to 24 M x 24 M before the 12 x 12 center crop "
     "(2.2 GB of resize tables before); refused as the checkpoint is read, the resize's own bound tested in EvalTransform")
# What a checkpoint states is used or refused, never skipped or turned into -nan.
for name, key, value, expect, note in [
        ("std_zero", "transform", json.dumps({"std": [0]}),
         "bitbench.transform std [0] holds a value that is not a positive number", "checkpoint transform std [0]: -nan% before"),
        ("class_names_string", "class_names", json.dumps("42"),
         "bitbench.class_names is not a JSON array of strings", "class_names \"42\": internal error (exit 1) before")]:
    h = json.loads(json.dumps(th))
    h["__metadata__"][key] = value
    put("ckpt/%s.safetensors" % name, join_safetensors(h, tdata))
    case("ckpt_" + name, "predict --checkpoint {h}/ckpt/%s.safetensors {h}/data/images/rgb_32x32.png" % name,
         [name + ".safetensors", expect], note)
# validate refuses before its settings banner and before any work.
case("validate_missing_folder", "validate --dataset imagefolder --data-dir {h}/data/no_such_folder "
     "--checkpoint {h}/seed/teacher.safetensors --results-file {out}/r.json", ["no_such_folder", "no such directory"],
     "a data folder that does not exist: the 7-line settings banner came first before")
case("validate_results_file_is_a_folder", "validate --dataset mnist --data-dir {h}/data/mnist_ok --checkpoint "
     "{h}/seed/teacher.safetensors --logits-out {out}/logits.npy --results-file {h}/data/mnist_ok",
     ["--results-file", "mnist_ok is a folder"], "failed only after the whole evaluation (exit 1, logits left behind) before")

# -------------------------------------------------------------------- configs
run = "run {h}/config/%s --out {out}/run"
# Data folders are relative to the working directory (the test runs in the
# corpus root), checkpoints to the config file.
base = {"name": "hostile", "dataset": {"name": "mnist", "data_dir": "data/mnist_ok"},
        "transform": {"img_size": 12, "crop_pct": 1.0, "in_chans": 1},
        "teacher": {"checkpoint": "../seed/teacher.safetensors"},
        "students": {"checkpoints": {"s": "../seed/packed.safetensors"}, "backends": ["bitkernels"]}}


def config(name, text, expect, note, command=run):
    put("config/" + name, text)
    case("config_" + name.split(".")[0], command % name, [name] + expect, note)


config("wrong_type.json", json.dumps(dict(base, eval={"limit": "all"})), ["/eval/limit", "expected"], "a string where a number goes")
config("unknown_key.json", json.dumps(dict(base, evaluation={"limit": 1})), ["/evaluation", "unknown key"], "a misspelt section")
config("truncated.json", json.dumps(base)[:40], ["parse"], "JSON cut off mid-object")
config("number_overflow.json", json.dumps(base)[:-1] + ', "seed": 1e999999}', ["number overflow"], "a number beyond double")
put("config/not_utf8.json", json.dumps(base).encode().replace(b"hostile", b"host\xff\xfeile"))
case("config_not_utf8", run % "not_utf8.json", ["not_utf8.json", "parse"], "invalid UTF-8 inside a string")
config("deep_nesting.json", '{"name": ' + "[" * 100000 + "]" * 100000 + "}", ["nested deeper than 64 levels"],
       "100000 nested arrays where a name goes")
config("missing_data_dir.json", json.dumps(dict(base, dataset={"name": "mnist", "data_dir": "data/nowhere"})),
       ["data/nowhere", "no such directory"], "data_dir that does not exist")
cases[-1]["expect"].remove("missing_data_dir.json")  # the message names the folder that is missing
config("train_wrong_type.json", json.dumps({"name": "t", "dataset": {"name": "mnist", "data_dir": "data/mnist_ok"},
                                            "train": {"epochs": [1]}}),
       ["/train/epochs", "expected"], "train config with an array for epochs", command="train --config {h}/config/%s --out {out}/train")

with open(os.path.join(HERE, "cases.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print("%d cases" % len(cases))
