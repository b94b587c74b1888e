#!/usr/bin/env python3
"""Writes Fuzz/Corpus/<target>/: the small seed corpora scripts/fuzz.sh starts from.

A few valid files per format, each a few KiB at most, covering the layouts each reader
takes a separate path for:

  fuzz-idx          IDX image and label files, plain, gzipped, and in two gzip members
  fuzz-cifar10      CIFAR-10 batches of one and two records
  fuzz-safetensors  F32, F64, F16 and BF16 tensors, a scalar, an empty tensor, metadata
  fuzz-manifest     the v0.1.0 demo detector's manifest (format 1) and format 2 variants
                    (soft boundary, other threshold rules, the MLP network)
  fuzz-png          8- and 16-bit grey, RGB, grey+alpha and RGBA, a palette with
                    transparency, an interlaced image, a gAMA chunk
  fuzz-jpeg         grey, 4:4:4, 4:2:0, progressive and CMYK JPEGs, written by the
                    system's TurboJPEG (libturbojpeg0-dev, through ctypes)
  fuzz-tiff         8-bit grey in two strips (UCSD's frames), RGB big-endian, planar RGB,
                    PackBits grey, 16-bit grey, a palette image

Only the standard library is needed. Output is deterministic; run it again after
changing it and commit the result:
    python3 scripts/make-fuzz-corpus.py
"""
import ctypes
import ctypes.util
import gzip
import json
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as file:
        file.write(data)


def pattern(count, seed):
    return bytes((i * 37 + seed * 11 + (i * i) % 7) % 256 for i in range(count))


def gz(data):
    # mtime 0: the same bytes on every run.
    return gzip.compress(data, compresslevel=9, mtime=0)


# --- IDX -------------------------------------------------------------------------------

def idx(dimensions, values):
    return bytes([0, 0, 8, len(dimensions)]) + b"".join(struct.pack(">I", d) for d in dimensions) + values


def make_idx():
    images = idx([3, 4, 4], pattern(48, 1))
    labels = idx([3], bytes([2, 0, 1]))
    write("fuzz-idx", "images-3x4x4", images)
    write("fuzz-idx", "labels-3", labels)
    write("fuzz-idx", "images-3x4x4.gz", gz(images))
    write("fuzz-idx", "labels-3.gz", gz(labels))
    write("fuzz-idx", "images-two-members.gz", gz(images[:10]) + gz(images[10:]))
    write("fuzz-idx", "images-1x1x1", idx([1, 1, 1], b"\x80"))


# --- CIFAR-10 --------------------------------------------------------------------------

def make_cifar():
    def record(label, seed):
        return bytes([label]) + pattern(3072, seed)
    write("fuzz-cifar10", "one-record.bin", record(3, 1))
    write("fuzz-cifar10", "one-record-label9.bin", record(9, 2))
    write("fuzz-cifar10", "two-records.bin", record(0, 3) + record(7, 4))


# --- safetensors -----------------------------------------------------------------------

def safetensors(tensors, metadata=None):
    """tensors: (name, dtype, shape, raw bytes); laid out as Python's safetensors does."""
    header, body = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in sorted(tensors):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + body


def make_safetensors():
    f32 = struct.pack("<6f", 0.0, 1.0, -2.5, 3.25, 1e-3, -7.0)
    write("fuzz-safetensors", "f32.safetensors", safetensors([("weight", "F32", [2, 3], f32)]))
    write("fuzz-safetensors", "mixed.safetensors", safetensors([
        ("a.f64", "F64", [2], struct.pack("<2d", 1.5, -0.25)),
        ("b.f16", "F16", [2, 2], struct.pack("<4e", 1.0, -2.0, 0.5, 65504.0)),
        ("c.bf16", "BF16", [3], struct.pack("<3H", 0x3F80, 0xC000, 0x0000)),
        ("d.scalar", "F32", [], struct.pack("<f", 42.0)),
        ("e.empty", "F32", [0, 4], b""),
    ], metadata={"format": "swift-mocca-detector", "note": "seed"}))
    write("fuzz-safetensors", "empty.safetensors", safetensors([]))


# --- manifest --------------------------------------------------------------------------

def make_manifests():
    path = os.path.join(ROOT, "Tests", "Fixtures", "detectors", "v0.1.0-demo-knn", "manifest.json")
    with open(path, "rb") as file:
        original = file.read()
    write("fuzz-manifest", "v1-demo-knn.json", original)
    manifest = json.loads(original)

    def dump(name, value):
        write("fuzz-manifest", name, json.dumps(value, indent=1, sort_keys=True).encode())

    # Format 2: the network as a registered name with its configuration.
    v2 = json.loads(original)
    configuration = v2["configuration"]
    del configuration["model"], configuration["codeLength"]
    configuration["network"] = {"name": "mnist-lenet", "configuration": {"codeLength": 32}}
    v2["formatVersion"] = 2
    v2["toolVersion"] = "0.2.0"
    v2["trainingData"]["path"] = "fashion-mnist"
    dump("v2-mnist-lenet.json", v2)

    # The paper's recipe: centroid scores, mean fusion, a soft boundary, a fixed threshold.
    soft = json.loads(json.dumps(v2))
    soft["configuration"].update(boundary="soft", tapScore="centroid", fusion="mean", neighbors=1)
    soft["radii"] = [0.5, 0.25, 0.125]
    soft["thresholdRule"] = {"value": {"_0": 0.75}}
    soft["preprocessor"] = None
    dump("v2-soft-centroid.json", soft)

    # An MLP on 6-vectors with two hidden layers and the reconstruction channel.
    mlp = json.loads(json.dumps(v2))
    taps = ["hidden1", "hidden2", "code"]
    mlp["configuration"].update(
        network={"name": "mlp", "configuration": {"inputFeatures": 6, "hiddenSizes": [5, 4], "codeLength": 3,
                                                  "batchNorm": True}},
        taps=taps, reconstructionChannel=True, fusion="standardized", tapScore="nearest-neighbor", neighbors=2)
    mlp["taps"] = taps
    mlp["channels"] = taps + ["reconstruction"]
    mlp["centroids"] = [[0.1] * 5, [0.2] * 4, [-0.3] * 3]
    mlp["radii"] = [0, 0, 0]
    mlp["channelStatistics"] = [{"mean": 1.0, "standardDeviation": 0.5}] * 4
    mlp["hasAutoencoder"] = True
    mlp["thresholdRule"] = {"falsePositiveRate": {"rate": 0.05}}
    del mlp["trainingData"]
    del mlp["training"]
    dump("v2-mlp-reconstruction.json", mlp)


# --- PNG -------------------------------------------------------------------------------

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, color_type, bit_depth, rows, extra=b"", interlace=0, before_idat=b""):
    """rows: filtered scanlines (a filter byte each), already in the interlaced order if any."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + before_idat
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def scanlines(width, height, samples_per_pixel, bytes_per_sample, seed, filters=(0, 1, 2, 3, 4)):
    stride = width * samples_per_pixel * bytes_per_sample
    data = pattern(stride * height, seed)
    return b"".join(bytes([filters[y % len(filters)]]) + data[y * stride:(y + 1) * stride] for y in range(height))


def make_png():
    write("fuzz-png", "grey8-4x4.png", png(4, 4, 0, 8, scanlines(4, 4, 1, 1, 1)))
    write("fuzz-png", "rgb8-4x4.png", png(4, 4, 2, 8, scanlines(4, 4, 3, 1, 2)))
    write("fuzz-png", "rgba8-3x5.png", png(3, 5, 6, 8, scanlines(3, 5, 4, 1, 3)))
    write("fuzz-png", "greyalpha8-4x2.png", png(4, 2, 4, 8, scanlines(4, 2, 2, 1, 4)))
    write("fuzz-png", "grey16-3x3.png", png(3, 3, 0, 16, scanlines(3, 3, 1, 2, 5)))
    write("fuzz-png", "rgba16-2x2.png", png(2, 2, 6, 16, scanlines(2, 2, 4, 2, 6)))
    write("fuzz-png", "grey1-8x2.png", png(8, 2, 0, 1, bytes([0, 0xA5, 0, 0x5A])))
    palette = chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])) + chunk(b"tRNS", bytes([255, 128, 0]))
    write("fuzz-png", "palette4-4x4-trns.png", png(4, 4, 3, 4, bytes([0, 0x01, 0x23] * 4)[:12], extra=palette))
    gamma = chunk(b"gAMA", struct.pack(">I", 45455))
    write("fuzz-png", "rgb8-gamma-2x2.png", png(2, 2, 2, 8, scanlines(2, 2, 3, 1, 7), extra=gamma))
    # Adam7 interlacing of a 3x3 grey image: passes 1 (1 px), 4 (1 px: x=2, y=0... ) etc.
    # Pass sizes for 3x3: p1 1x1, p2 0 (skipped), p3 0, p4 1x1, p5 2x1, p6 1x2, p7 3x1.
    passes = [(1, 1), (1, 1), (2, 1), (1, 2), (3, 1)]
    rows = b"".join(bytes([0]) + pattern(w, 10 + i) for i, (w, h) in enumerate(passes) for _ in range(h))
    write("fuzz-png", "grey8-3x3-adam7.png", png(3, 3, 0, 8, rows, interlace=1))
    text = chunk(b"tEXt", b"Comment\x00fuzz seed")
    write("fuzz-png", "rgb8-text-1x1.png", png(1, 1, 2, 8, bytes([0, 10, 20, 30]), extra=text))


# --- JPEG ------------------------------------------------------------------------------

def turbojpeg():
    name = ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0"
    library = ctypes.CDLL(name)
    library.tjInitCompress.restype = ctypes.c_void_p
    library.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                    ctypes.c_int, ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)),
                                    ctypes.POINTER(ctypes.c_ulong), ctypes.c_int, ctypes.c_int, ctypes.c_int]
    library.tjFree.argtypes = [ctypes.c_void_p]
    library.tjDestroy.argtypes = [ctypes.c_void_p]
    return library


# TurboJPEG's constants (turbojpeg.h).
TJPF_RGB, TJPF_GRAY, TJPF_CMYK = 0, 6, 11
TJSAMP_444, TJSAMP_420, TJSAMP_GRAY = 0, 2, 3
TJFLAG_PROGRESSIVE = 16384
PIXEL_SIZE = {TJPF_RGB: 3, TJPF_GRAY: 1, TJPF_CMYK: 4}


def jpeg(library, width, height, pixel_format, subsampling, quality=75, flags=0, seed=0):
    handle = library.tjInitCompress()
    pixels = pattern(width * height * PIXEL_SIZE[pixel_format], seed)
    output = ctypes.POINTER(ctypes.c_ubyte)()
    size = ctypes.c_ulong(0)
    if library.tjCompress2(handle, pixels, width, 0, height, pixel_format, ctypes.byref(output), ctypes.byref(size),
                           subsampling, quality, flags) != 0:
        raise RuntimeError("TurboJPEG could not compress")
    data = ctypes.string_at(output, size.value)
    library.tjFree(output)
    library.tjDestroy(handle)
    return data


def make_jpeg():
    library = turbojpeg()
    write("fuzz-jpeg", "grey-8x8.jpg", jpeg(library, 8, 8, TJPF_GRAY, TJSAMP_GRAY, seed=1))
    write("fuzz-jpeg", "rgb444-8x8.jpg", jpeg(library, 8, 8, TJPF_RGB, TJSAMP_444, seed=2))
    write("fuzz-jpeg", "rgb420-16x16.jpg", jpeg(library, 16, 16, TJPF_RGB, TJSAMP_420, quality=50, seed=3))
    write("fuzz-jpeg", "rgb420-progressive-9x7.jpg",
          jpeg(library, 9, 7, TJPF_RGB, TJSAMP_420, flags=TJFLAG_PROGRESSIVE, seed=4))
    write("fuzz-jpeg", "cmyk-8x8.jpg", jpeg(library, 8, 8, TJPF_CMYK, TJSAMP_444, seed=5))
    write("fuzz-jpeg", "rgb444-1x1.jpg", jpeg(library, 1, 1, TJPF_RGB, TJSAMP_444, quality=90, seed=6))
    with open(os.path.join(ROOT, "Tests", "Fixtures", "decoder", "pillow-cmyk.jpg"), "rb") as file:
        write("fuzz-jpeg", "pillow-cmyk.jpg", file.read())


def packbits(data):
    """PackBits: literal runs of up to 128 bytes, and repeats of 3 or more as runs."""
    out, i = bytearray(), 0
    while i < len(data):
        run = 1
        while i + run < len(data) and run < 128 and data[i + run] == data[i]:
            run += 1
        if run >= 3:
            out += bytes([257 - run, data[i]])
            i += run
            continue
        start = i
        while i < len(data) and i - start < 128 and not (i + 2 < len(data) and data[i] == data[i + 1] == data[i + 2]):
            i += 1
        out += bytes([i - start - 1]) + data[start:i]
    return bytes(out)


def tiff(width, height, bits, photometric, strips, samples=1, compression=1, planar=1, big_endian=False, colormap=None):
    """A baseline TIFF: header, strips, out-of-line values, then the IFD (tags ascending)."""
    order = ">" if big_endian else "<"
    body = bytearray((b"MM" if big_endian else b"II") + struct.pack(order + "HI", 42, 0))
    offsets = []
    for strip in strips:
        offsets.append(len(body))
        body += strip
    def values(kind, items):
        # Returns (count, value field): inline when 4 bytes hold them, else an offset.
        code = "H" if kind == 3 else "I"
        packed = struct.pack(order + code * len(items), *items)
        if len(packed) <= 4:
            return len(items), packed.ljust(4, b"\0")
        offset = len(body)
        body.extend(packed)
        return len(items), struct.pack(order + "I", offset)
    rows = height // len(strips) if planar == 1 else height
    entries = [(256, 4, [width]), (257, 4, [height]), (258, 3, [bits] * samples), (259, 3, [compression]),
               (262, 3, [photometric]), (273, 4, offsets), (277, 3, [samples]), (278, 4, [rows]),
               (279, 4, [len(strip) for strip in strips]), (284, 3, [planar])]
    if colormap is not None:
        entries.append((320, 3, colormap))
    fields = [(tag, kind) + values(kind, items) for tag, kind, items in entries]
    if len(body) % 2:
        body += b"\0"
    struct.pack_into(order + "I", body, 4, len(body))
    body += struct.pack(order + "H", len(fields))
    for tag, kind, count, field in fields:
        body += struct.pack(order + "HHI", tag, kind, count) + field
    return bytes(body + struct.pack(order + "I", 0))


def make_tiff():
    grey = pattern(6 * 4, 1)
    write("fuzz-tiff", "grey8-6x4-two-strips.tif", tiff(6, 4, 8, 1, [grey[:12], grey[12:]]))
    write("fuzz-tiff", "rgb8-4x3-big-endian.tif", tiff(4, 3, 8, 2, [pattern(4 * 3 * 3, 2)], samples=3, big_endian=True))
    planes = pattern(3 * 3 * 2, 3)
    write("fuzz-tiff", "rgb8-3x2-planar.tif", tiff(3, 2, 8, 2, [planes[:6], planes[6:12], planes[12:]], samples=3, planar=2))
    flat = bytes([9] * 10 + [200, 3, 4] + [7] * 3)
    write("fuzz-tiff", "grey8-4x4-packbits.tif", tiff(4, 4, 8, 1, [packbits(flat)], compression=32773))
    write("fuzz-tiff", "grey16-3x3.tif", tiff(3, 3, 16, 1, [pattern(3 * 3 * 2, 4)]))
    colormap = [i * 257 * 60 for i in range(4)] + [65535 - i * 257 * 60 for i in range(4)] + [i * 20000 for i in range(4)]
    write("fuzz-tiff", "palette2-4x2.tif", tiff(4, 2, 2, 3, [bytes([0b00011011, 0b11100100])], colormap=colormap))


if __name__ == "__main__":
    make_idx()
    make_cifar()
    make_safetensors()
    make_manifests()
    make_png()
    make_jpeg()
    make_tiff()
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        sizes = [os.path.getsize(os.path.join(CORPUS, target, f)) for f in files]
        print(f"{target}: {len(files)} files, {min(sizes)}-{max(sizes)} bytes")
