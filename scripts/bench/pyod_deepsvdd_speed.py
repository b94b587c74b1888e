#!/usr/bin/env python3
"""Twin of `mocca speed mlp`: PyOD's own DeepSVDD, and a plain-PyTorch twin of mocca's MLP
autoencoder run through exactly mocca's loop, on synthetic rows at a fixed thread count.
Prints one JSON line.

PyOD (`pyod.models.deep_svdd.DeepSVDD`, defaults: hidden_neurons [64, 32], ReLU after every
linear layer including the last, no biases, batch 32, Adam lr 1e-4 with weight_decay 5e-7,
preprocessing=True, dropout 0.2 (only between middle hidden layers: none with two widths)):
  * `fit(X)` with `epochs=E` is timed as a whole. Besides the E epochs it does a StandardScaler
    fit and transform, a shuffle of a copy of X, the centre from one forward pass over all
    rows, a DataLoader with shuffle=True (a random permutation and a gather per batch), per
    step an extra `1e-6 * sum(norm(w))` term and a `loss.item()` sync, a deep copy of the
    state dict whenever the epoch loss improves, and finally `decision_function(X)` and the
    threshold. (`validation_size` is accepted but unused in PyOD 3.6.7: it trains on every row.)
    Reported: `pyod_fit_rows_per_s` = rows*E / fit time (everything included), and
    `pyod_epoch_rows_per_s` = rows*E / (fit(E) time - fit(0 epochs) time), the training loop
    alone; `pyod_fit_overhead_s` is the fit(0 epochs) time.
  * `decision_function(X)` on all rows: PyOD scores X in one batch (scaler transform, one
    forward, distances). Reported as `pyod_score_rows_per_s`.
Each PyOD figure is the best (and median) of --pyod-repeats runs.

Torch twin (`MlpAE` of scripts/make-golden.py, which the golden tests check against
Sources/MOCCAModels/MLPAutoencoder.swift: d -> 64 -> 32 with bias on the hidden layer,
LeakyReLU 0.01, a bias-free code layer; the decoder mirrors it): the same loop as mocca,
consecutive batches (views) of --batch rows over all rows per epoch, no shuffle:
  * one-class training: mean over the batch of ||code - c||^2, backward, Adam on the encoder;
  * scoring: eval mode, no_grad, ||code - c||^2 for every row, batches of --score-batch and --batch;
  * autoencoder training: batch mean of per-row sum of squared error, Adam on everything.
One timed step is one epoch; best and median of --samples.

    /tmp/torch-ref/bin/python scripts/bench/pyod_deepsvdd_speed.py --threads 2 --samples 3 --steps 1 --warmup 1
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchkit  # noqa: E402


def load_twin():
    return benchkit.golden_twin("MlpAE")


measure = benchkit.measure


def best_median(times):
    times = sorted(times)
    return times[0], times[len(times) // 2]


def time_pyod(X, args):
    from pyod.models.deep_svdd import DeepSVDD
    import pyod

    def fit_time(epochs):
        model = DeepSVDD(n_features=X.shape[1], epochs=epochs, batch_size=args.batch, verbose=0, random_state=0)
        start = time.perf_counter()
        model.fit(X)
        return time.perf_counter() - start, model

    fit_time(1)  # warm-up (imports, first allocations)
    fits, bases, scores = [], [], []
    model = None
    for _ in range(args.pyod_repeats):
        t, model = fit_time(args.epochs)
        fits.append(t)
        bases.append(fit_time(0)[0])
    for _ in range(args.pyod_repeats):
        start = time.perf_counter()
        model.decision_function(X)
        scores.append(time.perf_counter() - start)
    rows, e = X.shape[0], args.epochs
    fit_best, fit_median = best_median(fits)
    base_best, _ = best_median(bases)
    score_best, score_median = best_median(scores)
    return {
        "pyod": pyod.__version__, "pyod_epochs": e,
        "pyod_fit_rows_per_s_best": round(rows * e / fit_best, 1),
        "pyod_fit_rows_per_s_median": round(rows * e / fit_median, 1),
        "pyod_fit_overhead_s": round(base_best, 4),
        "pyod_epoch_rows_per_s_best": round(rows * e / max(fit_best - base_best, 1e-9), 1),
        "pyod_score_rows_per_s_best": round(rows / score_best, 1),
        "pyod_score_rows_per_s_median": round(rows / score_median, 1),
        "pyod_params": sum(p.numel() for p in model.model_.parameters()),
    }


def time_twin(MlpAE, X, args):
    data = torch.from_numpy(X)
    train_batches = [data[i:i + args.batch] for i in range(0, len(data), args.batch)]
    score_batches = [data[i:i + args.score_batch] for i in range(0, len(data), args.score_batch)]
    rows = len(data)

    def make():
        torch.manual_seed(0)
        return MlpAE(X.shape[1], args.hidden, args.code, False)

    model = make().eval()
    with torch.no_grad():
        c = model.encode(score_batches[0])[-1].mean(0)
    c[(c.abs() < 0.1) & (c < 0)] = -0.1
    c[(c.abs() < 0.1) & (c >= 0)] = 0.1

    model.train()
    opt = torch.optim.Adam(model.encoderLayers.parameters(), lr=1e-4, weight_decay=0.5e-6)
    state = {"loss": 0.0, "ae_loss": 0.0, "checksum": 0.0}

    def one_class_epoch():
        for x in train_batches:
            opt.zero_grad(set_to_none=True)
            z = model.encode(x)[-1]
            loss = ((z - c) ** 2).sum(1).mean()
            loss.backward()
            opt.step()
            state["loss"] = loss.item()

    train = measure(one_class_epoch, args.samples, args.steps, args.warmup)
    model.eval()

    def score(batches):
        with torch.no_grad():
            for x in batches:
                s = ((model.encode(x)[-1] - c) ** 2).sum(1)
                state["checksum"] += float(s[0])

    score_big = measure(lambda: score(score_batches), args.samples, args.steps, args.warmup)
    score_small = measure(lambda: score(train_batches), args.samples, args.steps, args.warmup)

    ae = make().train()
    ae_opt = torch.optim.Adam(ae.parameters(), lr=1e-4, weight_decay=0.5e-6)

    def ae_epoch():
        for x in train_batches:
            ae_opt.zero_grad(set_to_none=True)
            recon = ae.decode(ae.encode(x)[-1])
            loss = torch.mean(torch.sum((recon - x) ** 2, dim=1))
            loss.backward()
            ae_opt.step()
            state["ae_loss"] = loss.item()

    ae_t = measure(ae_epoch, args.samples, args.steps, args.warmup)
    steps = len(train_batches)
    return {
        "twin_params": sum(p.numel() for p in ae.parameters()),
        "twin_train_rows_per_s_best": round(rows / train[0], 1),
        "twin_train_rows_per_s_median": round(rows / train[1], 1),
        "twin_train_step_us_min": round(1e6 * train[0] / steps, 1),
        "twin_score_rows_per_s_best": round(rows / score_big[0], 1),
        "twin_score_rows_per_s_median": round(rows / score_big[1], 1),
        "twin_score_batch_small_rows_per_s_best": round(rows / score_small[0], 1),
        "twin_score_batch_small_rows_per_s_median": round(rows / score_small[1], 1),
        "twin_ae_train_rows_per_s_best": round(rows / ae_t[0], 1),
        "twin_ae_train_rows_per_s_median": round(rows / ae_t[1], 1),
        "twin_ae_train_step_us_min": round(1e6 * ae_t[0] / steps, 1),
        "twin_final_one_class_loss": state["loss"], "twin_final_ae_loss": state["ae_loss"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--score-batch", type=int, default=1024)
    parser.add_argument("--hidden", type=lambda s: [int(v) for v in s.split(",")], default=[64])
    parser.add_argument("--code", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each timed PyOD fit")
    parser.add_argument("--pyod-repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1, help="epochs per timed sample (twin)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--skip-pyod", action="store_true")
    parser.add_argument("--skip-twin", action="store_true")
    args = parser.parse_args()
    MlpAE = load_twin()  # before setting threads: make-golden.py sets one thread on import
    torch.set_num_threads(args.threads)
    X = np.random.default_rng(1).uniform(-1, 1, (args.rows, args.features)).astype(np.float32)
    result = {"bench": "pyod_deepsvdd", "threads": args.threads, "rows": args.rows, "features": args.features,
              "hidden": args.hidden, "code": args.code, "batch": args.batch, "score_batch": args.score_batch,
              "torch": torch.__version__}
    if not args.skip_twin:
        result.update(time_twin(MlpAE, X, args))
    if not args.skip_pyod:
        result.update(time_pyod(X, args))
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
