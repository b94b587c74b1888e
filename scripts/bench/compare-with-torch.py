#!/usr/bin/env python3
"""Runs swift-mocca's benchmarks next to their PyTorch twins, in the same run, and prints
a table of throughput ratios. For each PyTorch figure the faster memory format (NCHW or
channels-last) is the yardstick.

Pairs:
  autoencoder training / inference   mocca speed core        vs ../shared/bench/torch_cifar_ae.py
  one-class training (batch 128)     mocca speed one-class   vs scripts/bench/torch_mocca_phases.py --phase one-class
  scoring (batch 256)                mocca speed score       vs scripts/bench/torch_mocca_phases.py --phase score
and, with --thread-scaling, mocca's 2-thread / 1-thread training throughput.
With --precision bf16, mocca runs --precision bf16 and every PyTorch twin bf16 autocast; the
autoencoder's twin is then scripts/bench/torch_mocca_phases.py --phase autoencoder --bf16,
which builds torch_cifar_ae.py's network and times it the same way.

Usage (from the repository root, after `swift build -c release --product mocca`):
    python3 scripts/bench/compare-with-torch.py [--rounds 2] [--threads 2] [--thread-scaling]
Install PyTorch's CPU build outside the repository first:
    python3 -m venv /tmp/torch-ref && /tmp/torch-ref/bin/pip install 'torch==2.13.0+cpu' numpy
Rounds interleave all runs because these machines are shared and noisy; each figure is
the best over rounds.

--cpu-time reads the process's CPU time instead of the wall clock, in mocca (`--cpu-time`)
and in the PyTorch twins (their `time.perf_counter` replaced by `time.process_time`): at
--threads 1 preemption by other processes does not inflate it, so figures taken on a
loaded shared machine stay comparable. With more threads it counts every thread's time,
spin-waiting included, and means little.

The table names the host: CPU model, the instruction set oneDNN runs in mocca (after
ONEDNN_MAX_CPU_ISA) and whether it has bfloat16, as `mocca speed` records them under
"host", and PyTorch's CPU capability. Under ONEDNN_MAX_CPU_ISA=AVX2 PyTorch is capped to
match (ATEN_CPU_CAPABILITY=avx2, unless set), as it would be on an AVX2 host.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# Runs the script named by its first argument with time.perf_counter reading process CPU time.
CPU_TIME_BOOTSTRAP = (
    "import os, runpy, sys, time; time.perf_counter = time.process_time; "
    "sys.argv = sys.argv[1:]; sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0]))); "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def run_json(command, env=None):
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-python", default="/tmp/torch-ref/bin/python")
    ap.add_argument("--torch-ae-bench", default=os.path.join(ROOT, "..", "shared", "bench", "torch_cifar_ae.py"))
    ap.add_argument("--mocca", default=os.path.join(ROOT, ".build", "release", "mocca"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--thread-scaling", action="store_true", help="also measure mocca's training at 1 thread")
    ap.add_argument("--cpu-time", action="store_true", help="time by process CPU time (meaningful at --threads 1)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: mocca --precision bf16 against PyTorch's bf16 autocast (its autoencoder twin is then "
                         "torch_mocca_phases.py --phase autoencoder, which builds torch_cifar_ae.py's network)")
    args = ap.parse_args()
    if args.cpu_time and args.threads != 1:
        print("warning: --cpu-time counts every thread's time, waiting included; use --threads 1", file=sys.stderr)

    timing = ["--samples", str(args.samples), "--steps", str(args.steps)]
    threads = ["--threads", str(args.threads)]
    phases = os.path.join(ROOT, "scripts", "bench", "torch_mocca_phases.py")
    # PyTorch is measured as shipped: the OpenBLAS core-type overrides of these machines slow it down.
    torch_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper().startswith("AVX2") and "ATEN_CPU_CAPABILITY" not in torch_env:
        torch_env["ATEN_CPU_CAPABILITY"] = "avx2"
    torch_host = subprocess.run(
        [args.torch_python, "-c", "import torch; print(torch.__version__, torch.backends.cpu.get_cpu_capability())"],
        check=True, capture_output=True, text=True, env=torch_env).stdout.split()
    clock = ["--cpu-time"] if args.cpu_time else []
    precision = ["--precision", args.precision]
    mocca = {
        "core": [args.mocca, "speed", "core", "--skip-layers", "--batch", "128"] + threads + timing + clock + precision,
        "one-class": [args.mocca, "speed", "one-class", "--batch", "128"] + threads + timing + clock + precision,
        "score": [args.mocca, "speed", "score", "--batch", "256"] + threads + timing + clock + precision,
    }
    # With --cpu-time a twin runs under a bootstrap that swaps its clock before it starts.
    python = [args.torch_python] + (["-c", CPU_TIME_BOOTSTRAP] if args.cpu_time else [])
    autocast = ["--bf16"] if args.precision == "bf16" else []
    torch = {
        "core": (python + [phases, "--phase", "autoencoder", "--ae-bench", args.torch_ae_bench, "--bf16"]
                 if autocast else python + [args.torch_ae_bench]) + ["--batch", "128"] + threads + timing,
        "one-class": python + [phases, "--phase", "one-class", "--batch", "128"] + threads + timing + autocast,
        "score": python + [phases, "--phase", "score", "--batch", "256"] + threads + timing + autocast,
    }
    best = {}
    hosts = []

    def keep(name, result):
        if name[0] == "mocca" and "host" in result:
            hosts.append(result["host"])
        for key in ("train_img_per_s_best", "infer_img_per_s_best"):
            if key in result:
                best[(name, key)] = max(best.get((name, key), 0.0), result[key])

    for _ in range(args.rounds):
        for phase in mocca:
            keep(("mocca", phase), run_json(mocca[phase]))
            keep(("torch", phase), run_json(torch[phase], torch_env))
            keep(("torch-cl", phase), run_json(torch[phase] + ["--channels-last"], torch_env))
        if args.thread_scaling:
            one = [args.mocca, "speed", "core", "--skip-layers", "--threads", "1"] + timing
            keep(("mocca-1thread", "core"), run_json(one))

    rows = [("autoencoder training, batch 128", "core", "train_img_per_s_best"),
            ("autoencoder inference, batch 128", "core", "infer_img_per_s_best"),
            ("one-class training, batch 128", "one-class", "train_img_per_s_best"),
            ("scoring, batch 256", "score", "infer_img_per_s_best")]
    host = hosts[0] if hosts else {}
    if any(h != host for h in hosts):
        print("warning: the mocca runs reported different hosts", file=sys.stderr)
    yes = lambda flag: "yes" if flag else "no"
    host_line = (f"host: {host.get('cpu_model', 'unknown')}; mocca: oneDNN {host.get('onednn_version', '?')} "
                 f"ISA {host.get('onednn_isa', 'unknown')} (bf16 {yes(host.get('onednn_bf16'))}; "
                 f"CPU bf16 {yes(host.get('cpu_bf16'))}), OpenBLAS {host.get('openblas_core', '?')}; "
                 f"PyTorch {torch_host[0]} capability {torch_host[1]}")
    clock_note = ", process CPU time" if args.cpu_time else ""
    mode = ", mocca --precision bf16 vs PyTorch bf16 autocast" if autocast else ""
    print(f"swift-mocca vs PyTorch (CPU), {args.threads} threads, images/s{clock_note}, best of {args.rounds} rounds{mode}")
    print(host_line)
    print(f"| measure | mocca | torch NCHW | torch channels-last | ratio |")
    print(f"|---|---|---|---|---|")
    table = {"host": dict(host, torch_version=torch_host[0], torch_cpu_capability=torch_host[1]), "precision": args.precision}
    for label, phase, key in rows:
        m, a, b = best[(("mocca", phase), key)], best[(("torch", phase), key)], best[(("torch-cl", phase), key)]
        ratio = m / max(a, b)
        table[label] = {"mocca": m, "torch_nchw": a, "torch_channels_last": b, "ratio": round(ratio, 3)}
        print(f"| {label} | {m:.1f} | {a:.1f} | {b:.1f} | {ratio:.2f}x |")
    if args.thread_scaling:
        one = best[(("mocca-1thread", "core"), "train_img_per_s_best")]
        two = best[(("mocca", "core"), "train_img_per_s_best")]
        table["thread_scaling"] = {"one_thread": one, "threads": two, "ratio": round(two / one, 3)}
        print(f"| autoencoder training, {args.threads} threads / 1 thread | {two:.1f} / {one:.1f} | | | {two / one:.2f}x |")
    print(json.dumps(table))


if __name__ == "__main__":
    sys.exit(main())
