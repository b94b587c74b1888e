#!/usr/bin/env python3
"""PyTorch twin of `mocca speed mvtec-ae`: one phase-1 training step (forward, batch mean of
per-image squared error, backward, Adam) of the MVTec residual autoencoder, in both memory
formats (contiguous and channels_last), at a fixed thread count.

The network is the PyTorch twin in scripts/make-golden.py (MvAE), which the golden tests
check against Sources/MOCCAModels/ResidualInspectionAutoencoder.swift.

    /tmp/torch-ref/bin/python scripts/bench/torch_mvtec_ae.py --batch 128 --samples 2 --steps 1 --warmup 1
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchkit  # noqa: E402


def load_twin():
    return benchkit.golden_twin("MvAE")


measure = benchkit.measure


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    MvAE = load_twin()  # before setting threads: make-golden.py sets one thread on import
    torch.set_num_threads(args.threads)
    result = {"bench": "torch_mvtec_ae", "threads": args.threads, "batch": args.batch,
              "image_size": args.image_size, "channels": args.channels, "torch": torch.__version__}
    for name, fmt in (("contiguous", torch.contiguous_format), ("channels_last", torch.channels_last)):
        torch.manual_seed(0)
        model = MvAE(args.channels, args.image_size, 64, False).to(memory_format=fmt).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=0.5e-6)
        pool = [torch.rand(args.batch, args.channels, args.image_size, args.image_size).contiguous(memory_format=fmt)
                for _ in range(2)]
        state = {"index": 0, "loss": 0.0}

        def step():
            optimizer.zero_grad(set_to_none=True)
            x = pool[state["index"] % len(pool)]
            state["index"] += 1
            recon = model.decode(model.encode(x)[-1])
            loss = torch.mean(torch.sum((recon - x) ** 2, dim=(1, 2, 3)))
            loss.backward()
            optimizer.step()
            state["loss"] = loss.item()

        best, median = measure(step, args.samples, args.steps, args.warmup)
        result[name] = {"train_img_per_s_best": round(args.batch / best, 1),
                        "train_img_per_s_median": round(args.batch / median, 1),
                        "train_step_ms_min": round(1e3 * best, 1), "train_step_ms_median": round(1e3 * median, 1),
                        "final_loss": state["loss"]}
    result["params"] = sum(p.numel() for p in model.parameters())
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
