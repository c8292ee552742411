"""Extra peak memory of a fit, as a multiple of X's size, measured in a child process.

The parent saves the workload to ``.npy`` files and starts this module as a
script; the child loads X and Y (fully, into its own memory) and, for each
method in turn:

1. runs it once on a 2,000-row slice (imports, thread pools, lazy buffers),
2. collects garbage and returns freed heap memory to the OS (``malloc_trim``),
3. reads its resident set size (``VmRSS``) as the baseline and resets the
   kernel's high-water mark (``echo 5 > /proc/self/clear_refs``),
4. fits on the whole workload and reads the high-water mark (``VmHWM``).

The extra peak is ``(VmHWM - baseline) / X.nbytes``. The child runs with
glibc's ``MALLOC_MMAP_THRESHOLD_`` fixed at 64 KiB, so every large buffer is
its own mapping and goes back to the OS when freed: one method's freed
buffers cannot hide the next method's peak. Where ``clear_refs`` cannot be
written, a thread samples ``VmRSS`` every millisecond instead.
"""

import ctypes
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_high_water_mark():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _Sampler(threading.Thread):
    """Fallback: poll VmRSS every millisecond while the fit runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.running = _status_kib("VmRSS"), True

    def run(self):
        while self.running:
            self.peak = max(self.peak, _status_kib("VmRSS"))
            time.sleep(0.001)


def _trim():
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def _measure(method, X, y, budget):
    method.fit_once(X[:2000].copy(), y[:2000].copy(), **budget)
    _trim()
    baseline = _status_kib("VmRSS")
    if _reset_high_water_mark():
        model = method.fit_once(X, y, **budget)
        peak = _status_kib("VmHWM")
    else:
        sampler = _Sampler()
        sampler.start()
        model = method.fit_once(X, y, **budget)
        sampler.running = False
        sampler.join()
        peak = sampler.peak
    del model
    _trim()
    return (peak - baseline) * 1024 / X.nbytes


def _child(folder):
    from _methods import Direct, Torch, all_methods

    X = np.load(Path(folder) / "X.npy")
    Y = np.load(Path(folder) / "Y.npy")
    results = {}
    for method in all_methods():
        y = Y if getattr(method, "two_d", False) or Y.shape[1] > 1 else Y[:, 0]
        if isinstance(method, Direct):
            budget = {}
        elif isinstance(method, Torch):
            # L-BFGS runs its whole fit; Adam and SGD reach their peak in the
            # first iterations, which repeat identically after that.
            budget = {"budget": None if method.solver == "lbfgs" else 5}
        else:
            budget = {"budget": 1}
        results[method.name] = _measure(method, X, y, budget)
    print(json.dumps(results))


def extra_peak_memory(workload, timeout=900):
    """Measure every method on ``workload`` in a fresh child; name -> multiple of X.nbytes."""
    with tempfile.TemporaryDirectory(prefix="skorch_lite_bench_") as folder:
        np.save(Path(folder) / "X.npy", workload.X)
        np.save(Path(folder) / "Y.npy", workload.Y)
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536",
                   PYTHONPATH=os.pathsep.join([str(_HERE), str(_HERE.parent),
                                               os.environ.get("PYTHONPATH", "")]))
        out = subprocess.run(
            [sys.executable, str(Path(__file__)), folder],
            env=env, capture_output=True, text=True, timeout=timeout, check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    _child(sys.argv[1])
