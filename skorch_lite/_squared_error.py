"""The squared-error objective of the engine: pure torch, no scikit-learn.

The weighted ridge least-squares loss of the standardized problem, written in
the preconditioned variables of :mod:`._precondition`:

    J(theta, gamma) = sum_t [ sum_i w_i r_it^2 + alpha ||beta_std_t||^2 ] / (k sum_i w_i)

J is 1 at the zero model (with an intercept) and its Hessian is (close to)
the identity. Full-batch evaluations compute its value and gradient in closed
form (:meth:`Objective.value_and_grad`); mini-batches differentiate
:meth:`Objective.forward` with autograd.
"""

import torch

from ._data import affine, matmul_t, take_rows, weighted_squares
from ._reduce import LOCAL


class Objective:
    """Weighted ridge least squares of one problem, in standardized units.

    Residuals are computed against the caller's targets, in their units, so
    that no standardized copy of y is kept; the per-target sums of squares
    are divided by the target variances instead.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
    Y : Tensor of shape (n_samples, n_targets)
        Targets, as given.
    w : Tensor of shape (n_samples,)
        Training weights (zero on rows held out for validation).
    precond : Preconditioner
    penalty : L2
        The penalty of :mod:`._penalty`, on the standardized coefficients.
    w_val : Tensor of shape (n_samples,), default=None
        Weights of the validation rows, for early stopping.
    reducer : Reducer, default=None
        Sums the data terms and gradients of processes that each hold a
        shard of the rows (:mod:`skorch_lite.distributed`); None is one process.
    """

    def __init__(self, X, Y, w, precond, penalty, w_val=None, reducer=None, block_rows=None):
        self.X, self.Y, self.w, self.w_val = X, Y, w, w_val
        self.precond = precond
        self.reducer = reducer or LOCAL
        self.penalty = penalty.share(self.reducer)
        n_targets = Y.shape[1]
        self.norm = 1.0 / (n_targets * self.reducer.sum(w.sum()))
        self.y_scale = precond.y_scale
        self.inverse_scale = 1 / self.y_scale
        # Unit weights (the usual case) need no multiplication, nor its buffer.
        self.unit_weights = bool((w == 1).all())
        # A private knob: tests make small problems take the blocked path.
        self.block_rows = block_rows or fused_block_rows(X)
        self.blocked = reads_in_blocks(X, self.block_rows)
        if w_val is not None:
            val_mean = (w_val @ Y) / w_val.sum()
            self.val_total = w_val @ ((Y - val_mean) / self.y_scale) ** 2

    def _affine_map(self, theta, gamma):
        """``(beta, coef, offset)``: the model in y's units, ``X @ coef + offset``."""
        pre = self.precond
        beta = pre.transform @ theta
        coef = beta * pre.y_scale
        offset = pre.y_mean + pre.y_scale * (pre.intercept_scale * gamma - pre.x_mean @ beta)
        return beta, coef, offset

    def residual(self, theta, gamma, rows=None):
        """Residuals in y's units, and the standardized coefficients."""
        beta, coef, offset = self._affine_map(theta, gamma)
        X = self.X if rows is None else take_rows(self.X, rows)
        Y = self.Y if rows is None else self.Y[rows]
        # In place: the product's backward does not need its output.
        return affine(X, coef, offset).sub_(Y), beta

    def terms(self, residual, beta, w, scale=1.0):
        """Per-target objective; ``scale`` reweights a mini-batch to estimate the total."""
        # Residuals are standardized before squaring: squares of y of order
        # 1e-160 would underflow, and 0 * inf from the penalty of a model
        # with huge coefficients (X of order 1e-160) would be NaN.
        data = weighted_squares(residual, None if self.unit_weights else w, self.inverse_scale)
        return self._with_penalty(data, beta, scale)

    def _with_penalty(self, data, beta, scale=1.0):
        if self.penalty.vanishes:
            return self.norm * scale * data
        return self.norm * (scale * data + self.penalty.terms(beta, 0))

    # Squared error has no variables beyond the coefficients and intercept.
    extra_params = ()

    @property
    def report_scale(self):
        """Per-target factors from these standardized terms to ``loss_curve_``'s units."""
        return self.y_scale**2

    def forward(self, params, rows=None, scale=1.0):
        """Per-target objective over ``rows`` (all when None), and the residuals."""
        theta, gamma = params
        residual, beta = self.residual(theta, gamma, rows)
        w = self.w if rows is None else self.w[rows]
        return self.terms(residual, beta, w, scale), residual

    def value_and_grad(self, params):
        """Per-target objective over every row, the residuals, and the gradient, without autograd.

        The full-batch evaluation (every L-BFGS step, the certificate of a
        start): on small data the autograd graph of :meth:`forward` cost
        several times the arithmetic (diabetes: 0.27 ms of a 1.5 ms fit). The
        gradient is the chain rule through :meth:`residual` in the order
        autograd takes it (so with its rounding): ``G = 2 norm w r / y_scale^2``
        (scaled as :func:`._data.weighted_squares`, so that neither ``r`` of
        1e-160 nor ``y_scale`` of 1e150 leaves the dtype's range), then
        ``y_scale (X - x_mean)^T G`` in ``beta`` and ``transform^T`` of it.

        Dense X larger than a block (:func:`fused_block_rows`) is read once
        per evaluation instead of twice: each block's residuals, and their
        product with the block, are formed while the block is in cache
        (1,000,000 x 100 float32: 93 ms against 137 ms an evaluation). The
        blocks' sums are accumulated in float64.
        """
        theta, gamma = params
        with torch.no_grad():
            if self.blocked:
                terms, residual, g_sum, XtG, beta = self._blocked(theta, gamma)
            else:
                residual, beta = self.residual(theta, gamma)
                terms = self.terms(residual, beta, self.w)
                G = self._output_gradient(residual, None if self.unit_weights else self.w)
                g_sum, XtG = G.sum(0), matmul_t(self.X, G)
            return terms, residual, self._chain(g_sum, XtG, beta)

    def _output_gradient(self, residual, w):
        """The objective's gradient in the residuals (a new buffer)."""
        s = self.inverse_scale
        G = (residual * s).mul_((2 * self.norm) * s)
        return G if w is None else G.mul_(w[:, None])

    def _chain(self, g_sum, XtG, beta):
        """The gradient in ``(theta, gamma)`` from ``G.sum(0)`` and ``X.T @ G``."""
        pre = self.precond
        g_offset = g_sum * pre.y_scale
        g_beta = XtG * pre.y_scale - pre.x_mean[:, None] * g_offset
        if not self.penalty.vanishes:
            g_beta += (2 * self.norm * self.penalty.alpha) * beta
        return [pre.transform.T @ g_beta, pre.intercept_scale * g_offset]

    def _blocked(self, theta, gamma):
        """:meth:`value_and_grad`'s sums over row blocks of a dense X, each block read once."""
        X, Y = self.X, self.Y
        beta, coef, offset = self._affine_map(theta, gamma)
        w = None if self.unit_weights else self.w
        s = self.inverse_scale
        residual = torch.empty_like(Y)
        f64 = dict(dtype=torch.float64, device=X.device)
        data = torch.zeros(Y.shape[1], **f64)
        g_sum = torch.zeros_like(data)
        XtG = torch.zeros(X.shape[1], Y.shape[1], **f64)
        for start in range(0, X.shape[0], self.block_rows):
            rows = slice(start, start + self.block_rows)
            block, w_block = X[rows], None if w is None else w[rows]
            r = torch.addmm(offset, block, coef, out=residual[rows]).sub_(Y[rows])
            data += weighted_squares(r, w_block, s).double()
            G = self._output_gradient(r, w_block)
            g_sum += G.sum(0).double()
            XtG += matmul_t(block, G).double()
        dtype = X.dtype
        terms = self._with_penalty(data.to(dtype), beta)
        return terms, residual, g_sum.to(dtype), XtG.to(dtype), beta

    def validation_score(self, residual):
        """Mean over targets of R^2 on the validation rows."""
        return r2_from_sums(self.w_val @ (residual / self.y_scale) ** 2, self.val_total).mean()


# The rows of a block of X that value_and_grad reads once for both of its
# products: 2 MB, the L2 cache of a core here (1,000,000 x 100 float32,
# an evaluation: 90-95 ms in blocks of 4,096-8,192 rows, 106 ms of 16,384,
# 137 ms unblocked).
FUSED_BLOCK_BYTES = 2 << 20
# X of at most this many bytes is read whole: it stays in the last-level
# cache between the two products, and the blocks' two dozen operations
# each cost more than they save (an evaluation, blocked against whole:
# 20,000 x 20 float64 (3 MB) 416 against 305 us; 50,000 x 20 (7 MB) 912
# against 639 us; 100,000 x 20 (15 MB) 1.88 against 2.2 ms).
WHOLE_BYTES = 8 << 20


def fused_block_rows(X):
    """Rows of X per block of :meth:`Objective.value_and_grad` (at least 1024; all of small X)."""
    if X.shape[0] * X.shape[1] * X.element_size() <= WHOLE_BYTES:
        return max(1, X.shape[0])
    return max(1024, FUSED_BLOCK_BYTES // max(1, X.shape[1] * X.element_size()))


def reads_in_blocks(X, block_rows):
    """Whether :meth:`Objective.value_and_grad` reads ``X`` in blocks of ``block_rows``.

    Dense X on a CPU, with more rows than a block: the blocks are sized for
    a CPU core's cache. On a GPU each block would be two dozen kernel
    launches (4,600 an evaluation of 1,000,000 x 100), and its memory
    bandwidth reads X whole at once.
    """
    return X.layout == torch.strided and X.device.type == "cpu" and X.shape[0] > block_rows


def r2_from_sums(ss_res, ss_tot):
    """R^2 per target from residual and total sums of squares.

    A constant target scores 1 when predicted exactly and 0 otherwise, as
    :func:`sklearn.metrics.r2_score` does.
    """
    varies = ss_tot > 0
    r2 = 1 - ss_res / torch.where(varies, ss_tot, torch.ones_like(ss_tot))
    return torch.where(varies, r2, (ss_res == 0).to(ss_res))
