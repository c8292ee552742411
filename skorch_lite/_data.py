"""The few operations the engine performs on X, in one place.

X is only ever read: multiplied by a small matrix, averaged over rows, or
sampled row by row. Keeping these here lets other storage formats (sparse
tensors) plug in without the engine knowing.
"""

import torch


class _Affine(torch.autograd.Function):
    """``X @ B + c`` whose backward forms ``X.T @ G`` with :func:`matmul_t`.

    For a row-major X that streams X as fast as the forward does. X is saved
    by reference, never copied.
    """

    @staticmethod
    def forward(ctx, B, c, X):
        ctx.save_for_backward(X)
        return torch.addmm(c, X, B)

    @staticmethod
    def backward(ctx, grad):
        (X,) = ctx.saved_tensors
        return matmul_t(X, grad), grad.sum(0), None


def affine(X, B, c):
    """Return ``X @ B + c`` for a (n, p) ``X``, differentiable in ``B`` and ``c``."""
    if X.layout != torch.strided:
        return torch.sparse.mm(X, B) + c
    if not _needs_graph(B, c):
        # The Function's own forward, without its machinery (10-15 us a call,
        # a tenth of a small problem's evaluation).
        return torch.addmm(c, X, B)
    return _Affine.apply(B, c, X)


def _needs_graph(*tensors):
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


class _WeightedSquares(torch.autograd.Function):
    """Column sums of ``w * (r * s)**2``, with one (n, k) buffer each way.

    torch.sum adds pairwise: a float32 dot product over a million rows
    (``w @ r**2``) drifts by ~1e-4 relative, which misleads a line search.
    """

    @staticmethod
    def forward(ctx, r, w, s):
        ctx.save_for_backward(r, w, s)
        return _weighted_squares(r, w, s)

    @staticmethod
    def backward(ctx, grad):
        r, w, s = ctx.saved_tensors
        out = (r * s).mul_(2 * grad * s)
        if w is not None:
            out.mul_(w[:, None])
        return out, None, None


def weighted_squares(r, w, s):
    """``(w[:, None] * (r * s)**2).sum(0)``, differentiable in ``r``.

    ``w=None`` is unit weights; ``s`` (shape (k,)) scales each column before
    squaring, so that residuals of order 1e-160 do not underflow.
    """
    if not _needs_graph(r):
        return _weighted_squares(r, w, s)
    return _WeightedSquares.apply(r, w, s)


def _weighted_squares(r, w, s):
    squares = r * s
    squares.mul_(squares)
    if w is not None:
        squares.mul_(w[:, None])
    return squares.sum(0)


def column_moments(X, w, block_bytes=1 << 24, float64=False, scale=None, shift=None):
    """Weighted column sums of ``(X - shift) / scale`` and of its squares (float64), reading X once.

    Dense X is read in blocks of at most ``block_bytes``, so the squares
    never need a copy of the whole of X; sparse X squares its non-zeros only.
    ``float64=True`` squares each block in float64 (no float32 overflow);
    ``scale`` (per column, float64, dense X only) divides each block first,
    so that squares of values of order 1e-160 do not underflow. ``shift``
    (per column, float64; needs ``float64=True``) is subtracted first: sums
    of squares about a column's mean keep a spread of 1e-3 on values of
    1e6, which the difference of uncentred sums loses to rounding.

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._data import column_moments
    >>> X = torch.tensor([[1e6 + 1e-3], [1e6 - 1e-3]], dtype=torch.float64)
    >>> column_moments(X, torch.ones(2), float64=True, shift=torch.tensor([1e6], dtype=torch.float64))[1]
    tensor([2.0000e-06], dtype=torch.float64)
    """
    if X.layout != torch.strided and shift is not None:
        return _sparse_shifted_moments(X, w, shift)
    if X.layout != torch.strided:
        squares = torch.sparse_csr_tensor(
            X.crow_indices(), X.col_indices(), X.values() ** 2, X.shape,
            check_invariants=False,
        )
        first, second = matmul_t(X, w[:, None]), matmul_t(squares, w[:, None])
        return first[:, 0].double(), second[:, 0].double()
    n_rows, n_cols = X.shape
    step = max(1, block_bytes // max(1, n_cols * X.element_size()))
    if n_rows <= step:
        # One block: the sums themselves (no accumulators, whose additions
        # to zero are exact: the same values, in half the torch operations).
        return _block_moments(X, w, float64, scale, shift)
    first = torch.zeros(n_cols, dtype=torch.float64, device=X.device)
    second = torch.zeros_like(first)
    for start in range(0, n_rows, step):
        block_first, block_second = _block_moments(
            X[start : start + step], w[start : start + step], float64, scale, shift)
        first += block_first
        second += block_second
    return first, second


def _block_moments(block, weights, float64, scale, shift):
    if float64:
        block, weights = block.double(), weights.double()
    if shift is not None:
        block = block - shift
    if scale is not None:
        block = block / scale
    return (weights @ block).double(), (weights @ (block * block)).double()


def _sparse_shifted_moments(X, w, shift):
    """:func:`column_moments` of a CSR ``X`` about ``shift``, in float64.

    A column's implicit zeros each deviate by ``-shift``: they enter through
    their total weight, the rows' weight less that of the column's stored
    entries (exactly zero where every row stores one).
    """
    crow, col, values = X.crow_indices(), X.col_indices(), X.values()
    n_rows, n_cols = X.shape
    w = w.double()
    row_weight = torch.repeat_interleave(w, crow[1:] - crow[:-1])
    deviation = values.double() - shift[col]
    zeros = torch.zeros(n_cols, dtype=torch.float64, device=X.device)
    first = zeros.index_add(0, col, row_weight * deviation)
    second = zeros.index_add(0, col, row_weight * deviation**2)
    stored = zeros.index_add(0, col, row_weight)
    full = torch.bincount(col, minlength=n_cols) == n_rows
    zero_weight = torch.where(full, 0.0, (w.sum() - stored).clamp(min=0.0))
    return first - zero_weight * shift, second + zero_weight * shift**2


def matmul_t(X, R):
    """Return ``X.T @ R`` for a (n, k) ``R``, without forming ``X.T`` densely.

    For a row-major dense X, as ``(R.T @ X).T``: BLAS streams X about eight
    times faster that way (1,000,000 x 100 float32, 2 columns in R: 56 ms
    against 420 ms a product).
    """
    if X.layout != torch.strided:
        return torch.sparse.mm(X.t(), R)
    return (R.T @ X).T


def take_rows(X, rows):
    """Dense copy of the rows ``rows`` of ``X`` (a sketch or a mini-batch)."""
    if X.layout == torch.strided:
        return X[rows]
    # CSR: gather each selected row's non-zeros and scatter them into place.
    crow, col, values = X.crow_indices(), X.col_indices(), X.values()
    starts, ends = crow[rows], crow[rows + 1]
    counts = ends - starts
    out_row = torch.repeat_interleave(torch.arange(len(rows), device=X.device), counts)
    first = torch.repeat_interleave(starts - torch.cumsum(counts, 0) + counts, counts)
    positions = first + torch.arange(int(counts.sum()), device=X.device)
    dense = torch.zeros(len(rows), X.shape[1], dtype=X.dtype, device=X.device)
    dense.index_put_((out_row, col[positions].long()), values[positions], accumulate=True)
    return dense
