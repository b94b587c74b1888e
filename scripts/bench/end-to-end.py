#!/usr/bin/env python3
"""End-to-end checks of `mocca train` on one CIFAR-10 class (image-folder layout):

1. Wall time against the benchmarks: the training phases' images x epochs divided by
   `mocca speed core` / `mocca speed one-class` throughput at the training batch size,
   measured in the same run, predicts the training time; the measured wall time of the
   whole command (decoding, preprocessing, centroids, training scores, saving) should
   be within 10% of it, or the input pipeline is a bottleneck.
2. Peak resident memory (`/usr/bin/time -v`) with 1,000 and with 5,000 normal training
   images (a symlinked subset of the class, the same test set), one epoch per phase:
   it should stay under 512 MiB and flat in the number of images.

Usage (from the repository root, after `swift build -c release --product mocca`):
    python3 scripts/bench/end-to-end.py --data ~/.cache/mocca-data/cifar10 [--class airplane]
        [--threads 2] [--ae-epochs 20] [--oc-epochs 10] [--batch 64]
Prints one JSON object.
"""
import argparse
import json
import os
import re
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_json(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def timed_train(mocca, data, normal, out, threads, ae_epochs, oc_epochs, batch):
    """Runs `mocca train` under /usr/bin/time -v; returns (wall seconds, peak RSS MiB)."""
    command = ["/usr/bin/time", "-v", mocca, "train", "--dataset", "cifar10", "--data", data,
               "--normal-class", normal, "--threads", str(threads), "--ae-epochs", str(ae_epochs),
               "--oc-epochs", str(oc_epochs), "--batch-size", str(batch), "--no-evaluate", "--out", out]
    start = time.perf_counter()
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    return wall, int(peak.group(1)) / 1024 if peak else None


def subset_folder(data, normal, count, root):
    """An image folder holding the first `count` training images of `normal` and the whole test set."""
    folder = os.path.join(root, f"subset-{count}")
    train = os.path.join(folder, "train", normal)
    os.makedirs(train)
    source = os.path.join(data, "train", normal)
    for name in sorted(os.listdir(source))[:count]:
        os.symlink(os.path.join(source, name), os.path.join(train, name))
    os.symlink(os.path.join(data, "test"), os.path.join(folder, "test"))
    return folder


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mocca", default=os.path.join(ROOT, ".build", "release", "mocca"))
    ap.add_argument("--data", required=True, help="CIFAR-10 as an image folder (train/<class>, test/<class>)")
    ap.add_argument("--class", dest="normal", default="airplane")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ae-epochs", type=int, default=20)
    ap.add_argument("--oc-epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-wall-time", action="store_true")
    args = ap.parse_args()
    data = os.path.expanduser(args.data)
    normal_count = len(os.listdir(os.path.join(data, "train", args.normal)))
    report = {"class": args.normal, "threads": args.threads, "batch": args.batch, "normal_images": normal_count}

    with tempfile.TemporaryDirectory(prefix="mocca-e2e-") as scratch:
        if not args.skip_wall_time:
            common = ["--threads", str(args.threads), "--batch", str(args.batch)]
            ae = run_json([args.mocca, "speed", "core", "--skip-layers"] + common)["train_img_per_s_median"]
            oc = run_json([args.mocca, "speed", "one-class"] + common)["train_img_per_s_median"]
            predicted = normal_count * args.ae_epochs / ae + normal_count * args.oc_epochs / oc
            wall, peak = timed_train(args.mocca, data, args.normal, os.path.join(scratch, "full"),
                                     args.threads, args.ae_epochs, args.oc_epochs, args.batch)
            report.update({"bench_autoencoder_img_per_s": ae, "bench_one_class_img_per_s": oc,
                           "ae_epochs": args.ae_epochs, "oc_epochs": args.oc_epochs,
                           "predicted_training_s": round(predicted, 1), "train_wall_s": round(wall, 1),
                           "wall_over_predicted": round(wall / predicted, 3), "full_run_peak_rss_mib": round(peak, 1)})
        if not args.skip_memory:
            peaks = {}
            for count in (1000, 5000):
                folder = subset_folder(data, args.normal, min(count, normal_count), scratch)
                _, peak = timed_train(args.mocca, folder, args.normal, os.path.join(scratch, f"rss-{count}"),
                                      args.threads, 1, 1, args.batch)
                peaks[str(count)] = round(peak, 1)
            report["peak_rss_mib_by_normal_images"] = peaks
    print(json.dumps(report))


if __name__ == "__main__":
    main()
