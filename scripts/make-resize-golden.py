#!/usr/bin/env python3
"""Writes Tests/Fixtures/resize/golden.json: reference resizes for ImageResizerTests.

Each case is a deterministic 8-bit image (the integer formula `pixel` below, which the
Swift test repeats), resized four ways by code independent of ImageResizer:

  area            the exact area-weighted mean, computed by replicating every input pixel
                  `out` times along each axis and summing blocks of `in` samples, in
                  integers, then rounded half up: (2 S + D) // (2 D).
  box             Pillow's Image.BOX (equal to `area` for integer ratios, up to Pillow's
                  8-bit intermediate rounding).
  bilinear        Pillow's Image.BILINEAR (antialiased triangle filter; 8-bit intermediate).
  bilinear_exact  the same filter in exact rational arithmetic (Python's fractions), with
                  Pillow's window (centre (i + 1/2) * in / out, support max(in / out, 1),
                  cut at the edges and renormalised), rounded half up.
  bilinear_float  PyTorch's interpolate(mode="bilinear", antialias=True,
                  align_corners=False) in float64, rounded half up: the same filter
                  without intermediate rounding (omitted when torch is not installed).
  bilinear_uint8  the same PyTorch call on uint8 tensors (torchvision's Resize on
                  tensors): fixed-point weights, 8-bit intermediate, always horizontal
                  first, where Pillow starts with the pass giving the smaller intermediate.

Outputs are planar [C, H, W] bytes, base64-encoded.

Usage (Pillow, NumPy and optionally PyTorch):
    python3 -m venv /tmp/pil && /tmp/pil/bin/pip install pillow numpy
    /tmp/pil/bin/python scripts/make-resize-golden.py
"""
import base64
import json
import os
from fractions import Fraction

import numpy as np
from PIL import Image
import PIL

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the float reference is optional
    torch = None

# (name, channels, input height, input width, output height, output width)
CASES = [
    ("grey 300x300 to 32x32", 1, 300, 300, 32, 32),
    ("rgb 300x300 to 32x32", 3, 300, 300, 32, 32),
    ("rgb 37x23 to 16x20", 3, 37, 23, 16, 20),
    ("grey 37x23 to 16x40 (down and up)", 1, 37, 23, 16, 40),
    ("grey 8x8 to 20x12 (up)", 1, 8, 8, 20, 12),
    ("rgb 8x8 to 20x12 (up)", 3, 8, 8, 20, 12),
    ("rgb 64x48 to 16x12 (ratio 4)", 3, 64, 48, 16, 12),
]


def pixel(c, y, x):
    """A zone-plate-like pattern with a little hashed texture, in integers only."""
    return (x * x * 3 + y * y * 5 + x * y * 2 + c * 85 + ((x * 7919 + y * 104729 + c * 31) % 61) * 2) % 256


def make_image(channels, height, width):
    c, y, x = np.meshgrid(np.arange(channels), np.arange(height), np.arange(width), indexing="ij")
    return pixel(c.astype(np.int64), y.astype(np.int64), x.astype(np.int64)).astype(np.uint8)  # [C, H, W]


def exact_area(image, out_h, out_w):
    """Area means by replication: each input sample repeated `out` times, blocks of `in` summed."""
    channels, in_h, in_w = image.shape
    wide = image.astype(np.int64)
    rows = np.repeat(wide, out_h, axis=1).reshape(channels, out_h, in_h, in_w).sum(axis=2)
    sums = np.repeat(rows, out_w, axis=2).reshape(channels, out_h, out_w, in_w).sum(axis=3)
    divisor = in_h * in_w
    return ((2 * sums + divisor) // (2 * divisor)).astype(np.uint8)


def triangle_weights(size_in, size_out):
    """Exact triangle-filter weights as rows of (first input index, [Fraction weights])."""
    scale = Fraction(size_in, size_out)
    support = max(scale, 1)
    rows = []
    for i in range(size_out):
        centre = (i + Fraction(1, 2)) * scale
        first = max(int(centre - support + Fraction(1, 2)), 0)
        end = min(int(centre + support + Fraction(1, 2)), size_in)
        weights = [max(Fraction(0), 1 - abs((j - centre + Fraction(1, 2)) / support)) for j in range(first, end)]
        total = sum(weights)
        rows.append((first, [w / total for w in weights]))
    return rows


def exact_bilinear(image, out_h, out_w):
    """Separable triangle filtering in Fractions: rows, then columns, rounded half up once."""
    channels, in_h, in_w = image.shape
    across, down = triangle_weights(in_w, out_w), triangle_weights(in_h, out_h)
    out = np.zeros((channels, out_h, out_w), dtype=np.uint8)
    for c in range(channels):
        plane = image[c].tolist()
        middle = [[sum(w * row[first + k] for k, w in enumerate(ws)) for first, ws in across] for row in plane]
        for y, (first, ws) in enumerate(down):
            for x in range(out_w):
                value = sum(w * middle[first + k][x] for k, w in enumerate(ws))
                out[c, y, x] = int(value + Fraction(1, 2))  # floor: the value is never negative
    return out


def pillow(image, out_h, out_w, resample):
    planes = [np.asarray(Image.fromarray(plane, mode="L").resize((out_w, out_h), resample)) for plane in image]
    return np.stack(planes)


def torch_bilinear(image, out_h, out_w):
    x = torch.from_numpy(image.astype(np.float64))[None]
    y = F.interpolate(x, size=(out_h, out_w), mode="bilinear", antialias=True, align_corners=False)[0]
    return np.floor(y.numpy() + 0.5).clip(0, 255).astype(np.uint8)


def torch_bilinear_uint8(image, out_h, out_w):
    x = torch.from_numpy(image)[None]
    return F.interpolate(x, size=(out_h, out_w), mode="bilinear", antialias=True, align_corners=False)[0].numpy()


def encode(array):
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.uint8).tobytes()).decode("ascii")


def main():
    cases = []
    for name, channels, in_h, in_w, out_h, out_w in CASES:
        image = make_image(channels, in_h, in_w)
        outputs = {
            "area": encode(exact_area(image, out_h, out_w)),
            "box": encode(pillow(image, out_h, out_w, Image.BOX)),
            "bilinear": encode(pillow(image, out_h, out_w, Image.BILINEAR)),
            "bilinear_exact": encode(exact_bilinear(image, out_h, out_w)),
        }
        if torch is not None:
            outputs["bilinear_float"] = encode(torch_bilinear(image, out_h, out_w))
            outputs["bilinear_uint8"] = encode(torch_bilinear_uint8(image, out_h, out_w))
        cases.append({"name": name, "channels": channels, "inHeight": in_h, "inWidth": in_w,
                      "outHeight": out_h, "outWidth": out_w, "outputs": outputs})
    versions = {"pillow": PIL.__version__, "numpy": np.__version__}
    if torch is not None:
        versions["torch"] = torch.__version__
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "resize")
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, "golden.json")
    with open(path, "w") as file:
        json.dump({"generator": "scripts/make-resize-golden.py", "versions": versions, "cases": cases}, file, indent=1)
        file.write("\n")
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
