"""Where a small warm fit spends its time: each stage of TorchLinearRegressor.fit, timed alone.

Run by hand from the repository root::

    python benchmarks/profile_small.py            # diabetes (442 x 10)
    python benchmarks/profile_small.py 20000      # 20,000 x 20 (the warm-fit workload)

Wraps the fit's stages (scikit-learn's validation, the preconditioner and its
steps, training and its start check, setting the fitted attributes) with a
clock, fits 30 times untimed and then ``--fits`` times, and prints each
stage's median beside Ridge(solver="cholesky")'s median fit. Stages nest:
a stage's time includes its steps'. (torch.profiler, in ``profile_fit.py``,
shows operators instead; on data this small its own overhead swamps them.)
"""

import argparse
import functools
import statistics
import sys
import time
import warnings
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]

import skorch_lite._inputs as inputs  # noqa: E402
import skorch_lite._precondition as precondition  # noqa: E402
import skorch_lite._regressor as regressor  # noqa: E402
import skorch_lite._engine as engine  # noqa: E402
from skorch_lite import TorchLinearRegressor  # noqa: E402

from _small import small_workloads  # noqa: E402

STAGES = [
    (TorchLinearRegressor, "fit"),
    (regressor.TorchLinearRegressor, "_validate_params"),
    (inputs, "validate_data"),
    (regressor, "fit_inputs"),
    (regressor.TorchLinearRegressor, "_prepare"),
    (regressor, "fit_preconditioner"),
    (precondition, "_target_moments"),
    (precondition, "_every_row"),
    (precondition, "_sketch"),
    (precondition, "_decomposition"),
    (precondition, "_every_row_through_gram"),
    (precondition, "_thin_svd"),
    (precondition, "_full_rank_from_gram"),
    (precondition, "_assemble"),
    (precondition, "refined_start"),
    (regressor, "train"),
    (engine._MemoClosure, "_evaluate"),
    (regressor.TorchLinearRegressor, "_set_fitted"),
]


def timed(stages, times):
    for owner, name in stages:
        original = getattr(owner, name)

        @functools.wraps(original)
        def clocked(*args, _original=original, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                times.setdefault(_name, []).append(time.perf_counter() - start)

        setattr(owner, name, clocked)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=None,
                        help="20000 for the 20,000 x 20 workload (default: diabetes)")
    parser.add_argument("--fits", type=int, default=400)
    args = parser.parse_args(argv)
    workloads = small_workloads(quick=False)
    name, _, X, y = workloads[1] if args.rows else workloads[0]
    from sklearn.linear_model import Ridge

    ridge = []
    for i in range(30 + args.fits):
        start = time.perf_counter()
        Ridge(alpha=0.0, solver="cholesky").fit(X, y)
        if i >= 30:
            ridge.append(time.perf_counter() - start)
    times = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(30):
            TorchLinearRegressor().fit(X, y)
        timed(STAGES, times)
        for _ in range(args.fits):
            TorchLinearRegressor().fit(X, y)
    print(f"{name}: Ridge(solver='cholesky') fit {statistics.median(ridge) * 1e6:.0f} us "
          f"(median of {args.fits})")
    for stage, values in times.items():
        calls = len(values) / args.fits
        print(f"  {stage:20s} {statistics.median(values) * 1e6:9.1f} us"
              f"{'' if calls == 1 else f'  ({calls:g} calls a fit)'}")


if __name__ == "__main__":
    main()
