"""The data sets the benchmark fits: sourdough, a small float64 problem, A and B.

Every workload is generated from a fixed seed, so two processes that build
the same workload (the timing run and the memory child) see the same bytes.
"""

from dataclasses import dataclass

import numpy as np

from skorch_lite.datasets import load_sourdough


@dataclass
class Workload:
    """One least-squares problem: ``X``, 2-D ``Y`` and how often to repeat fits."""

    name: str
    X: np.ndarray
    Y: np.ndarray
    description: str
    repeats: int
    # Epoch budgets of the baselines that never stop by themselves.
    sgd_epochs: int
    skorch_epochs: int
    # Iteration cap of TorchLinearRegressor's Adam and SGD (None: their default
    # max_iter) where a full default fit would take minutes.
    torch_iter_budget: int = None
    # Condition number of the column-standardized X (measured, for the table).
    condition: float = float("nan")

    @property
    def y(self):
        """The target as the user would pass it: 1-D when there is one target."""
        return self.Y[:, 0] if self.Y.shape[1] == 1 else self.Y


def standardized_condition(X, chunk=100_000):
    """Ratio of extreme singular values of ``X`` after centring and scaling columns.

    Computed from the float64 Gram matrix, accumulated by chunks of rows so
    that no float64 copy of X is made.
    """
    n, p = X.shape
    gram = np.zeros((p + 1, p + 1))
    for start in range(0, n, chunk):
        block = np.hstack([X[start : start + chunk].astype(np.float64),
                           np.ones((min(chunk, n - start), 1))])
        gram += block.T @ block
    mean = gram[:p, p] / n
    cov = gram[:p, :p] / n - np.outer(mean, mean)
    scale = np.sqrt(np.diag(cov))
    corr = cov / np.outer(scale, scale)
    eig = np.linalg.eigvalsh(corr)
    return float(np.sqrt(eig[-1] / eig[0]))


def _targets(rng, X, n_targets, noise=0.5):
    """``Y = X @ W + b + noise`` with every feature contributing comparably."""
    n, p = X.shape
    col_scale = X[: min(n, 10_000)].std(axis=0).astype(np.float64)
    W = rng.standard_normal((p, n_targets)) / col_scale[:, None] / np.sqrt(p)
    b = rng.standard_normal(n_targets) * 3.0
    Y = np.empty((n, n_targets), dtype=X.dtype)
    for start in range(0, n, 100_000):
        block = X[start : start + 100_000].astype(np.float64)
        Y[start : start + len(block)] = (
            block @ W + b + noise * rng.standard_normal((len(block), n_targets))
        )
    return Y


def _column_scales(rng, p):
    """Column scales spread log-uniformly over [0.1, 10], in random order."""
    return rng.permutation(np.logspace(-1, 1, p)).astype(np.float32)


def sourdough():
    X, Y = load_sourdough(return_X_y=True)
    return Workload(
        "sourdough", X.astype(np.float64), Y.astype(np.float64),
        "10 x 3 x 2, float64 (the seed notebook's loaves)",
        repeats=21, sgd_epochs=1000, skorch_epochs=1000,
    )


def small_float64(n=100_000, p=20):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, p)) * _column_scales(rng, p) + rng.standard_normal(p)
    Y = _targets(rng, X, 1).astype(np.float64)
    return Workload(
        f"{n // 1000}k x {p} f64", X, Y, f"{n:,} x {p} x 1, float64, column scales 0.1-10",
        repeats=5, sgd_epochs=30, skorch_epochs=10,
    )


def workload_a(n=1_000_000, p=100):
    """Independent features, column scales 0.1-10, 2 targets, float32."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((n, p), dtype=np.float32)
    X *= _column_scales(rng, p)
    X += rng.standard_normal(p).astype(np.float32)
    Y = _targets(rng, X, 2)
    return Workload(
        "A", X, Y, f"{n:,} x {p} x 2, float32, independent features, column scales 0.1-10",
        repeats=3, sgd_epochs=5, skorch_epochs=1,
        torch_iter_budget=20 if n >= 500_000 else None,
    )


def workload_b(n=1_000_000, p=100, target_condition=1e3):
    """Correlated features: condition number ~1e3 after standardizing columns."""
    rng = np.random.default_rng(3)
    # X = Z @ M with M = U diag(s) V^T: Z's columns are nearly orthonormal for
    # n >> p, so X's singular values follow s. Standardizing X's columns then
    # changes the spread a little; one correction of the exponent brings the
    # measured condition number close to the target.
    U, _ = np.linalg.qr(rng.standard_normal((p, p)))
    V, _ = np.linalg.qr(rng.standard_normal((p, p)))
    exponent = np.log10(target_condition)
    for _ in range(2):
        s = np.logspace(0, -exponent, p)
        M = (U * s) @ V.T
        M /= np.linalg.norm(M, axis=0)
        Zs = rng.standard_normal((20_000, p))
        measured = standardized_condition(Zs @ M)
        exponent += np.log10(target_condition) - np.log10(measured)
    X = np.empty((n, p), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        X[start : start + m] = rng.standard_normal((m, p)) @ M
    X *= _column_scales(rng, p)
    X += rng.standard_normal(p).astype(np.float32)
    Y = _targets(rng, X, 2)
    return Workload(
        "B", X, Y, f"{n:,} x {p} x 2, float32, correlated features, column scales 0.1-10",
        repeats=3, sgd_epochs=5, skorch_epochs=1,
        torch_iter_budget=20 if n >= 500_000 else None,
        condition=standardized_condition(X),
    )


def all_workloads(quick):
    """``(key, factory)`` of the four workloads, full size or (``quick``) smoke-test size."""
    if quick:
        return [("sourdough", sourdough), ("small", lambda: _quick(small_float64(n=10_000))),
                ("A", lambda: _quick(workload_a(n=20_000))),
                ("B", lambda: _quick(workload_b(n=20_000)))]
    return [("sourdough", sourdough), ("small", small_float64),
            ("A", workload_a), ("B", workload_b)]


def _quick(workload):
    """One repeat and short budgets: a smoke check, not a measurement."""
    workload.repeats, workload.torch_iter_budget = 1, 30
    workload.sgd_epochs, workload.skorch_epochs = 3, 1
    return workload
