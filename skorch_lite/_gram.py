"""The centred Gram matrix of every row of small dense X, in one pass over its rows.

Above the sketch size, a fit's preconditioner sketches X, decomposes the
sketch and refines the sketch's solution on every row: about 13 passes over
X (20,000 x 20 float64: 3.2 ms of a 5.4 ms fit). For a few columns the
normal equations cost less: the Gram matrix of the centred rows, with the
targets beside them, is ``n p^2`` multiply-adds, summed block by block in a
scratch buffer that stays in cache. No centred copy of X is formed on a
CPU: a fresh temporary of X's size (3.2 MB) cost ~800 page faults, ~1 ms,
in a fit. Squaring the condition number is the price
(:func:`._precondition._full_rank_from_gram` only accepts singular values
within a factor 1000).
"""

import torch

# Rows of a block: 2,048 x (20 + 1) float64 is 344 kB, within a core's L2.
BLOCK_ROWS = 2048


def weighted_sums(X, w, block_rows=None):
    """``w @ X`` in float64, summed pairwise within blocks (``w=None``: unit weights).

    A BLAS product sums sequentially (~n eps: the centring of a one-hot
    block beside a heavy row then leaves its null space visible).
    """
    if w is None and X.dtype == torch.float64:
        return X.sum(0)
    n_rows, n_cols = X.shape
    block_rows = block_rows or _default_block_rows(X)
    sums = torch.zeros(n_cols, dtype=torch.float64, device=X.device)
    scratch = torch.empty(min(block_rows, n_rows), n_cols, dtype=torch.float64, device=X.device)
    for start in range(0, n_rows, block_rows):
        rows = slice(start, start + block_rows)
        block = scratch[: X[rows].shape[0]]
        block.copy_(X[rows])
        if w is not None:
            block.mul_(w[rows, None])
        sums += block.sum(0)
    return sums


def centred_gram(X, Y, root, x_mean, y_mean, block_rows=None):
    """``M^T M`` for ``M = [root (X - x_mean), root (Y - y_mean)]``, float64, of shape (p + k, p + k).

    ``root`` (n, 1) holds the square roots of the weights, or is None for
    unit weights. ``block_rows`` rows are centred at a time (default:
    :data:`BLOCK_ROWS` on a CPU).
    """
    n_rows, n_cols = X.shape
    block_rows = block_rows or _default_block_rows(X)
    if n_rows <= block_rows:
        # One block: the same products, in fewer torch operations.
        M = torch.cat([X - x_mean, Y - y_mean], 1)
        return M.T @ M if root is None else (M * root).T @ (M * root)
    width = n_cols + Y.shape[1]
    gram = torch.zeros(width, width, dtype=torch.float64, device=X.device)
    scratch = torch.empty(min(block_rows, n_rows), width, dtype=torch.float64, device=X.device)
    for start in range(0, n_rows, block_rows):
        rows = slice(start, start + block_rows)
        block = scratch[: X[rows].shape[0]]
        torch.sub(X[rows], x_mean, out=block[:, :n_cols])
        torch.sub(Y[rows], y_mean, out=block[:, n_cols:])
        if root is not None:
            block.mul_(root[rows])
        gram.addmm_(block.T, block)
    return gram


def _default_block_rows(X):
    # On a GPU each block would be a few kernel launches, and X of at most
    # SMALL_FIT_VALUES values is centred whole in a few megabytes.
    return BLOCK_ROWS if X.device.type == "cpu" else max(1, X.shape[0])
