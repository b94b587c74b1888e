"""What the PyTorch benchmark twins share: the network twins of scripts/make-golden.py
(which the golden tests check against the Swift networks) and one timing loop."""
import importlib.util
import os
import time


def golden_twin(name):
    """The PyTorch class `name` (MvAE, VidAE, MlpAE, ...) from scripts/make-golden.py.

    Load it before setting the thread count: make-golden.py sets one thread on import."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "make-golden.py")
    spec = importlib.util.spec_from_file_location("make_golden", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def measure(step, samples, steps, warmup):
    """Seconds per call of `step`: the best and the median of `samples` timings of `steps`
    calls each, after `warmup` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps)
    times.sort()
    return times[0], times[len(times) // 2]
