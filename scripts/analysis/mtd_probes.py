#!/usr/bin/env python3
"""Two feature probes on MTD's validation part, in PyTorch: could another way of learning
features from MTD's defect-free photos alone do better than swift-mocca's network?

Both read the split that swift-mocca trains on (`mocca split --dataset mtd ... --out S.json`),
fit on its training photos and score its validation photos (never test), grey, resized to
256 px and standardised per image as `--normalization image` does:

- `random`: PatchCore's nearest-neighbour patch score on the features of an untrained
  (random) three-block CNN (32x32 cells of 128 features, 3x3-averaged). Tells how much of
  the nearest-neighbour score's power comes from the architecture rather than training.
- `cutpaste`: CutPaste (Li et al., CVPR 2021), self-supervised from scratch: a four-block
  CNN learns to tell 64-px crops from crops with a pasted patch, a scar or a flat blotch;
  scored by its logit and by the nearest training patch of its features, 64-px patches
  with stride 32, the image's score the highest patch's.

Prints one line per probe and score: image AUROC and pixel AUROC (maps upsampled bilinearly).
Needs the PyTorch venv plus `pillow scikit-learn`:

    mocca split --dataset mtd --data ~/.cache/mocca-data/magnetic_tile_defect --seed 0 --out /tmp/mtd-split-0.json
    /tmp/torch-ref/bin/python scripts/analysis/mtd_probes.py --split /tmp/mtd-split-0.json --probe cutpaste --steps 400 --threads 1
"""
import argparse
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import roc_auc_score

SIZE, PATCH = 256, 64


def read(items):
    """Grey images at SIZE px standardised per image, labels, and masks (zeros for good)."""
    images, labels, masks = [], [], []
    for item in items:
        image = np.asarray(Image.open(item["path"]).convert("L").resize((SIZE, SIZE), Image.BILINEAR), dtype=np.float32) / 255
        images.append((image - image.mean()) / (image.std() + 1e-6))
        labels.append(1 if item.get("defect") else 0)
        if item.get("mask"):
            masks.append(np.asarray(Image.open(item["mask"]).convert("L").resize((SIZE, SIZE), Image.NEAREST)) > 127)
        else:
            masks.append(np.zeros((SIZE, SIZE), bool))
    return torch.from_numpy(np.stack(images)[:, None]), np.array(labels), np.stack(masks)


def nearest_distances(queries, bank, chunk=8192):
    return torch.cat([torch.cdist(queries[i:i + chunk], bank).min(1).values for i in range(0, len(queries), chunk)])


def report(name, cell_scores, labels, masks):
    """cell_scores: [n, h, w]; the image score is the highest cell's."""
    image = cell_scores.flatten(1).max(1).values.numpy()
    maps = F.interpolate(cell_scores[:, None], size=(SIZE, SIZE), mode="bilinear", align_corners=False)[:, 0].numpy()
    print(f"{name}: image AUROC {roc_auc_score(labels, image):.3f}, pixel AUROC {roc_auc_score(masks.ravel(), maps.ravel()):.3f}", flush=True)


def random_features(train, validation, labels, masks, bank_size, generator):
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.LeakyReLU(0.1), nn.AvgPool2d(2)]
    net = nn.Sequential(*block(1, 64), *block(64, 128), *block(128, 128)).eval()

    def features(x):
        with torch.no_grad():
            return torch.cat([F.avg_pool2d(net(x[i:i + 32]), 3, 1, 1) for i in range(0, len(x), 32)])
    reference, query = features(train), features(validation)
    bank = reference.permute(0, 2, 3, 1).reshape(-1, reference.shape[1])
    bank = bank[torch.randperm(len(bank), generator=generator)[:bank_size]]
    cells = nearest_distances(query.permute(0, 2, 3, 1).reshape(-1, query.shape[1]), bank)
    report("random features, nearest neighbour", cells.reshape(len(query), *query.shape[2:]), labels, masks)


def cutpaste(train, validation, labels, masks, steps, batch, rng):
    def crops(n):
        picks = zip(rng.integers(0, len(train), n), rng.integers(0, SIZE - PATCH + 1, n), rng.integers(0, SIZE - PATCH + 1, n))
        return torch.stack([train[i, :, r:r + PATCH, c:c + PATCH] for i, r, c in picks])

    def augmented(x):
        x = x.clone()
        for k in range(len(x)):
            kind = rng.integers(3)  # 0: a patch, 1: a scar (thin and long), 2: a flat blotch
            if kind == 0:
                h, w = rng.integers(6, 24), rng.integers(6, 24)
            elif rng.random() < 0.5:
                h, w = rng.integers(2, 5), rng.integers(10, 30)
            else:
                h, w = rng.integers(10, 30), rng.integers(2, 5)
            sr, sc = rng.integers(0, PATCH - h + 1), rng.integers(0, PATCH - w + 1)
            dr, dc = rng.integers(0, PATCH - h + 1), rng.integers(0, PATCH - w + 1)
            patch = x[k, :, sr:sr + h, sc:sc + w] * float(rng.uniform(0.5, 1.5)) + float(rng.normal(0, 0.5))
            if kind == 2:
                patch = torch.full_like(patch, float(rng.normal(0, 1.5)))
            x[k, :, dr:dr + h, dc:dc + w] = patch
        return x

    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.1),
                             nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.1), nn.MaxPool2d(2))
    encoder = nn.Sequential(block(1, 32), block(32, 64), block(64, 128), block(128, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    head = nn.Linear(128, 2)
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=1e-3)
    targets = torch.cat([torch.zeros(batch), torch.ones(batch)]).long()
    for step in range(1, steps + 1):
        x = crops(batch)
        loss = F.cross_entropy(head(encoder(torch.cat([x, augmented(x)]))), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0:
            print(f"step {step}: loss {loss.item():.3f}", flush=True)
    encoder.eval()
    head.eval()

    def patches(images, stride):
        u = images.unfold(2, PATCH, stride).unfold(3, PATCH, stride)
        n, _, rows, columns = u.shape[:4]
        u = u.permute(0, 2, 3, 1, 4, 5).reshape(-1, 1, PATCH, PATCH)
        with torch.no_grad():
            features = torch.cat([encoder(u[i:i + 256]) for i in range(0, len(u), 256)])
            logits = head(features)
        return features, (logits[:, 1] - logits[:, 0]).reshape(n, rows, columns), (rows, columns)
    bank, _, _ = patches(train, PATCH)
    features, logits, grid = patches(validation, PATCH // 2)
    report("cutpaste, classifier logit", logits, labels, masks)
    report("cutpaste, nearest neighbour", nearest_distances(features, bank).reshape(len(validation), *grid), labels, masks)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", required=True, help="the JSON of `mocca split`")
    parser.add_argument("--probe", choices=["random", "cutpaste"], required=True)
    parser.add_argument("--steps", type=int, default=400, help="cutpaste: training steps")
    parser.add_argument("--batch", type=int, default=64, help="cutpaste: crops per step (as many augmented)")
    parser.add_argument("--bank", type=int, default=40000, help="random: reference cells kept (seeded subsample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    split = json.load(open(args.split))
    train, _, _ = read(split["train"])
    validation, labels, masks = read(split["validation"])
    print(f"{split['name']} split seed {split['seed']}: {len(train)} training, {len(validation)} validation photos "
          f"({labels.sum()} defective); probe {args.probe}", flush=True)
    if args.probe == "random":
        random_features(train, validation, labels, masks, args.bank, torch.Generator().manual_seed(args.seed))
    else:
        cutpaste(train, validation, labels, masks, args.steps, args.batch, np.random.default_rng(args.seed))


if __name__ == "__main__":
    main()
