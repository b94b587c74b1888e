#!/usr/bin/env python3
"""Writes Tests/Fixtures/decoder/: files made by Pillow, and how Pillow decodes them.

  pillow-cmyk.jpg   a plain CMYK JPEG (Adobe marker, transform 0) of flat 8x8 blocks,
                    in Pillow's inverted (Adobe) convention
  pillow-rgba.png   an RGBA PNG whose alpha runs from transparent to opaque
  pillow.json       for each file, Pillow's convert("RGB") and convert("L") as planar
                    [C, H, W] lists, which ImageDecoder must reproduce

Usage:
    python3 -m venv /tmp/pil && /tmp/pil/bin/pip install pillow numpy
    /tmp/pil/bin/python scripts/make-decoder-fixtures.py
"""
import json
import os

import numpy as np
from PIL import Image
import PIL

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "decoder")

# Ink amounts (Pillow's in-memory CMYK: 0 is no ink), one 8x8 block each.
INKS = [(0, 255, 255, 0), (0, 0, 0, 0), (0, 0, 0, 255), (50, 100, 150, 30), (200, 10, 90, 120), (255, 0, 0, 0),
        (10, 200, 30, 60), (128, 128, 128, 128)]


def planar(image):
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    return array.transpose(2, 0, 1).reshape(-1).tolist()


def main():
    os.makedirs(ROOT, exist_ok=True)
    cmyk = np.zeros((8, 8 * len(INKS), 4), np.uint8)
    for i, ink in enumerate(INKS):
        cmyk[:, 8 * i:8 * i + 8] = ink
    Image.fromarray(cmyk, mode="CMYK").save(os.path.join(ROOT, "pillow-cmyk.jpg"), quality=100, subsampling=0)

    y, x = np.mgrid[0:6, 0:10]
    rgba = np.stack([(x * 25) % 256, (y * 40 + 7) % 256, (x * y * 9 + 100) % 256, (x * 28) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(rgba, mode="RGBA").save(os.path.join(ROOT, "pillow-rgba.png"))

    expected = {"generator": "scripts/make-decoder-fixtures.py", "pillow": PIL.__version__, "files": {}}
    for name in ["pillow-cmyk.jpg", "pillow-rgba.png"]:
        with Image.open(os.path.join(ROOT, name)) as image:
            expected["files"][name] = {"width": image.width, "height": image.height,
                                       "rgb": planar(image.convert("RGB")), "grey": planar(image.convert("L"))}
    with open(os.path.join(ROOT, "pillow.json"), "w") as file:
        json.dump(expected, file)
        file.write("\n")
    for name in sorted(os.listdir(ROOT)):
        print(name, os.path.getsize(os.path.join(ROOT, name)), "bytes")


if __name__ == "__main__":
    main()
