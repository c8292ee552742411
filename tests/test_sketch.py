"""The CountSketch is the sketch its docstring defines, whichever way its moments are summed.

Small dense X has its column moments taken whole; larger X chunk by chunk
while each chunk is in cache (``WHOLE_BYTES``, set to 0 here to put small
problems on that path). Both must give ``S diag(sqrt(w)) [X, Y, 1]`` for
the explicit sparse sign matrix ``S`` of the bucket rule, and ``w @ X``,
``w @ X**2``; so must a shard of the rows, which sketches its rows as one
process would.
"""

from unittest import mock

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

import skorch_lite._sketch as sketch
from skorch_lite._sketch import count_sketch


def explicit_sketch(n_total, size, seed):
    """The dense ``size x n_total`` matrix S: row g's sign in bucket (g % size + offset) % size."""
    generator = torch.Generator().manual_seed(seed)
    signs = 2 * torch.randint(0, 2, (n_total,), generator=generator, dtype=torch.int8).double() - 1
    offsets = torch.randint(0, size, ((n_total + size - 1) // size,), generator=generator)
    S = torch.zeros(size, n_total, dtype=torch.float64)
    rows = torch.arange(n_total)
    S[(rows % size + offsets[rows // size]) % size, rows] = signs
    return S


@given(
    n=st.integers(1, 90),
    p=st.integers(1, 4),
    k=st.integers(1, 2),
    size=st.integers(1, 30),
    float32=st.booleans(),
    unit=st.booleans(),
    before=st.integers(0, 40),
    after=st.integers(0, 40),
    chunked=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_the_sketch_and_moments_are_those_of_the_explicit_sign_matrix(
    n, p, k, size, float32, unit, before, after, chunked, seed
):
    rng = np.random.default_rng(seed)
    dtype = torch.float32 if float32 else torch.float64
    X = torch.from_numpy(rng.normal(size=(n, p)) * 10.0 ** rng.integers(-3, 4, p)).to(dtype)
    Y = torch.from_numpy(rng.normal(size=(n, k))).to(dtype)
    w = torch.ones(n, dtype=torch.float64) if unit else torch.from_numpy(rng.uniform(0, 1, n))
    n_total = before + n + after
    whole = 0 if chunked else sketch.WHOLE_BYTES
    with mock.patch.object(sketch, "WHOLE_BYTES", whole):
        SX, SY, Sr, sums, squares = count_sketch(
            X, Y, w, size, torch.Generator().manual_seed(seed), start=before, n_total=n_total)
    S = explicit_sketch(n_total, size, seed)[:, before : before + n]
    root = torch.sqrt(w)[:, None]
    Xd, Yd = X.double(), Y.double()
    # Rows are rounded in float64 whatever X's dtype (float32 data were
    # rounded at eps32, and a column around 1e6 lost its spread): a bucket
    # sums at most a term per chunk, each rounded once.
    eps = torch.finfo(torch.float64).eps * (n // size + 2)
    bound = 4 * eps * (S.abs() @ (root * Xd.abs())) + 1e-300
    assert SX.dtype == SY.dtype == Sr.dtype == sums.dtype == squares.dtype == torch.float64
    assert bool(((SX - S @ (root * Xd)).abs() <= bound).all())
    assert bool(((SY - S @ (root * Yd)).abs() <= 4 * eps * (S.abs() @ (root * Yd.abs())) + 1e-300).all())
    assert bool(((Sr - S @ root[:, 0]).abs() <= 4 * eps * (S.abs() @ root[:, 0])).all())
    scale = n * torch.finfo(torch.float64).eps
    assert bool(((sums - w @ Xd).abs() <= 4 * scale * (w @ Xd.abs())).all())
    assert bool(((squares - w @ Xd**2).abs() <= 4 * scale * (w @ Xd**2)).all())


def test_small_x_takes_its_moments_whole_and_large_x_chunk_by_chunk(monkeypatch):
    calls = []
    original = sketch._moments
    monkeypatch.setattr(sketch, "_moments", lambda X, *a: calls.append(X.shape[0]) or original(X, *a))
    X = torch.ones(50, 2, dtype=torch.float64)
    args = (X, X[:, :1], torch.ones(50, dtype=torch.float64), 20, torch.Generator())
    count_sketch(*args)
    assert calls == [50]
    calls.clear()
    monkeypatch.setattr(sketch, "WHOLE_BYTES", X.numel() * 8 - 1)
    count_sketch(*args)
    assert calls == [20, 20, 10]
