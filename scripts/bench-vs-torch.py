#!/usr/bin/env python3
"""Runs swift-mocca's core benchmark next to the PyTorch reference, in the same run, and
prints the ratio. The yardstick is the faster PyTorch memory format (NCHW or channels-last).

Usage (from the repository root, after `swift build -c release --product mocca`):
    python3 scripts/bench-vs-torch.py [--torch-python /tmp/torch-ref/bin/python] [--rounds 2]
        [--threads 2] [--batch 128] [--torch-bench ../shared/bench/torch_cifar_ae.py]

Install PyTorch's CPU build for it outside the repository:
    python3 -m venv /tmp/torch-ref && /tmp/torch-ref/bin/pip install 'torch==2.13.0+cpu' numpy
Rounds interleave the three runs (mocca, torch NCHW, torch channels-last) because these
machines are shared and noisy; each figure is the best over rounds.
"""
import argparse
import json
import os
import subprocess
import sys


def run_json(command, env=None):
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-python", default="/tmp/torch-ref/bin/python")
    ap.add_argument("--torch-bench", default=os.path.join(root, "..", "shared", "bench", "torch_cifar_ae.py"))
    ap.add_argument("--mocca", default=os.path.join(root, ".build", "release", "mocca"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()

    common = ["--threads", str(args.threads), "--batch", str(args.batch),
              "--samples", str(args.samples), "--steps", str(args.steps)]
    # PyTorch is measured as shipped: the OpenBLAS core-type overrides of these machines slow it down.
    torch_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    best = {}
    for _ in range(args.rounds):
        runs = {
            "mocca": lambda: run_json([args.mocca, "bench", "core", "--skip-layers"] + common),
            "torch_nchw": lambda: run_json([args.torch_python, args.torch_bench] + common, torch_env),
            "torch_channels_last": lambda: run_json([args.torch_python, args.torch_bench, "--channels-last"] + common, torch_env),
        }
        for name, run in runs.items():
            result = run()
            for key in ("train_img_per_s_best", "infer_img_per_s_best"):
                best[(name, key)] = max(best.get((name, key), 0.0), result[key])

    print(f"CIFAR-10 LeNet autoencoder, batch {args.batch}, {args.threads} threads, best of {args.rounds} rounds")
    print(f"{'':28}{'mocca':>10}{'torch NCHW':>12}{'torch CL':>10}{'ratio':>8}")
    table = {}
    for key, label in (("train_img_per_s_best", "training images/s"), ("infer_img_per_s_best", "inference images/s")):
        m, a, b = best[("mocca", key)], best[("torch_nchw", key)], best[("torch_channels_last", key)]
        ratio = m / max(a, b)
        table[key] = {"mocca": m, "torch_nchw": a, "torch_channels_last": b, "ratio_vs_best_torch": round(ratio, 3)}
        print(f"{label:28}{m:>10.1f}{a:>12.1f}{b:>10.1f}{ratio:>8.2f}")
    print(json.dumps(table))


if __name__ == "__main__":
    sys.exit(main())
