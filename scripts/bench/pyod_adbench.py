#!/usr/bin/env python3
"""PyOD on the same ADBench splits as `mocca benchmark adbench`.

    mocca benchmark adbench --data DIR --out RESULTS --splits-only     # or a full run
    /tmp/torch-ref/bin/python scripts/bench/pyod_adbench.py --data DIR --results RESULTS --threads 2
    mocca benchmark adbench --data DIR --out RESULTS --table-only      # one table for both

For every split file RESULTS/splits/<set>-seed<k>.json (row indices of the set's
training and test rows, written by mocca), it fits PyOD's DeepSVDD (its defaults:
hidden [64, 32], 100 epochs, batch 32, its own standardisation), IForest, KNN and ECOD
on the training rows and scores the test rows. Every method gets the features
standardised with the training rows' mean and standard deviation, as MOCCA does (a
constant feature is centred only); for IForest and ECOD this changes nothing, for KNN it
puts the features on one scale. Each method is seeded with the split's seed where it
takes one. Records go to RESULTS/pyod.jsonl in mocca's record format; finished
(set, seed, method) triples are skipped, so the script resumes.

Needs: pip install torch (CPU) numpy scikit-learn pyod.
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def producer():
    import pyod
    return f"pyod {pyod.__version__}"


def standardise(train, test):
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[~(std > 1e-12 * np.maximum(np.abs(mean), 1))] = 1
    return (train - mean) / std, (test - mean) / std


def make(method, n_features, seed):
    if method == "DeepSVDD":
        from pyod.models.deep_svdd import DeepSVDD
        return DeepSVDD(n_features=n_features, random_state=seed, verbose=0)
    if method == "IForest":
        from pyod.models.iforest import IForest
        return IForest(random_state=seed)
    if method == "KNN":
        from pyod.models.knn import KNN
        return KNN()
    if method == "ECOD":
        from pyod.models.ecod import ECOD
        return ECOD()
    raise ValueError(method)


def append(path, record):
    # Whole-file rewrite through a temporary file, as mocca does: never a torn line.
    existing = open(path).read() if os.path.exists(path) else ""
    if existing and not existing.endswith("\n"):
        existing = existing[: existing.rfind("\n") + 1]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(existing + json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the folder of ADBench .npz files")
    parser.add_argument("--results", required=True, help="mocca's results folder (its splits/ is read)")
    parser.add_argument("--methods", default="DeepSVDD,IForest,KNN,ECOD")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from sklearn.metrics import average_precision_score, roc_auc_score

    out = os.path.join(args.results, "pyod.jsonl")
    done = set()
    if os.path.exists(out):
        for line in open(out):
            try:
                r = json.loads(line)
                done.add((r["dataset"], r["seed"], r["method"]))
            except (json.JSONDecodeError, KeyError):
                pass
    split_dir = os.path.join(args.results, "splits")
    splits = sorted(os.listdir(split_dir), key=lambda n: (int(n.split("_")[0]) if n.split("_")[0].isdigit() else 1 << 30, n))
    methods = args.methods.split(",")
    who = producer()
    loaded = {}
    for name in splits:
        if not name.endswith(".json"):
            continue
        dataset, seed = name[: -len(".json")].rsplit("-seed", 1)
        seed = int(seed)
        todo = [m for m in methods if (dataset, seed, m) not in done]
        if not todo:
            continue
        if dataset not in loaded:
            loaded.clear()
            archive = np.load(os.path.join(args.data, dataset + ".npz"))
            loaded[dataset] = (archive["X"].astype(np.float64), archive["y"].astype(np.int64))
        X, y = loaded[dataset]
        split = json.load(open(os.path.join(split_dir, name)))
        train, test = standardise(X[split["train"]], X[split["test"]])
        labels = (y[split["test"]] != 0).astype(int)
        for method in todo:
            np.random.seed(seed)
            torch.manual_seed(seed)
            start = time.time()
            model = make(method, X.shape[1], seed)
            model.fit(train)
            scores = model.decision_function(test)
            seconds = time.time() - start
            if not np.all(np.isfinite(scores)):
                # Not recorded: the table then lists the set as incomplete rather than
                # averaging an invented number.
                print(f"{dataset} seed {seed} {method}: non-finite scores; not recorded", file=sys.stderr)
                continue
            record = {
                "dataset": dataset, "seed": seed, "method": method,
                "auroc": float(roc_auc_score(labels, scores)), "aupr": float(average_precision_score(labels, scores)),
                "seconds": seconds, "trainRows": len(split["train"]), "testRows": len(split["test"]), "producer": who,
            }
            append(out, record)
            print(f"{dataset} seed {seed} {method}: AUROC {record['auroc']:.4f} AUPR {record['aupr']:.4f} ({seconds:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
