#!/usr/bin/env python3
"""PyTorch twins of `mocca speed one-class` and `mocca speed score`: MOCCA's one-class
training step (encoder, four taps: conv1..conv3 globally average-pooled before BatchNorm,
and the fc code; hard loss = sum over taps of the batch-mean squared distance to fixed
centroids; Adam lr 1e-4, weight decay 0.5e-6 over the encoder weights) and scoring
(evaluation-mode encoder plus the tap distances, no autograd). With --phase autoencoder,
the twin of `mocca speed core`'s training and inference figures: the CIFAR-10 autoencoder
of ../shared/bench/torch_cifar_ae.py (imported from there, --ae-bench, not copied), timed
as that script times it, so that --bf16 can be added to it.

Prints one JSON line. Usage:
    /tmp/torch-ref/bin/python scripts/bench/torch_mocca_phases.py --phase one-class|score|autoencoder
        [--threads 2] [--batch 128] [--channels-last] [--bf16] [--references N]

--references N (score) measures the nearest-neighbour tap score instead: each tap's
distance to the nearest of N random representations, like `mocca speed score --references N`.

--bf16 runs the step under torch.autocast(bfloat16): how much PyTorch's own mixed
precision gains on this CPU (none without AVX512-BF16/AMX; it is slower on AVX2). It is
the twin of `mocca speed ... --precision bf16`: convolutions and linear layers take bf16
operands, parameters stay float32; unlike mocca, autocast also leaves the activations
between them (BatchNorm, LeakyReLU, pooling) in bf16.
"""
import argparse
import importlib.util
import json
import os
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phase", choices=["one-class", "score", "autoencoder"], required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=None, help="default 128 (one-class) or 256 (score)")
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--bf16", action="store_true", help="autocast the step to bfloat16")
    ap.add_argument("--references", type=int, default=0,
                    help="score: distance to the nearest of this many representations per tap (0: to the centroid)")
    ap.add_argument("--ae-bench", default=os.path.join(HERE, "..", "..", "..", "shared", "bench", "torch_cifar_ae.py"),
                    help="autoencoder: the script whose build_model(torch) makes the network")
    args = ap.parse_args()
    batch = args.batch or (256 if args.phase == "score" else 128)

    import torch
    from torch_lenet import Encoder

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.phase == "autoencoder":
        return autoencoder(torch, args, batch)

    mf = torch.channels_last if args.channels_last else torch.contiguous_format
    model = Encoder().to(memory_format=mf)
    pool = [torch.rand(batch, 3, 32, 32).contiguous(memory_format=mf) for _ in range(4)]
    with torch.no_grad():
        centroids = [t.mean(dim=0) for t in model(pool[0])]

    if args.phase == "one-class":
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=0.5e-6)

        def step(x):
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                taps = model(x)
            loss = sum(torch.mean(torch.sum((t.float() - c) ** 2, dim=1)) for t, c in zip(taps, centroids))
            loss.backward()
            opt.step()
        best, median = timed_steps(step, pool, args)
        key = "train"
    else:
        model.eval()
        references = [torch.randn(args.references, c.numel()) for c in centroids] if args.references else None

        def step(x):
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                if references:
                    return [torch.cdist(t.float(), r).min(dim=1).values for t, r in zip(model(x), references)]
                return [torch.sum((t.float() - c) ** 2, dim=1) for t, c in zip(model(x), centroids)]
        best, median = timed_steps(step, pool, args)
        key = "infer"
    print(json.dumps({"bench": f"torch_mocca_{args.phase}", "threads": torch.get_num_threads(), "batch": batch,
                      "channels_last": args.channels_last, "bf16": args.bf16, "references": args.references,
                      f"{key}_img_per_s_best": round(batch / best, 1),
                      f"{key}_img_per_s_median": round(batch / median, 1)}))


def timed_steps(step, pool, args):
    """Seconds per call of `step` on the batches of `pool` in turn: the best and the median
    of `args.samples` timings of `args.steps` calls, after `args.warmup` untimed calls."""
    for i in range(args.warmup):
        step(pool[i % len(pool)])
    times, i = [], 0
    for _ in range(args.samples):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step(pool[i % len(pool)]); i += 1
        times.append((time.perf_counter() - t0) / args.steps)
    return min(times), statistics.median(times)


def autoencoder(torch, args, batch):
    """Training and inference of the CIFAR-10 autoencoder, as torch_cifar_ae.py measures them
    (loss: batch mean of per-image squared error sums; Adam lr 1e-4, weight decay 0.5e-6;
    inference: per-image squared error, no autograd), optionally under bf16 autocast."""
    spec = importlib.util.spec_from_file_location("torch_cifar_ae", args.ae_bench)
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    mf = torch.channels_last if args.channels_last else torch.contiguous_format
    model = shared.build_model(torch).to(memory_format=mf)
    pool = [torch.rand(batch, 3, 32, 32).contiguous(memory_format=mf) for _ in range(4)]
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=0.5e-6)

    def train_step(x):
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            out = model(x)
        loss = torch.mean(torch.sum((out.float() - x) ** 2, dim=(1, 2, 3)))
        loss.backward()
        opt.step()

    def infer_step(x):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            return torch.sum((model(x).float() - x) ** 2, dim=(1, 2, 3))

    model.train()
    train_best, train_median = timed_steps(train_step, pool, args)
    model.eval()
    infer_best, infer_median = timed_steps(infer_step, pool, args)
    print(json.dumps({"bench": "torch_mocca_autoencoder", "threads": torch.get_num_threads(), "batch": batch,
                      "channels_last": args.channels_last, "bf16": args.bf16,
                      "train_img_per_s_best": round(batch / train_best, 1),
                      "train_img_per_s_median": round(batch / train_median, 1),
                      "infer_img_per_s_best": round(batch / infer_best, 1),
                      "infer_img_per_s_median": round(batch / infer_median, 1)}))


if __name__ == "__main__":
    main()
