"""Losses beyond least squares: a Poisson GLM at 1M x 100, beside scikit-learn and glum.

Run by hand (``python benchmarks/bench_losses.py [n_samples] [--device cuda]``),
never in CI; ``--device`` puts the torch fit on that device (the row of
``run_device_checks.sh``), with X and y handed over as tensors there.
The workload is float32 X (standard normal columns scaled over three
decades), counts drawn with ``log E[y] = X @ beta + 0.5``. The optimum is
computed in float64 by scikit-learn's PoissonRegressor (newton-cholesky,
tol 1e-12, not timed); every contender is scored by its relative excess
objective (mean half deviance) over it. Times are wall clock in this
process, each the best of ``REPEATS`` fits after a warm-up, so the ratios
between contenders are what to read: the machine is shared.
"""

import argparse
import time
import warnings

import numpy as np

REPEATS = 2


def workload(n_samples, n_features=100, seed=0):
    rng = np.random.default_rng(seed)
    scales = np.logspace(-1, 2, n_features)
    X = (rng.standard_normal((n_samples, n_features), dtype=np.float32) * scales).astype(np.float32)
    beta = rng.normal(size=n_features) * 0.3 / np.sqrt(n_features) / scales
    y = rng.poisson(np.exp(X.astype(np.float64) @ beta + 0.5)).astype(np.float32)
    return X, y


def mean_deviance(X, y, coef, intercept):
    raw = X.astype(np.float64) @ np.asarray(coef, dtype=np.float64) + float(intercept)
    y = y.astype(np.float64)
    safe = np.where(y > 0, y, 1.0)
    return np.mean(2 * (np.where(y > 0, y * np.log(safe), 0.0) - y * raw - y + np.exp(raw)))


def best_time(make, X, y, device="cpu", repeats=REPEATS, warm_up_rows=2000):
    if device != "cpu":
        import torch

        X, y = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    make().fit(X[:warm_up_rows], y[:warm_up_rows])  # warm-up: imports, first-call costs
    best, model = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        model = make().fit(X, y)
        _synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best, model


def _synchronize(device):
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def contenders(device):
    from sklearn.linear_model import PoissonRegressor

    from skorch_lite import TorchLinearRegressor

    yield (f"TorchLinearRegressor(loss='poisson') {device}",
           lambda: TorchLinearRegressor(loss="poisson", device=device), device)
    yield "PoissonRegressor(newton-cholesky)", lambda: PoissonRegressor(
        alpha=0.0, solver="newton-cholesky"), "cpu"
    yield "PoissonRegressor(lbfgs)", lambda: PoissonRegressor(alpha=0.0, max_iter=1000), "cpu"
    try:
        from glum import GeneralizedLinearRegressor
    except ImportError:
        print("glum: not installed (pip install glum), skipped")
        return
    yield "glum GeneralizedLinearRegressor", lambda: GeneralizedLinearRegressor(
        family="poisson", alpha=0.0), "cpu"


def main(n_samples, device="cpu"):
    from sklearn.linear_model import PoissonRegressor

    X, y = workload(n_samples)
    ref = PoissonRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    ref.fit(X.astype(np.float64), y.astype(np.float64))
    optimum = mean_deviance(X, y, ref.coef_, ref.intercept_)
    print(f"Poisson GLM, {n_samples} x {X.shape[1]} float32; optimum mean deviance {optimum:.10g}")
    rows = []
    for name, make, where in contenders(device):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds, model = best_time(make, X, y, where)
        coef, intercept = (np.asarray(getattr(a, "cpu", lambda: a)())
                           for a in (model.coef_, model.intercept_))
        excess = (mean_deviance(X, y, coef, intercept) - optimum) / optimum
        rows.append((name, seconds, excess))
    base = next(s for n, s, _ in rows if n.startswith("PoissonRegressor(newton"))
    print(f"{'contender':40s} {'time (s)':>9s} {'x newton-cholesky':>18s} {'rel. excess':>12s}")
    for name, seconds, excess in rows:
        print(f"{name:40s} {seconds:9.2f} {seconds / base:18.2f} {excess:12.2e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_samples", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--device", default="cpu", help="device of the torch fit (cuda, ...)")
    args = parser.parse_args()
    main(args.n_samples, args.device)
