#!/usr/bin/env python3
"""Prints this machine's float32 matrix-multiply ceiling in GFLOP/s, at 1 and 2 threads,
as PyTorch's CPU build reaches it (square products of 2048 and 4096, best of several).

The convolutions of the benchmarks are GEMM-shaped work; a framework's throughput divided
by the network's FLOPs, set against this ceiling, shows how much room any implementation
has left on the host (README, *Performance*).

Usage: /tmp/torch-ref/bin/python scripts/bench/gemm_ceiling.py [--threads 1 2] [--repeats 5]
"""
import argparse
import json
import time

import torch


def best_gflops(n, repeats):
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    result = {"bench": "gemm_ceiling", "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    for threads in args.threads:
        torch.set_num_threads(threads)
        result[f"gflops_{threads}_threads"] = round(max(best_gflops(n, args.repeats) for n in (2048, 4096)), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
