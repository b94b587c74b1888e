#!/usr/bin/env python3
"""PyTorch twins of `mocca speed one-class` and `mocca speed score`: MOCCA's one-class
training step (encoder, four taps: conv1..conv3 globally average-pooled before BatchNorm,
and the fc code; hard loss = sum over taps of the batch-mean squared distance to fixed
centroids; Adam lr 1e-4, weight decay 0.5e-6 over the encoder weights) and scoring
(evaluation-mode encoder plus the tap distances, no autograd).

Prints one JSON line. Usage:
    /tmp/torch-ref/bin/python scripts/bench/torch_mocca_phases.py --phase one-class|score
        [--threads 2] [--batch 128] [--channels-last] [--bf16] [--references N]

--references N (score) measures the nearest-neighbour tap score instead: each tap's
distance to the nearest of N random representations, like `mocca speed score --references N`.

--bf16 runs the step under torch.autocast(bfloat16): how much PyTorch's own mixed
precision gains on this CPU (none without AVX512-BF16/AMX; it is slower on AVX2).
"""
import argparse
import json
import statistics
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phase", choices=["one-class", "score"], required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=None, help="default 128 (one-class) or 256 (score)")
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--bf16", action="store_true", help="autocast the step to bfloat16")
    ap.add_argument("--references", type=int, default=0,
                    help="score: distance to the nearest of this many representations per tap (0: to the centroid)")
    args = ap.parse_args()
    batch = args.batch or (128 if args.phase == "one-class" else 256)

    import torch
    from torch_lenet import Encoder

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    mf = torch.channels_last if args.channels_last else torch.contiguous_format
    model = Encoder().to(memory_format=mf)
    pool = [torch.rand(batch, 3, 32, 32).contiguous(memory_format=mf) for _ in range(4)]
    with torch.no_grad():
        centroids = [t.mean(dim=0) for t in model(pool[0])]

    def timed(step):
        for i in range(args.warmup):
            step(pool[i % 4])
        times, i = [], 0
        for _ in range(args.samples):
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(pool[i % 4]); i += 1
            times.append((time.perf_counter() - t0) / args.steps)
        return min(times), statistics.median(times)

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
        best, median = timed(step)
        key = "train"
    else:
        model.eval()
        references = [torch.randn(args.references, c.numel()) for c in centroids] if args.references else None

        def step(x):
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                if references:
                    return [torch.cdist(t.float(), r).min(dim=1).values for t, r in zip(model(x), references)]
                return [torch.sum((t.float() - c) ** 2, dim=1) for t, c in zip(model(x), centroids)]
        best, median = timed(step)
        key = "infer"
    print(json.dumps({"bench": f"torch_mocca_{args.phase}", "threads": torch.get_num_threads(), "batch": batch,
                      "channels_last": args.channels_last, "bf16": args.bf16, "references": args.references,
                      f"{key}_img_per_s_best": round(batch / best, 1),
                      f"{key}_img_per_s_median": round(batch / median, 1)}))


if __name__ == "__main__":
    main()
