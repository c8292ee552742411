"""A CountSketch of the weighted rows of X, computed in one pass.

The preconditioner needs a short matrix ``S @ diag(sqrt(w)) @ X`` whose
Gram matrix approximates that of every row and, above all, whose row space
is X's: then the directions it finds singular are X's null space, and the
minimum-norm solution is reachable at any size. Sampling rows does not have
that property (a rare category, or a few dominant weights, is simply not
drawn); a CountSketch does: every row is added, with a random sign, into
one of ``size`` buckets (Clarkson & Woodruff, "Low rank approximation and
regression in input sparsity time", STOC 2013).

Row ``i`` of chunk ``t`` (chunks of ``size`` consecutive rows) goes to bucket
``(i + offset_t) mod size``: rows of one chunk never collide, and the
buckets of two chunks are a random rotation of each other. For dense X this
is two fused multiply-adds of slices per chunk instead of a scatter
(measured on 1M x 100 float32, 2 cores: 0.09-0.11 s, rows rounded in
float64, about one matrix-vector product; a scatter with ``index_add_``
took 0.3 s).
"""

import torch

from ._data import column_moments

# Dense X of at most this many bytes is sketched from one float64 copy;
# larger X chunk by chunk through a reused float64 buffer (:func:`_dense`),
# never copied whole.
WHOLE_BYTES = 8 << 20


def count_sketch(X, Y, w, size, generator, start=0, n_total=None):
    """Sketch ``sqrt(w) * [X, Y, 1]`` into ``size`` rows; sum ``w * X`` and ``w * X**2``.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
        Dense or sparse CSR; read once, never copied whole.
    Y : Tensor of shape (n_samples, n_targets)
    w : Tensor of shape (n_samples,)
        Non-negative weights (at most 1: scaled by the caller, so that
        square roots neither overflow nor underflow).
    size : int
        Rows of the sketch.
    generator : torch.Generator
        CPU generator of the signs and offsets.
    start, n_total : int, default=0 and None (``n_samples``)
        Where these rows start among ``n_total`` (a shard of a data set
        spread over processes): each process draws the signs and offsets of
        all rows and uses its own, so the sum of the shards' sketches is the
        sketch one process would compute from all rows.

    Returns
    -------
    SX : Tensor of shape (size, n_features), float64
    SY : Tensor of shape (size, n_targets), float64
    Sr : Tensor of shape (size,), float64
        The sketch of ``sqrt(w)`` itself, with the same signs, so that the
        caller centres the sketch exactly: ``S (X - 1 m) = SX - Sr m``.
    x_sums, x_squares : Tensor of shape (n_features,), float64
        ``w @ X`` and ``w @ X**2``, summed in float64 (pairwise within a
        chunk, accumulated across chunks):
        the column means, and the size of the terms every sketch row sums
        (the scale of its rounding, which the sketch's own norms can hide
        when rows of large weight cancel in one bucket).

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._sketch import count_sketch
    >>> X = torch.arange(12.0).reshape(6, 2); w = torch.ones(6, dtype=torch.float64)
    >>> SX, SY, Sr, sums, squares = count_sketch(X, X[:, :1], w, 4, torch.Generator().manual_seed(0))
    >>> SX.shape, sums.tolist()
    (torch.Size([4, 2]), [30.0, 36.0])
    """
    n_samples, n_features = X.shape
    n_total = n_samples if n_total is None else n_total
    device = X.device
    f64 = dict(dtype=torch.float64, device=device)
    # One byte a row (the signs of all rows are drawn, so that a shard's
    # are those one process would give them).
    signs = torch.randint(0, 2, (n_total,), generator=generator, dtype=torch.int8)
    signs = (2 * signs[start : start + n_samples] - 1).to(device)
    offsets = torch.randint(0, size, ((n_total + size - 1) // size,), generator=generator)
    unit = bool((w == 1).all())

    if X.layout != torch.strided:
        SX = torch.zeros(size, n_features, **f64)
        SY = torch.zeros(size, Y.shape[1], **f64)
        Sr = torch.zeros(size, **f64)
        root = signs.double() if unit else signs * torch.sqrt(w.double())
        buckets = _buckets(start, n_samples, size, offsets.to(device))
        _scatter_csr(SX, X, root, buckets)
        x_sums = torch.zeros(n_features, **f64).index_add_(
            0, X.col_indices().long(), X.values().double() * w.double()[_row_of(X)]
        )
        x_squares = column_moments(X, w.to(X.dtype))[1]
        SY.index_add_(0, buckets, Y.double() * root[:, None])
        Sr.index_add_(0, buckets, root)
        return SX, SY, Sr, x_sums, x_squares
    return _dense(X, Y, None if unit else w.double(), signs, size,
                  _pieces(start, n_samples, size, offsets.tolist()))


def _pieces(start, n_samples, size, offsets):
    """``(rows, offset)``: runs of local rows within one chunk of the global row order.

    Row ``start + i`` of chunk ``t`` goes to bucket ``((start + i) % size +
    offsets[t]) % size``; ``offset`` is the bucket of the run's first row.
    """
    pieces, first = [], 0
    while first < n_samples:
        row = start + first
        last = min(n_samples, first + size - row % size)
        pieces.append((slice(first, last), (row % size + offsets[row // size]) % size))
        first = last
    return pieces


def _dense(X, Y, w, signs, size, pieces):
    """:func:`count_sketch` of dense X, rounded in float64 whatever X's dtype.

    ``[X, Y, 1]`` is copied into a float64 buffer: whole when X has at most
    :data:`WHOLE_BYTES` (20,000 x 20: 10 chunks, 0.9 ms in a loop of
    per-chunk operations, ~0.4 ms this way), else chunk by chunk into one
    reused buffer (never a float64 copy of X; a fresh buffer per chunk
    would cost page faults). The column moments are summed from the
    buffer, pairwise (a BLAS product sums sequentially, ~n eps in the
    centring), and each chunk is one fused multiply-add by its signed root
    weights into its rotation of the sketch. Float32 rows rounded in
    float32 (as before) left the means of a column around 1e6 ~0.4 off,
    and a spread of 1 about them was judged constant.
    """
    n_samples, n_features = X.shape
    f64 = dict(dtype=torch.float64, device=X.device)
    root = (signs.double() if w is None else signs * torch.sqrt(w))[:, None]
    if X.numel() * X.element_size() <= WHOLE_BYTES:
        loads = [(slice(0, n_samples), pieces)]
    else:
        loads = [(piece, [(piece, offset)]) for piece, offset in pieces]
    width = max(load.stop - load.start for load, _ in loads)
    buffer = torch.empty(width, n_features + Y.shape[1] + 1, **f64)
    buffer[:, -1] = 1.0
    scratch = torch.empty(width, n_features, **f64)
    stacked = torch.zeros(size, buffer.shape[1], **f64)
    x_sums = torch.zeros(n_features, **f64)
    x_squares = torch.zeros(n_features, **f64)
    for load, inside in loads:
        rows = buffer[: load.stop - load.start]
        rows[:, :n_features] = X[load]
        rows[:, n_features:-1] = Y[load]
        sums, squares = _moments(rows[:, :n_features], None if w is None else w[load],
                                 scratch[: rows.shape[0]])
        x_sums += sums
        x_squares += squares
        for piece, offset in inside:
            local = slice(piece.start - load.start, piece.stop - load.start)
            _add_rotated(stacked, rows[local], offset, root[piece])
    return _split(stacked, n_features, x_sums, x_squares)


def _split(stacked, n_features, x_sums, x_squares):
    # Contiguous: a data-parallel fit sums each across processes.
    return (stacked[:, :n_features].contiguous(), stacked[:, n_features:-1].contiguous(),
            stacked[:, -1].contiguous(), x_sums, x_squares)


def _moments(X, w, scratch=None):
    """``w @ X`` and ``w @ X**2`` of float64 rows (``w=None``: unit weights).

    Summed pairwise: a BLAS product sums sequentially and would carry ~n eps
    into the centring. ``scratch`` (X's shape) holds the products.
    """
    weighted = X if w is None else torch.mul(X, w[:, None], out=scratch)
    return weighted.sum(0), torch.mul(weighted, X, out=scratch).sum(0)


def _add_rotated(out, block, offset, factor):
    """``out[(i + offset) % size] += factor[i] * block[i]`` for the rows ``i`` of ``block``."""
    size = out.shape[0]
    head = min(block.shape[0], size - offset)
    out[offset : offset + head].addcmul_(block[:head], factor[:head])
    if head < block.shape[0]:
        out[: block.shape[0] - head].addcmul_(block[head:], factor[head:])


def _buckets(start, n_samples, size, offsets):
    rows = torch.arange(start, start + n_samples, device=offsets.device)
    return (rows % size + offsets[rows // size]) % size


def _row_of(X):
    """The row of each non-zero of CSR ``X``."""
    crow = X.crow_indices()
    return torch.repeat_interleave(torch.arange(X.shape[0], device=X.device), crow[1:] - crow[:-1])


def _scatter_csr(out, X, root, buckets):
    """Add each non-zero of CSR ``X``, times its row's signed root weight, into ``out``."""
    col, values = X.col_indices(), X.values()
    row_of = _row_of(X)
    out.index_put_(
        (buckets[row_of], col.long()), values.double() * root[row_of], accumulate=True
    )
