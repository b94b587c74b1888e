#!/usr/bin/env python3
"""Check that a safetensors file loads in Python and is well formed.

Usage:
    /tmp/torch-ref/bin/python scripts/check-safetensors.py FILE [--expect-keys k1,k2,...]

Prints the metadata and, for each tensor, its key, dtype and shape; checks that every
floating-point tensor is finite.  Also validates the layout independently of the library
(8-byte little-endian header length, JSON header, data offsets contiguous, in range and
covering the whole data section) and cross-checks the bytes against
safetensors.numpy.load_file.  Exits 0 on success, 1 on any failure.
Needs only numpy + safetensors (no torch).
"""
import argparse
import json
import struct
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

NP_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
         "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}


def raw_parse(path, errors):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        errors.append("file shorter than 8 bytes")
        return None, None, None
    (hlen,) = struct.unpack("<Q", data[:8])
    if 8 + hlen > len(data):
        errors.append(f"header length {hlen} exceeds file size {len(data)}")
        return None, None, None
    try:
        header = json.loads(data[8:8 + hlen].decode("utf-8"))
    except Exception as e:  # noqa: BLE001
        errors.append(f"header is not valid UTF-8 JSON: {e}")
        return None, None, None
    body = data[8 + hlen:]
    spans = []
    arrays = {}
    for key, info in header.items():
        if key == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                errors.append("__metadata__ must map strings to strings")
            continue
        dt, shape, (s, e) = info["dtype"], info["shape"], info["data_offsets"]
        if dt not in SIZES:
            errors.append(f"{key}: unknown dtype {dt}")
            continue
        n = int(np.prod(shape)) if shape else 1
        if e - s != n * SIZES[dt]:
            errors.append(f"{key}: byte span {e - s} != {n} x {SIZES[dt]}")
            continue
        spans.append((s, e, key))
        raw = body[s:e]
        if dt == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arrays[key] = u.view(np.float32).reshape(shape)
        else:
            arrays[key] = np.frombuffer(raw, dtype=np.dtype(NP_DTYPES[dt]).newbyteorder("<")).reshape(shape)
    spans.sort()
    pos = 0
    for s, e, key in spans:
        if s != pos:
            errors.append(f"{key}: data starts at {s}, expected {pos} (gap/overlap)")
        pos = max(pos, e)
    if pos != len(body):
        errors.append(f"data section is {len(body)} bytes but tensors cover {pos}")
    return header, arrays, hlen


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--expect-keys", default="", help="comma-separated keys that must be present")
    args = ap.parse_args()
    errors = []

    header, raw_arrays, hlen = raw_parse(args.file, errors)
    if header is None:
        for e in errors:
            print("FAIL:", e)
        return 1
    print(f"{args.file}: header {hlen} bytes")
    if errors:
        for e in errors:
            print("FAIL:", e)
        return 1

    try:
        with safe_open(args.file, framework="np") as f:
            meta = f.metadata() or {}
            keys = list(f.keys())
        has_bf16 = any(isinstance(v, dict) and v.get("dtype") == "BF16" for v in header.values())
        loaded = {} if has_bf16 else load_file(args.file)  # numpy has no bfloat16
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: safetensors library rejected the file: {e}")
        return 1
    for k in sorted(meta):
        print(f"  meta {k} = {meta[k]}")

    for key in keys:
        info = header[key]
        arr = raw_arrays.get(key)
        line = f"  {key:32s} {info['dtype']:5s} {list(info['shape'])}"
        if arr is None:
            errors.append(f"{key}: could not decode")
            print(line)
            continue
        if key in loaded:
            lib = loaded[key]
            if list(lib.shape) != list(info["shape"]) or lib.tobytes() != np.ascontiguousarray(arr).tobytes():
                errors.append(f"{key}: library load differs from raw bytes")
        if arr.dtype.kind == "f":
            finite = bool(np.isfinite(arr).all())
            if not finite:
                errors.append(f"{key}: contains non-finite values")
            if arr.size:
                a64 = arr.astype(np.float64)
                line += f"  min={a64.min():.6g} max={a64.max():.6g}" + ("" if finite else "  NON-FINITE")
        print(line)

    expect = [k for k in args.expect_keys.split(",") if k]
    missing = [k for k in expect if k not in keys]
    if missing:
        errors.append(f"missing expected keys: {missing}")

    if errors:
        for e in errors:
            print("FAIL:", e)
        return 1
    print(f"OK: {len(keys)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
