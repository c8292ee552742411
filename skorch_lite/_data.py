"""The few operations the engine performs on X, in one place.

X is only ever read: multiplied by a small matrix, averaged over rows, or
sampled row by row. Keeping these here lets other storage formats (sparse
tensors) plug in without the engine knowing.
"""

import torch


def matmul(X, B):
    """Return ``X @ B`` for a (n, p) ``X`` and a small (p, k) ``B``."""
    if X.layout != torch.strided:
        return torch.sparse.mm(X, B)
    return X @ B


def column_moments(X, w, block_bytes=1 << 24):
    """Weighted column sums of ``X`` and of ``X**2`` (float64), reading X once.

    Dense X is read in blocks of at most ``block_bytes``, so the squares
    never need a copy of the whole of X; sparse X squares its non-zeros only.
    """
    if X.layout != torch.strided:
        squares = torch.sparse_csr_tensor(
            X.crow_indices(), X.col_indices(), X.values() ** 2, X.shape,
            check_invariants=False,
        )
        first, second = matmul_t(X, w[:, None]), matmul_t(squares, w[:, None])
        return first[:, 0].double(), second[:, 0].double()
    n_rows, n_cols = X.shape
    step = max(1, block_bytes // max(1, n_cols * X.element_size()))
    first = torch.zeros(n_cols, dtype=torch.float64, device=X.device)
    second = torch.zeros_like(first)
    for start in range(0, n_rows, step):
        block, weights = X[start : start + step], w[start : start + step]
        first += (weights @ block).double()
        second += (weights @ (block * block)).double()
    return first, second


def matmul_t(X, R):
    """Return ``X.T @ R`` for a (n, k) ``R``, without forming ``X.T`` densely."""
    if X.layout != torch.strided:
        return torch.sparse.mm(X.t(), R)
    return X.T @ R


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
