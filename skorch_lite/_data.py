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
