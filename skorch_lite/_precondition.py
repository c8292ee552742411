"""An affine change of variables under which least squares is well conditioned.

The optimizer never sees the caller's coefficients. It sees ``theta`` and
``gamma``, tied to the standardized problem by

    beta_std = transform @ theta,      c = intercept_scale * gamma,
    y_std    = (X - x_mean) @ beta_std + c,   y_std = (y - y_mean) / y_scale.

``transform`` comes from a singular value decomposition of a row sketch of the
weighted, centred design (all rows when there are few). When the sketch is all
rows, the Hessian of the objective in ``theta`` is exactly the identity; when
it is a sample, it is close to it (Blendenpik, LSRN). X itself is never
centred, scaled or copied: the centring is folded into the intercept.
"""

from contextlib import contextmanager
from dataclasses import dataclass

import torch

from ._data import column_moments, matmul_t, take_rows
from .distributed import LOCAL


@dataclass
class Preconditioner:
    """Statistics and change of variables for one fit (all torch tensors).

    Attributes
    ----------
    x_mean : Tensor of shape (n_features,)
    y_mean, y_scale : Tensor of shape (n_targets,)
    transform : Tensor of shape (n_features, rank)
    intercept_scale : float
    theta0 : Tensor of shape (rank, n_targets)
        Least-squares solution on the sketch, in ``theta`` coordinates.
    """

    x_mean: torch.Tensor
    y_mean: torch.Tensor
    y_scale: torch.Tensor
    transform: torch.Tensor
    intercept_scale: float
    theta0: torch.Tensor

    def coefficients(self, theta, gamma):
        """Map optimizer variables to ``coef`` (n_targets, n_features) and ``intercept``."""
        beta_std = self.transform @ theta
        coef = (beta_std * self.y_scale).T
        intercept = self.y_mean + self.y_scale * (
            self.intercept_scale * gamma - self.x_mean @ beta_std
        )
        return coef, intercept

    def variables(self, coef, intercept):
        """Inverse of :meth:`coefficients` (a projection where ``transform`` is not square)."""
        beta_std = coef.T / self.y_scale
        theta = torch.linalg.pinv(self.transform) @ beta_std
        c = (intercept - self.y_mean) / self.y_scale + self.x_mean @ beta_std
        return theta, c / self.intercept_scale


def fit_preconditioner(
    X, Y, w, *, alpha, fit_intercept, sketch_size, generator, reducer=None,
    column_norms=False,
):
    """Compute the change of variables for ``X``, targets ``Y`` and weights ``w``.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
        Read, never copied (except the sketch rows).
    Y : Tensor of shape (n_samples, n_targets)
    w : Tensor of shape (n_samples,)
        Non-negative weights with a positive sum.
    alpha : float
        L2 penalty, folded into the preconditioner so ridge is conditioned too.
    fit_intercept : bool
    sketch_size : int
        Rows sampled for the decomposition; with fewer rows than this, all
        rows are used and the preconditioner is exact.
    generator : torch.Generator
        Source of the row sample (CPU), for reproducibility.
    reducer : Reducer, default=None
        Combines statistics across processes that each hold a shard of the
        rows (:mod:`skorch_lite.distributed`); None is one process.
    column_norms : bool, default=False
        Scale columns by their norms over all rows (one more pass over dense
        X, ~4 matrix-vector products' worth) rather than over the sample. A
        sample can miss a rare column; L-BFGS copes through its line search,
        Adam and SGD would step far along it. Always done for sparse X,
        where it is cheap.

    Returns
    -------
    Preconditioner
    """
    n_samples, n_features = X.shape
    n_targets = Y.shape[1]
    dtype, device = X.dtype, X.device
    f64 = dict(dtype=torch.float64, device=device)
    reducer = reducer or LOCAL
    # Sums, never means, cross process boundaries: shards may differ in size.
    weight_sum = reducer.sum(torch.sum(w, dtype=torch.float64))
    # y's statistics in float64 blocks: no float64 copy of y, no overflow.
    y_sums, y_squares = (
        reducer.sum(m) for m in column_moments(Y, w, block_bytes=1 << 20, float64=True)
    )
    if column_norms or X.layout != torch.strided:
        # One pass over X: the means, and the column norms that scale the sketch.
        sums, squares = (reducer.sum(m) for m in column_moments(X, w))
    else:
        sums, squares = reducer.sum(matmul_t(X, w[:, None])[:, 0].double()), None
    if fit_intercept:
        x_mean = sums / weight_sum
        y_mean = y_sums / weight_sum
    else:
        x_mean = torch.zeros(n_features, **f64)
        y_mean = torch.zeros(n_targets, **f64)
    # Standardizing y makes the optimizer's tolerances and learning rates
    # independent of the target's units (diabetes' targets are in the hundreds).
    y_scale = torch.sqrt(torch.clamp(y_squares / weight_sum - y_mean**2, min=0))
    y_scale = torch.where(y_scale > 0, y_scale, torch.ones_like(y_scale))
    _check_representable(x_mean, y_squares)

    exact = bool(reducer.sum(torch.tensor(n_samples, device=device)) <= sketch_size)
    if exact:
        rows = torch.arange(n_samples, device=device)
        row_weights = w.to(**f64)
    else:
        # Sampling rows in proportion to their weight, with replacement, gives
        # an unbiased estimate of the weighted Gram matrix. Shards draw the
        # sample one process would draw from all rows (rank 0's draw, from
        # every shard's weights: 8 bytes a row, once), then keep their own.
        rows = torch.multinomial(
            reducer.cat(w).cpu(), sketch_size, replacement=True, generator=generator
        )
        rows = reducer.cat(rows.to(device))[:sketch_size]
        start = int(reducer.cat(torch.tensor([n_samples], device=device))[: reducer.rank].sum())
        rows = rows[(rows >= start) & (rows < start + n_samples)] - start
        row_weights = torch.full((len(rows),), float(weight_sum) / sketch_size, **f64)
    root_w = torch.sqrt(row_weights)[:, None]
    # Every process decomposes the same sketch: all shards' rows, in rank order.
    sample = reducer.cat(take_rows(X, rows).to(**f64) * root_w)
    A = sample - reducer.cat(root_w) * x_mean
    # A column whose centred values are rounding noise of its mean is
    # constant at the data's precision: scaled up, the noise would fit y.
    noise = 4 * torch.finfo(dtype).eps * _norms(sample) * max(1, A.shape[0]) ** 0.5
    A[:, _norms(A) <= noise] = 0
    B = reducer.cat((Y[rows].to(**f64) - y_mean) / y_scale * root_w)

    # Column scaling first, so the decomposition resolves small singular
    # values that only come from columns in different units. The norms come
    # from all rows: a sample can miss a rare column entirely.
    norms = sketch_norms = _norms(A)
    full_norms = not exact and squares is not None
    if full_norms:
        norms = torch.sqrt(torch.clamp(squares - weight_sum * x_mean**2, min=0))
        # Columns constant at the data's precision keep the sample's norm.
        tiny = torch.finfo(dtype).eps * torch.sqrt(squares)
        norms = torch.where(norms > tiny, norms, sketch_norms)
    norms = torch.where(norms > 0, norms, torch.ones_like(norms))
    D = 1.0 / norms
    AD = A * D
    extra = []
    if alpha > 0:
        extra.append(torch.diag(alpha**0.5 * D))
    if full_norms:
        # Scaled, every column has unit norm over all rows. Where the sample
        # holds less than half of it (far beyond sampling noise, ~sqrt(2/s)),
        # give the rest back on the diagonal: a rare column missed by the
        # sample must not look flat, or Adam and SGD would step far along it.
        deficit = 1 - _norms(AD) ** 2
        deficit = torch.where(deficit > 0.5, deficit, torch.zeros_like(deficit))
        extra.append(torch.diag(torch.sqrt(deficit)))
    if extra:
        AD = torch.cat([AD, *extra])
        B = torch.cat([B, torch.zeros(AD.shape[0] - B.shape[0], n_targets, **f64)])
    with _few_threads(AD):
        U, S, Vh = torch.linalg.svd(AD, full_matrices=False)
    V = Vh.T

    # Rank is judged at the precision of the data, not of this float64
    # decomposition: in float32, a column that is a combination of others
    # up to rounding would otherwise be scaled up ~1e7 along with its noise.
    cutoff = float(S[0]) * max(AD.shape) * torch.finfo(dtype).eps if S.numel() else 0.0
    if exact:
        keep = S > cutoff
        U, S, V = U[:, keep], S[keep], V[:, keep]
    else:
        # A direction the sample missed must stay reachable: clamp, don't drop.
        S = torch.clamp(S, min=max(cutoff, float(S[0]) * 1e-7) if S.numel() else 1.0)

    # Hessian of the objective (normalized by k * sum(w)) is 2 (G + alpha I) /
    # (k sum(w)); this scale makes it the identity in theta.
    hessian_root = torch.sqrt(2.0 / (n_targets * weight_sum))
    transform = (D[:, None] * V) / (S * hessian_root)
    theta0 = (U.T @ B) * hessian_root
    if exact and alpha == 0 and V.shape[1] < n_features:
        # Rank deficient: project onto X's row space so that descent from
        # theta0 (or zero) lands on the minimum-norm solution, as lstsq does.
        Q, _ = torch.linalg.qr(V / D[:, None])
        transform = Q @ (Q.T @ transform)

    cast = dict(dtype=dtype, device=device)
    return Preconditioner(
        x_mean=x_mean.to(**cast),
        y_mean=y_mean.to(**cast),
        y_scale=y_scale.to(**cast),
        transform=transform.to(**cast),
        intercept_scale=(n_targets / 2.0) ** 0.5 if fit_intercept else 0.0,
        theta0=theta0.to(**cast),
    )


@contextmanager
def _few_threads(matrix, small=1 << 21):
    """Decompose a small sketch on one CPU thread.

    LAPACK's threads only cost there: measured on 2 busy cores, the SVD of a
    2000 x 100 float64 sketch took 0.31 s on 2 threads and 0.006 s on one.
    """
    if matrix.device.type != "cpu" or matrix.numel() > small:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _norms(A):
    """Column norms that neither overflow nor underflow (|values| from 1e-300 to 1e300)."""
    largest = A.abs().amax(0) if A.shape[0] else torch.zeros(A.shape[1], dtype=A.dtype)
    safe = torch.where(largest > 0, largest, torch.ones_like(largest))
    return torch.linalg.vector_norm(A / safe, dim=0) * safe


def _check_representable(x_mean, y_squares):
    """Sums of squares must stay finite in float64; say so instead of returning NaN."""
    if not bool(torch.isfinite(x_mean).all()):
        raise ValueError(
            "X holds values too large to average in float64; rescale X (e.g. StandardScaler)."
        )
    if not bool(torch.isfinite(y_squares).all()):
        raise ValueError(
            "y holds values too large: their squares overflow float64 (|y| above ~1e150); "
            "rescale y (e.g. TransformedTargetRegressor)."
        )
