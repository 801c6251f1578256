#!/usr/bin/env python3
"""A DeiT-Tiny-shaped checkpoint as a user's one-time conversion writes it, and
PyTorch's logits for it on photos run through timm's eval pipeline, for
tests/test_cli_model.cpp (made at test time with Debian's python3-torch,
python3-torchvision and python3-pil). Into the folder given:
  model.safetensors  timm-named F32 tensors (random weights) and foreign
                     __metadata__ keys bitbench must ignore
  images/<class>/... an ImageFolder of JPEGs (250x200 to 1024x768) and a PNG
  logits.npy         [N, 1000] float32: PyTorch's forward on Pillow decode,
                     Resize(256, bicubic), CenterCrop(224), ToTensor,
                     Normalize(ImageNet mean/std), images in ImageFolder order
The model is written here in plain torch (timm's VisionTransformer forward:
patch conv, class token, pos_embed, pre-norm blocks with LayerNorm eps 1e-6,
exact GELU, final norm, head on the class token)."""
import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

out = sys.argv[1]
torch.manual_seed(19)
D, depth, heads, mlp, classes, patch, img = 192, 12, 3, 768, 1000, 16, 224
tokens = (img // patch) ** 2 + 1


def randn(*shape, std=0.05):
    return torch.randn(*shape) * std


params = {"cls_token": randn(1, 1, D, std=0.5), "pos_embed": randn(1, tokens, D, std=0.5),
          "patch_embed.proj.weight": randn(D, 3, patch, patch, std=0.03), "patch_embed.proj.bias": randn(D, std=0.1)}
for b in range(depth):
    p = f"blocks.{b}."
    params.update({p + "norm1.weight": 1 + randn(D, std=0.1), p + "norm1.bias": randn(D, std=0.1),
                   p + "attn.qkv.weight": randn(3 * D, D, std=0.08), p + "attn.qkv.bias": randn(3 * D, std=0.05),
                   p + "attn.proj.weight": randn(D, D, std=0.05), p + "attn.proj.bias": randn(D, std=0.05),
                   p + "norm2.weight": 1 + randn(D, std=0.1), p + "norm2.bias": randn(D, std=0.1),
                   p + "mlp.fc1.weight": randn(mlp, D, std=0.05), p + "mlp.fc1.bias": randn(mlp, std=0.05),
                   p + "mlp.fc2.weight": randn(D, mlp, std=0.03), p + "mlp.fc2.bias": randn(D, std=0.05)})
params.update({"norm.weight": 1 + randn(D, std=0.1), "norm.bias": randn(D, std=0.1),
               "head.weight": randn(classes, D, std=0.1), "head.bias": randn(classes, std=0.1)})


def forward(x):
    ln = torch.nn.functional.layer_norm
    x = torch.nn.functional.conv2d(x, params["patch_embed.proj.weight"], params["patch_embed.proj.bias"], stride=patch)
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([params["cls_token"].expand(x.shape[0], -1, -1), x], 1) + params["pos_embed"]
    hd = D // heads
    for b in range(depth):
        p = lambda n: params[f"blocks.{b}.{n}"]
        h = ln(x, (D,), p("norm1.weight"), p("norm1.bias"), 1e-6)
        B, T, _ = h.shape
        qkv = (h @ p("attn.qkv.weight").T + p("attn.qkv.bias")).reshape(B, T, 3, heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = ((q * hd ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        h = (a @ v).transpose(1, 2).reshape(B, T, D)
        x = x + h @ p("attn.proj.weight").T + p("attn.proj.bias")
        h = ln(x, (D,), p("norm2.weight"), p("norm2.bias"), 1e-6)
        h = torch.nn.functional.gelu(h @ p("mlp.fc1.weight").T + p("mlp.fc1.bias"))
        x = x + h @ p("mlp.fc2.weight").T + p("mlp.fc2.bias")
    x = ln(x, (D,), params["norm.weight"], params["norm.bias"], 1e-6)
    return x[:, 0] @ params["head.weight"].T + params["head.bias"]


# safetensors, written by hand; the metadata is another tool's.
header, blobs, off = {}, [], 0
for name, t in params.items():
    b = t.contiguous().numpy().astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
header["__metadata__"] = {"format": "pt", "quant": "fp32",
                          "config": json.dumps({"architecture": "deit_tiny_patch16_224", "num_classes": 1000,
                                                "global_pool": "token", "drop_path_rate": 0.1})}
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

# Photos: smooth gradients plus noise, as JPEG (and one PNG), in two classes.
rng = np.random.default_rng(19)
sizes = [(250, 200), (500, 375), (375, 500), (640, 480), (1024, 768), (333, 251), (800, 600), (500, 333)]
files = []
for i, (w, hh) in enumerate(sizes):
    y, x = np.mgrid[0:hh, 0:w].astype(np.float64)
    a = np.stack([127 + 100 * np.sin(x / (9 + 5 * c) + y / (13 + 3 * c)) for c in range(3)], -1)
    a = np.clip(a + rng.normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    cls = f"n0000000{i % 2}"
    os.makedirs(os.path.join(out, "images", cls), exist_ok=True)
    name = os.path.join(out, "images", cls, f"img_{i}.{'png' if i == 5 else 'jpg'}")
    Image.fromarray(a).save(name, quality=90) if i != 5 else Image.fromarray(a).save(name)
    files.append(name)
files.sort(key=lambda f: (os.path.basename(os.path.dirname(f)), os.path.basename(f)))
tf = transforms.Compose([transforms.Resize(256, interpolation=transforms.InterpolationMode.BICUBIC),
                         transforms.CenterCrop(224), transforms.ToTensor(),
                         transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
x = torch.stack([tf(Image.open(f).convert("RGB")) for f in files])
with torch.no_grad():
    logits = forward(x).numpy().astype(np.float32)
np.save(os.path.join(out, "logits.npy"), logits)
print("logits spread", float(logits.std()), "files", len(files))
