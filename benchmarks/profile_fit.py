"""Where one TorchLinearRegressor fit spends its time: a torch.profiler table.

Run by hand from the repository root::

    python benchmarks/profile_fit.py A            # or: sourdough, small, B; --solver adam

Prints the torch operators sorted by total time, grouped by input shape, so
that the preconditioner (sketch SVD), each forward ``X @ beta`` and each
backward ``X.T @ grad`` show up as separate rows.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]

from torch.profiler import ProfilerActivity, profile  # noqa: E402

from _methods import Torch, warm_up  # noqa: E402
from _workloads import all_workloads  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["sourdough", "small", "A", "B"])
    parser.add_argument("--solver", default="lbfgs", choices=["lbfgs", "adam", "sgd"])
    parser.add_argument("--rows", type=int, default=30, help="rows of the table")
    args = parser.parse_args(argv)
    w = dict(all_workloads(quick=False))[args.workload]()
    warm_up()
    method = Torch(args.solver)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        est = method.fit_once(w.X, w.y)
        plain = time.perf_counter() - start
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            start = time.perf_counter()
            method.fit_once(w.X, w.y)
            profiled = time.perf_counter() - start
    print(f"{method.name} on {w.name}: fit {plain:.4f} s ({est.n_iter_} iterations), "
          f"{profiled:.4f} s under the profiler")
    print(prof.key_averages(group_by_input_shape=True).table(
        sort_by="cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
