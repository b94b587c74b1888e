#!/usr/bin/env python3
"""Tap scoring rules compared in PyTorch, on the autoencoders that `mocca benchmark` pretrained.

For each normal class: load `<pretrained>/<class>-seed<seed>-*.safetensors` (the
CIFAR-10 LeNet autoencoder; the encoder's weights and BatchNorm running statistics),
preprocess as the paper does (per-image L1 global contrast normalisation, then min-max
with the normal class's training extremes), take the four taps in evaluation mode
(conv1..conv3 globally average-pooled before BatchNorm, and the fc code), and score the
test set with several rules per tap:

- l2: squared distance to the training mean (the centroid score, without one-class training);
- diag: the same with each coordinate divided by its training variance;
- maha: Mahalanobis distance with a Ledoit-Wolf covariance;
- knn1, knn5: distance to the 1st / 5th nearest training representation, each coordinate
  divided by its training standard deviation (swift-mocca's `--tap-score nearest-neighbor`).

Taps are fused by standardising each with its training scores (leave-one-out for knn).
`--flip` also averages each representation with that of the mirrored image.
Prints one JSON line per (class, flip, rule): per-tap AUROC, all taps, conv2+conv3+code.

This is an independent check of swift-mocca's nearest-neighbour score and the search
that led to it. Needs the PyTorch venv plus `pillow scikit-learn safetensors`:

    /tmp/torch-ref/bin/pip install pillow scikit-learn safetensors
    /tmp/torch-ref/bin/python scripts/analysis/torch_tap_scores.py \
        --data ~/.cache/mocca-data/cifar10 --pretrained results/cifar10-knn/pretrained \
        --classes airplane,bird --seed 0 --threads 1
"""
import argparse
import glob
import json
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="CIFAR-10 image folder (train/<class>, test/<class>)")
    ap.add_argument("--pretrained", required=True, help="folder of <class>-seed<seed>-*.safetensors")
    ap.add_argument("--classes", default="all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--flip", choices=["no", "yes", "both"], default="no")
    ap.add_argument("--rules", default="l2,diag,maha,knn1,knn5")
    args = ap.parse_args()

    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
    from torch_lenet import TAPS, Encoder
    from PIL import Image
    from safetensors.torch import load_file
    from sklearn.covariance import LedoitWolf
    from sklearn.metrics import roc_auc_score

    torch.set_num_threads(args.threads)
    names = sorted(os.listdir(os.path.join(args.data, "train")))

    def load(split):
        images, labels = [], []
        for index, name in enumerate(names):
            folder = os.path.join(args.data, split, name)
            for file in sorted(os.listdir(folder)):
                images.append(np.asarray(Image.open(os.path.join(folder, file)).convert("RGB")))
                labels.append(index)
        return np.stack(images), np.array(labels)

    train_x, train_y = load("train")
    test_x, test_y = load("test")

    def contrast_normalised(x):
        x = x.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        x = x - x.mean(axis=(1, 2, 3), keepdims=True)
        return x / np.abs(x).mean(axis=(1, 2, 3), keepdims=True)

    def representations(model, x, flip):
        out = {}
        with torch.no_grad():
            for i in range(0, len(x), 500):
                batch = torch.from_numpy(x[i:i + 500])
                taps = dict(zip(TAPS, model(batch)))
                if flip:
                    mirrored = dict(zip(TAPS, model(batch.flip(3))))
                    taps = {k: (taps[k] + mirrored[k]) / 2 for k in taps}
                for k, v in taps.items():
                    out.setdefault(k, []).append(v.numpy())
        return {k: np.concatenate(v).astype(np.float64) for k, v in out.items()}

    def scores(train, test, rule):
        """(test scores, training scores) of one tap under one rule."""
        mean = train.mean(0)
        if rule == "l2":
            return ((test - mean) ** 2).sum(1), ((train - mean) ** 2).sum(1)
        if rule == "diag":
            var = train.var(0) + 1e-6
            return (((test - mean) ** 2) / var).sum(1), (((train - mean) ** 2) / var).sum(1)
        if rule == "maha":
            precision = LedoitWolf().fit(train).precision_
            distance = lambda z: np.einsum("ij,jk,ik->i", z - mean, precision, z - mean)
            return distance(test), distance(train)
        if rule.startswith("knn"):
            k = int(rule[3:])
            scale = train.std(0) + 1e-6
            a, b = torch.from_numpy((train - mean) / scale), torch.from_numpy((test - mean) / scale)
            test_scores = torch.cdist(b, a).topk(k, largest=False).values[:, -1]
            # Leave-one-out: each training row's nearest is itself, so take the (k+1)-th.
            train_scores = torch.cdist(a, a).topk(k + 1, largest=False).values[:, -1]
            return test_scores.numpy(), train_scores.numpy()
        raise ValueError(rule)

    classes = names if args.classes == "all" else args.classes.split(",")
    flips = {"no": [False], "yes": [True], "both": [False, True]}[args.flip]
    for name in classes:
        index = names.index(name)
        path = glob.glob(os.path.join(args.pretrained, f"{name}-seed{args.seed}-*.safetensors"))
        if not path:
            raise SystemExit(f"no pretrained autoencoder for {name}, seed {args.seed} in {args.pretrained}")
        state = load_file(path[0])
        model = Encoder()
        missing = [k for k in model.state_dict() if not k.endswith("num_batches_tracked") and k not in state]
        if missing:
            raise SystemExit(f"{path[0]} lacks {missing}")
        model.load_state_dict({k: v for k, v in state.items() if k in model.state_dict()}, strict=False)
        model.eval()
        normal = contrast_normalised(train_x[train_y == index])
        low, high = normal.min(), normal.max()
        normal = (normal - low) / (high - low)
        test = (contrast_normalised(test_x) - low) / (high - low)
        labels = (test_y != index).astype(int)
        for flip in flips:
            train_reps, test_reps = representations(model, normal, flip), representations(model, test, flip)
            for rule in args.rules.split(","):
                per_tap, standardised = {}, []
                for tap in TAPS:
                    s, t = scores(train_reps[tap], test_reps[tap], rule)
                    per_tap[tap] = round(roc_auc_score(labels, s), 4)
                    standardised.append((s - t.mean()) / t.std())
                print(json.dumps({
                    "class": name, "seed": args.seed, "flip": flip, "rule": rule, "perTap": per_tap,
                    "allTaps": round(roc_auc_score(labels, sum(standardised)), 4),
                    "conv2+conv3+code": round(roc_auc_score(labels, sum(standardised[1:])), 4),
                }), flush=True)


if __name__ == "__main__":
    main()
