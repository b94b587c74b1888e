#!/usr/bin/env python3
"""Runs `mocca speed mlp` next to scripts/bench/pyod_deepsvdd_speed.py (PyOD's DeepSVDD and a
plain-PyTorch twin of mocca's MLP autoencoder), interleaved over rounds, and prints the ratios
mocca / PyOD and mocca / torch twin for training and scoring (rows/s, best over rounds).

What is compared (see the two programs' docstrings for details):
  one-class training   mocca: Deep SVDD objective on the encoder, batch 32, full epochs
                       PyOD:  DeepSVDD.fit(epochs=E), whole (scaler, shuffle, centre, final scoring
                              included) and its training loop alone (fit(E) - fit(0 epochs))
                       twin:  mocca's loop in PyTorch
  scoring              mocca and twin: eval-mode code distance, batches of 1024 (and of 32)
                       PyOD:  decision_function(X), which scores all rows in one batch
  autoencoder training mocca and twin only (PyOD's DeepSVDD has no reconstruction phase by default)

Usage (from the repository root, after `swift build -c release --product mocca`):
    python3 scripts/bench/compare-with-pyod.py [--rounds 2] [--threads 2]
PyTorch is run as shipped: the OpenBLAS core-type overrides of these machines are removed from
its environment, as in compare-with-torch.py.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_json(command, env=None):
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-python", default="/tmp/torch-ref/bin/python")
    ap.add_argument("--mocca", default=os.path.join(ROOT, ".build", "release", "mocca"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--features", type=int, default=32)
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--samples", type=int, default=3, help="timed epochs per measurement (mocca and twin)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs of each timed PyOD fit")
    args = ap.parse_args()

    shape = ["--threads", str(args.threads), "--features", str(args.features), "--rows", str(args.rows)]
    timing = ["--samples", str(args.samples), "--steps", "1", "--warmup", "1"]
    mocca = [args.mocca, "speed", "mlp"] + shape + timing
    pyod = [args.torch_python, os.path.join(ROOT, "scripts", "bench", "pyod_deepsvdd_speed.py"),
            "--epochs", str(args.epochs)] + shape + timing
    torch_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}

    best = {}
    for _ in range(args.rounds):
        for result in (run_json(mocca), run_json(pyod, torch_env)):
            for key, value in result.items():
                if key.endswith("_rows_per_s_best"):
                    best[key] = max(best.get(key, 0.0), value)
                elif key.endswith("_overhead_s"):
                    best[key] = min(best.get(key, float("inf")), value)

    rows = [
        ("one-class training, batch 32", "train_rows_per_s_best",
         [("PyOD fit (all included)", "pyod_fit_rows_per_s_best"), ("PyOD training loop", "pyod_epoch_rows_per_s_best"),
          ("torch twin", "twin_train_rows_per_s_best")]),
        ("scoring, batch 1024", "score_rows_per_s_best",
         [("PyOD decision_function (one batch)", "pyod_score_rows_per_s_best"), ("torch twin", "twin_score_rows_per_s_best")]),
        ("scoring, batch 32", "score_batch_small_rows_per_s_best",
         [("torch twin", "twin_score_batch_small_rows_per_s_best")]),
        ("autoencoder training, batch 32", "ae_train_rows_per_s_best",
         [("torch twin", "twin_ae_train_rows_per_s_best")]),
    ]
    print(f"swift-mocca `speed mlp` vs PyOD DeepSVDD and a PyTorch twin, {args.threads} threads, "
          f"{args.rows} rows x {args.features} features, rows/s, best of {args.rounds} rounds")
    print("| measure | mocca | other | other rows/s | mocca / other |")
    print("|---|---|---|---|---|")
    table = {}
    for label, key, others in rows:
        m = best[key]
        for name, other_key in others:
            o = best[other_key]
            table[f"{label} / {name}"] = {"mocca": m, "other": o, "ratio": round(m / o, 3)}
            print(f"| {label} | {m:.0f} | {name} | {o:.0f} | {m / o:.2f}x |")
    print(f"PyOD fit overhead (fit with 0 epochs): {best['pyod_fit_overhead_s']:.3f} s")
    print(json.dumps(table))


if __name__ == "__main__":
    sys.exit(main())
