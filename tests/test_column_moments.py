"""Weighted column moments read X in blocks; one block or many give the same sums.

:func:`skorch_lite._data.column_moments` sums a single block directly and
accumulates several in float64. ``block_bytes`` forces the second branch
on small generated problems; the reference is numpy in float64 (exact
enough here: the values are of moderate size).
"""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from skorch_lite._data import column_moments


@given(
    n=st.integers(1, 60), p=st.integers(1, 4),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    float64=st.booleans(), scaled=st.booleans(), shifted=st.booleans(),
    block_rows=st.integers(1, 70), seed=st.integers(0, 2**16),
)
def test_moments_in_one_block_or_many_are_the_weighted_sums(n, p, dtype, float64, scaled,
                                                           shifted, block_rows, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * 10.0 ** rng.integers(-3, 4, p) + rng.normal(size=p)
    w = rng.random(n) * (rng.random(n) < 0.8)
    scale = np.abs(rng.normal(size=p)) + 0.5 if scaled else None
    shift = rng.normal(size=p) if shifted else None
    float64 = float64 or shifted or scaled  # a scale or shift is float64: so are the blocks
    X_t, w_t = torch.tensor(X, dtype=dtype), torch.tensor(w, dtype=dtype)
    kwargs = dict(float64=float64,
                  scale=None if scale is None else torch.tensor(scale, dtype=torch.float64),
                  shift=None if shift is None else torch.tensor(shift, dtype=torch.float64))
    block_bytes = block_rows * p * X_t.element_size()
    first, second = column_moments(X_t, w_t, block_bytes=block_bytes, **kwargs)
    whole_first, whole_second = column_moments(X_t, w_t, **kwargs)

    Z = X_t.double().numpy()
    Z = Z - (0 if shift is None else shift)
    Z = Z / (1 if scale is None else scale)
    weights = w_t.double().numpy()
    eps = torch.finfo(torch.float64 if float64 else dtype).eps
    size_1 = np.abs(weights) @ np.abs(Z)
    size_2 = np.abs(weights) @ Z**2
    for got, whole, want, size in ((first, whole_first, weights @ Z, size_1),
                                   (second, whole_second, weights @ Z**2, size_2)):
        assert got.dtype == torch.float64
        tol = 4 * n * eps * size + 1e-300
        assert np.all(np.abs(got.numpy() - want) <= tol)
        assert np.all(np.abs(got.numpy() - whole.numpy()) <= 2 * tol)
