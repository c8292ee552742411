"""The exact least-squares optimum of a workload, and the excess of any fit over it.

Everything here is float64 and runs outside the timed regions. The excess is
computed from the Gram matrix of ``[X, 1]`` rather than by subtracting two
mean squared errors: for a quadratic, ``MSE(W) - MSE_opt`` is exactly the
quadratic form of ``W - W_opt`` in that Gram matrix, which keeps excesses far
below float32's resolution (and below 1e-10) meaningful.
"""

import numpy as np

_CHUNK = 100_000


def _augmented(block):
    return np.hstack([block.astype(np.float64), np.ones((len(block), 1))])


class Optimum:
    """Least squares with an intercept for ``X`` (n, p) and ``Y`` (n, k), in float64.

    Attributes
    ----------
    coef : ndarray of shape (k, p)
    intercept : ndarray of shape (k,)
    mse : float
        Mean over rows and targets of the squared residual at the optimum.
    residual : float
        ``|cross - gram @ theta| / (|gram| |theta| + |cross|)``: the normal
        equations' relative (backward) residual at the solution.
    """

    def __init__(self, X, Y):
        n, p = X.shape
        k = Y.shape[1]
        gram = np.zeros((p + 1, p + 1))
        cross = np.zeros((p + 1, k))
        for start in range(0, n, _CHUNK):
            A = _augmented(X[start : start + _CHUNK])
            gram += A.T @ A
            cross += A.T @ Y[start : start + _CHUNK].astype(np.float64)
        # Solve the normal equations on the diagonally scaled Gram matrix
        # (its condition number is that of the standardized problem, not the
        # raw one), then refine once against the unscaled equations.
        d = 1.0 / np.sqrt(np.diag(gram))
        scaled = gram * np.outer(d, d)
        solve = lambda rhs: d[:, None] * np.linalg.solve(scaled, d[:, None] * rhs)  # noqa: E731
        theta = solve(cross)
        theta += solve(cross - gram @ theta)
        # How well theta solves the equations, relative to their terms: a
        # few float64 eps where the optimum is trustworthy.
        self.residual = float(np.linalg.norm(cross - gram @ theta)
                              / (np.linalg.norm(gram) * np.linalg.norm(theta)
                                 + np.linalg.norm(cross)))
        self.gram, self.n, self.k = gram, n, k
        self.coef, self.intercept = theta[:p].T, theta[p]
        sse = 0.0
        for start in range(0, n, _CHUNK):
            A = _augmented(X[start : start + _CHUNK])
            sse += float(((Y[start : start + _CHUNK] - A @ theta) ** 2).sum())
        self.mse = sse / (n * k)

    def excess(self, coef, intercept):
        """``(MSE - MSE_opt) / MSE_opt`` of the model ``X @ coef.T + intercept``."""
        coef = np.asarray(coef, dtype=np.float64).reshape(self.k, -1)
        intercept = np.broadcast_to(np.asarray(intercept, dtype=np.float64), (self.k,))
        if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
            return float("inf")
        delta = np.hstack([coef - self.coef, (intercept - self.intercept)[:, None]])
        extra = float(np.einsum("ti,ij,tj->", delta, self.gram, delta))
        return max(extra, 0.0) / (self.n * self.k) / self.mse
