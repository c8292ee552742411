"""Exactness above the sketch size: wide sparse fits and a one-hot pipeline at 1M rows.

Run by hand (``python benchmarks/bench_exactness.py [case]``), never in CI.
Each case runs in a fresh process so that the peak resident memory it
reports is its own: extra peak memory is the growth of ``ru_maxrss`` during
the fit, beyond what importing and a warm-up fit took.

Cases:
* ``wide-ridge``: CSR 50 x 4000 with 250 non-zeros, alpha=1 (target: < 2 s,
  < 150 MB), coefficients against the exact dual ridge solution;
* ``wide-lstsq``: CSR 2500 x 10000 with 25,000 non-zeros, alpha=0 (target:
  < 60 s), coefficients against the minimum-norm lstsq solution;
* ``onehot-1m``: a OneHotEncoder (4 categories, no ``drop``) + StandardScaler
  pipeline on 1,000,000 rows, coefficients against LinearRegression.
"""

import resource
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp

CASES = ("wide-ridge", "wide-lstsq", "onehot-1m")


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_fit(make, X, y):
    from skorch_lite import TorchLinearRegressor

    TorchLinearRegressor().fit(np.random.rand(20, 2), np.random.rand(20))  # warm-up
    before = _peak_mb()
    start = time.perf_counter()
    est = make().fit(X, y)
    return est, time.perf_counter() - start, _peak_mb() - before


def wide(alpha, n, p, nnz):
    from skorch_lite import TorchLinearRegressor

    X = sp.random(n, p, density=nnz / (n * p), random_state=0, format="csr")
    y = np.random.default_rng(0).normal(size=n)
    est, seconds, extra = _timed_fit(lambda: TorchLinearRegressor(alpha=alpha), X, y)
    A = X.toarray()
    A -= A.mean(0)
    if alpha > 0:
        coef = A.T @ np.linalg.solve(A @ A.T + alpha * np.eye(n), y - y.mean())
    else:
        coef = np.linalg.lstsq(A, y - y.mean(), rcond=None)[0]
    error = np.abs(est.coef_ - coef).max() / np.abs(coef).max()
    return f"{n} x {p} CSR, alpha={alpha}: {seconds:.2f} s, extra peak {extra:.0f} MB, " \
           f"max coef error / max |coef| = {error:.1e}, n_iter_ = {est.n_iter_}"


def onehot(n=1_000_000):
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from skorch_lite import TorchLinearRegressor

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"city": rng.choice(list("abcd"), n), "size": rng.normal(50, 10, n)})
    y = 2 * df["size"] + df["city"].map({"a": 0, "b": 4, "c": -4, "d": -1}) + rng.normal(size=n)
    pre = make_column_transformer((OneHotEncoder(), ["city"]), (StandardScaler(), ["size"]))
    est, seconds, extra = _timed_fit(lambda: make_pipeline(pre, TorchLinearRegressor()), df, y)
    ref = make_pipeline(pre, LinearRegression()).fit(df, y)
    error = np.abs(est[-1].coef_ - ref[-1].coef_).max() / np.abs(ref[-1].coef_).max()
    return f"one-hot pipeline, {n:,} rows: {seconds:.2f} s, coef_ {np.round(est[-1].coef_, 4)} " \
           f"(LinearRegression {np.round(ref[-1].coef_, 4)}), max relative error {error:.1e}"


def run(case):
    if case == "wide-ridge":
        return wide(1.0, 50, 4000, 250)
    if case == "wide-lstsq":
        return wide(0.0, 2500, 10_000, 25_000)
    return onehot()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(run(sys.argv[1]), flush=True)
    else:
        for case in CASES:
            subprocess.run([sys.executable, __file__, case], check=True)
