#!/usr/bin/env python3
"""PyTorch twin of `mocca speed video-ae`: one phase-1 training step (forward, batch mean of
per-clip squared error, backward, Adam) of the video autoencoder `video-c3d`, in both memory
formats (contiguous and channels_last_3d), at a fixed thread count.

The network is the PyTorch twin in scripts/make-golden.py (VidAE), which the golden tests
check against Sources/MOCCAModels/VideoAutoencoder.swift. Its LSTM tap heads are not part of
phase 1, so neither side runs them.

    /tmp/torch-ref/bin/python scripts/bench/torch_video_ae.py --threads 2 --batch 8
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchkit  # noqa: E402


def load_twin():
    return benchkit.golden_twin("VidAE")


measure = benchkit.measure


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--clip-length", type=int, default=16)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    VidAE = load_twin()  # before setting threads: make-golden.py sets one thread on import
    torch.set_num_threads(args.threads)
    shape = (args.batch, args.channels, args.clip_length, args.height, args.width)
    result = {"bench": "torch_video_ae", "threads": args.threads, "batch": args.batch, "clip_length": args.clip_length,
              "height": args.height, "width": args.width, "channels": args.channels, "torch": torch.__version__}
    for name, fmt in (("contiguous", torch.contiguous_format), ("channels_last_3d", torch.channels_last_3d)):
        torch.manual_seed(0)
        model = VidAE(args.channels, args.height, args.width, 64, 100).to(memory_format=fmt).train()
        parameters = list(model.encoderLayers.parameters()) + list(model.decoderLayers.parameters())
        optimizer = torch.optim.Adam(parameters, lr=1e-4, weight_decay=0.5e-6)
        pool = [torch.rand(*shape).contiguous(memory_format=fmt) for _ in range(2)]
        state = {"index": 0, "loss": 0.0}

        def step():
            optimizer.zero_grad(set_to_none=True)
            x = pool[state["index"] % len(pool)]
            state["index"] += 1
            recon = model.decode(model.encode(x)[-1])
            loss = torch.mean(torch.sum((recon - x) ** 2, dim=(1, 2, 3, 4)))
            loss.backward()
            optimizer.step()
            state["loss"] = loss.item()

        best, median = measure(step, args.samples, args.steps, args.warmup)
        result[name] = {"train_clip_per_s_best": round(args.batch / best, 1),
                        "train_clip_per_s_median": round(args.batch / median, 1),
                        "train_step_ms_min": round(1e3 * best, 1), "train_step_ms_median": round(1e3 * median, 1),
                        "final_loss": state["loss"]}
        result["params"] = sum(p.numel() for p in parameters)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
