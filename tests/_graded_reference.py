"""Ridge and logistic optima of rank-deficient designs whose columns span 1e-150..1e150, in numpy.

The designs of these tests have a null space known exactly by construction
(a duplicated pair, a one-hot block beside an intercept), so the optimum
lies in a row space also known exactly: ``beta = basis @ gamma``. In
``gamma`` the problem has full rank; its columns are scaled to unit norm of
data plus penalty (Jacobi) before a float64 Newton solve, so a column of
order 1e150 beside one of order 1 costs no digits. Nothing here uses
``skorch_lite`` or an SVD of the whole design: the reference is independent
of the preconditioner it checks (and of lstsq, whose cutoff relative to the
largest singular value drops the small columns of such designs).

The module is imported as a plain module (``import _graded_reference``), as
``strategies`` is.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x, z = rng.normal(size=(2, 50))
>>> X = np.c_[x, x, z * 1e100]
>>> y = x + z + rng.normal(size=50)
>>> coef, _ = ridge(X, y, 1.0, pair_basis(3, 1e100))
>>> bool(coef[0, 0] == coef[0, 1])
True
"""

import numpy as np
from scipy.special import log_expit, logsumexp


def pair_basis(n_features, scale=1.0):
    """Row space of ``[x, x, z_1, ...]``: ``(e0 + e1) / 2`` and the other axes over ``scale``."""
    basis = np.eye(n_features)[:, 1:]
    basis[:, 0] = [0.5, 0.5] + [0.0] * (n_features - 2)
    basis[2:] /= scale
    return basis


def one_hot_basis(levels, n_features, scale=1.0):
    """Row space of a centred one-hot block of ``levels`` columns followed by columns of ``scale``.

    The block's coefficients sum to zero (``e_k - 1/levels``, exact in
    binary for 2 and 4 levels); the other axes are divided by ``scale``.
    """
    basis = np.zeros((n_features, n_features - 1))
    basis[:levels, : levels - 1] = np.eye(levels)[:, : levels - 1] - 1.0 / levels
    basis[levels:, levels - 1:] = np.eye(n_features - levels) / scale
    return basis


def _centred(X, y, w, fit_intercept):
    w = np.ones(len(X)) if w is None else np.asarray(w, float)
    Y = np.asarray(y, float).reshape(len(y), -1)
    if fit_intercept:
        x_mean, y_mean = w @ X / w.sum(), w @ Y / w.sum()
    else:
        x_mean, y_mean = np.zeros(X.shape[1]), np.zeros(Y.shape[1])
    root = np.sqrt(w)[:, None]
    return root * (X - x_mean), root * (Y - y_mean), x_mean, y_mean


def _jacobi(M, alpha, basis):
    """Column scales of ``[M; sqrt(alpha) basis]``: unit-norm columns of data plus penalty."""
    size = np.maximum(np.abs(M).max(0), np.sqrt(alpha) * np.abs(basis).max(0))
    return size * np.sqrt(((M / size) ** 2).sum(0) + alpha * ((basis / size) ** 2).sum(0))


def ridge(X, y, alpha, basis, w=None, fit_intercept=True):
    """Minimizer of ``sum_i w_i ||y_i - x_i W^T - b||^2 + alpha ||W||^2``, ``W^T`` in span(basis).

    With ``alpha=0`` and ``basis`` spanning X's row space, the minimum-norm
    least-squares solution. Returns ``coef`` (k, p) and ``intercept`` (k,).
    """
    A, B, x_mean, y_mean = _centred(np.asarray(X, float), y, w, fit_intercept)
    M = A @ basis
    c = _jacobi(M, alpha, basis)
    Ms, bs = M / c, basis / c
    gamma = np.linalg.solve(Ms.T @ Ms + alpha * bs.T @ bs, Ms.T @ B) / c[:, None]
    coef = (basis @ gamma).T
    return coef, y_mean - coef @ x_mean


def log_loss_objective(X, y, alpha, coef, intercept, w=None):
    """``sum_i w_i log_loss_i + alpha ||coef||^2`` (the classifier's unnormalized objective)."""
    X = np.asarray(X, float)
    classes = np.unique(y)
    idx = np.searchsorted(classes, y)
    w = np.ones(len(X)) if w is None else np.asarray(w, float)
    Z = X @ np.asarray(coef, float).T + intercept
    if Z.shape[1] == 1:
        losses = np.where(idx == 1, -log_expit(Z[:, 0]), -log_expit(-Z[:, 0]))
    else:
        losses = logsumexp(Z, axis=1) - Z[np.arange(len(X)), idx]
    return float(w @ losses + alpha * np.sum(np.asarray(coef, float) ** 2))


def logistic(X, y, alpha, basis, w=None, n_iter=100):
    """Minimizer of the classifier's objective with ``coef.T`` in span(basis), by Newton.

    Binary targets give one row of coefficients, more classes one per class
    (summing to zero over the classes, as the penalty makes them).
    Returns ``coef``, ``intercept`` and the objective.
    """
    X = np.asarray(X, float)
    classes = np.unique(y)
    idx = np.searchsorted(classes, y)
    n, K = len(X), len(classes)
    k = 1 if K == 2 else K
    w = np.ones(n) if w is None else np.asarray(w, float)
    M = X @ basis
    c = _jacobi(M - w @ M / w.sum(), alpha, basis)
    F = np.c_[M / c, np.ones(n)]  # features in gamma * c, then the intercept
    pen = np.zeros((F.shape[1], F.shape[1]))
    pen[:-1, :-1] = alpha * (basis / c).T @ (basis / c)
    T = np.eye(K)[idx] if k > 1 else (idx == 1)[:, None].astype(float)
    # Softmax does not see a shift common to the classes, and the penalty
    # on columns of norm 1e150 is too small to fix it: coefficients and
    # intercepts summing to zero over the classes (where the penalty puts
    # the optimum) are the variables, theta = free @ shift.
    shift = np.eye(k) if k == 1 else np.c_[np.eye(k - 1), -np.ones(k - 1)]
    to_full = np.kron(shift.T, np.eye(F.shape[1]))

    def value(theta):
        Z = F @ theta
        if k == 1:
            losses = np.where(idx == 1, -log_expit(Z[:, 0]), -log_expit(-Z[:, 0]))
        else:
            losses = logsumexp(Z, axis=1) - Z[np.arange(n), idx]
        return w @ losses + np.sum(theta * (pen @ theta))

    theta = np.zeros((F.shape[1], k))
    for _ in range(n_iter):
        Z = F @ theta
        P = np.exp(log_expit(Z)) if k == 1 else np.exp(Z - logsumexp(Z, axis=1)[:, None])
        grad = F.T @ (w[:, None] * (P - T)) + 2 * pen @ theta
        blocks = np.zeros((k, F.shape[1], k, F.shape[1]))
        for a in range(k):
            for b in range(k):
                h = P[:, a] * ((a == b) - P[:, b]) if k > 1 else P[:, 0] * (1 - P[:, 0])
                blocks[a, :, b, :] = F.T @ ((w * h)[:, None] * F) + 2 * pen * (a == b)
        H = to_full.T @ blocks.reshape(k * F.shape[1], k * F.shape[1]) @ to_full
        g = to_full.T @ grad.T.reshape(-1)
        step = (to_full @ np.linalg.solve(H, g)).reshape(k, F.shape[1]).T
        current, t = value(theta), 1.0
        while value(theta - t * step) > current and t > 1e-12:
            t /= 2
        theta = theta - t * step
        if np.abs(g @ np.linalg.solve(H, g)) <= 1e-28 * max(current, 1.0):
            break
    coef = (basis @ (theta[:-1] / c[:, None])).T
    intercept = theta[-1]
    return coef, intercept, log_loss_objective(X, y, alpha, coef, intercept, w)
