"""The normal equations of every row (``_gram``) and the decomposition of a Gram matrix.

Above the sketch size, small dense X of few columns is decomposed whole
through its centred Gram matrix when that is well conditioned; otherwise the
preconditioner falls back to a sketch. Both must give the same fit: the
least-squares solution of every row.
"""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import skorch_lite._precondition as precondition
from skorch_lite._gram import centred_gram, weighted_sums
from skorch_lite._precondition import fit_preconditioner


@given(
    n=st.integers(1, 50),
    p=st.integers(1, 4),
    k=st.integers(1, 2),
    float32=st.booleans(),
    weighted=st.booleans(),
    block_rows=st.integers(1, 60),
    seed=st.integers(0, 2**16),
)
def test_the_centred_gram_and_the_sums_are_those_of_the_rows(
    n, p, k, float32, weighted, block_rows, seed
):
    rng = np.random.default_rng(seed)
    dtype = torch.float32 if float32 else torch.float64
    X = torch.from_numpy(rng.normal(size=(n, p)) * 10.0 ** rng.integers(-3, 4, p) + 5).to(dtype)
    Y = torch.from_numpy(rng.normal(size=(n, k))).to(dtype)
    w = torch.from_numpy(rng.uniform(0, 2, n)) if weighted else None
    sums = weighted_sums(X, w, block_rows)
    expected = (torch.ones(n, dtype=torch.float64) if w is None else w) @ X.double()
    torch.testing.assert_close(sums, expected, rtol=1e-12, atol=0)
    x_mean, y_mean = X.double().mean(0), Y.double().mean(0)
    root = None if w is None else torch.sqrt(w)[:, None]
    M = torch.cat([X.double() - x_mean, Y.double() - y_mean], 1)
    M = M if root is None else M * root
    before = X.clone()
    gram = centred_gram(X, Y, root, x_mean, y_mean, block_rows)
    assert gram.dtype == torch.float64 and torch.equal(X, before)
    torch.testing.assert_close(gram, M.T @ M, rtol=1e-12, atol=1e-12 * float((M**2).sum()))


def test_a_well_conditioned_gram_matrix_gives_the_svd():
    A = torch.from_numpy(np.random.default_rng(0).normal(size=(300, 6)))
    D = 1 / torch.linalg.vector_norm(A, dim=0)
    _, S, V, rank = precondition._full_rank_from_gram(
        precondition._scaled_gram(A, D), torch.float64, 1.0, 300)
    _, S_ref, Vh = torch.linalg.svd(A * D, full_matrices=False)
    assert rank == 6
    torch.testing.assert_close(S, S_ref, rtol=1e-12, atol=0)
    # The same singular vectors, up to sign.
    torch.testing.assert_close((V * Vh.T).sum(0).abs(), torch.ones(6, dtype=torch.float64))


@pytest.mark.parametrize("spread", [1e-2, 1e-4])
def test_singular_values_more_than_1000_apart_are_left_to_the_svd(spread):
    A = torch.from_numpy(np.random.default_rng(0).normal(size=(300, 3)))
    A[:, 2] = A[:, 0] + spread * A[:, 2]  # cond ~ 1 / spread
    D = 1 / torch.linalg.vector_norm(A, dim=0)
    got = precondition._full_rank_from_gram(precondition._scaled_gram(A, D), torch.float64,
                                            1.0, 300)
    assert (got is None) == (spread < 1e-3)


def _problem(kind, n=3000, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    if kind == "ill":
        X[:, -1] = X[:, 0] + 1e-5 * X[:, -1]
    elif kind == "constant":
        X[:, -1] = 3.0
    elif kind == "duplicate":
        X[:, -1] = X[:, 0]
    elif kind == "offset":
        X = X + 1e6
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    return (X * 1e160 if kind == "huge" else X), y


@pytest.mark.parametrize("kind, through_gram", [
    ("gaussian", True), ("offset", True), ("ill", False), ("constant", False),
    ("duplicate", False), ("huge", False),
])
@pytest.mark.parametrize("weighted", [False, True])
def test_above_the_sketch_size_the_normal_equations_or_else_a_sketch_give_the_lstsq_start(
    kind, through_gram, weighted
):
    X, y = _problem(kind)
    w = np.random.default_rng(1).uniform(0.5, 2, len(y)) if weighted else np.ones(len(y))
    precond = fit_preconditioner(
        torch.from_numpy(X), torch.from_numpy(y)[:, None], torch.from_numpy(w), alpha=0.0,
        fit_intercept=True, sketch_size=2000, generator=torch.Generator().manual_seed(0),
        refine=1e-12, gram=True, normal_equations=True)
    assert precond.exact == through_gram
    coef = precond.coefficients(precond.theta0, torch.zeros(1, dtype=torch.float64))[0][0]
    coef = coef.numpy()
    root = np.sqrt(w)[:, None]
    Xc = X - np.average(X, axis=0, weights=w)
    yc = y - np.average(y, weights=w)
    ref = np.linalg.lstsq(Xc * root, yc * root[:, 0], rcond=None)[0]
    def objective(c):
        return float(w @ (yc - Xc @ c) ** 2)

    if through_gram:
        np.testing.assert_allclose(coef, ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())
    # The sketch's start, refined on every row within tol (of the objective).
    assert objective(coef) <= objective(ref) * (1 + 1e-11)


def test_the_normal_equations_are_not_tried_on_wide_sparse_or_distributed_data(monkeypatch):
    calls = []
    monkeypatch.setattr(precondition, "_every_row_through_gram",
                        lambda *a: calls.append(1))
    X, y = _problem("gaussian", p=precondition.GRAM_FEATURES + 1)
    args = dict(alpha=0.0, fit_intercept=True, sketch_size=2000,
                generator=torch.Generator().manual_seed(0), gram=True)
    Xt, Yt, w = torch.from_numpy(X), torch.from_numpy(y)[:, None], torch.ones(len(y)).double()
    fit_preconditioner(Xt, Yt, w, normal_equations=True, **args)
    fit_preconditioner(Xt[:, :4].to_sparse_csr(), Yt, w, normal_equations=True, **args)
    fit_preconditioner(Xt[:, :4], Yt, w, normal_equations=False, **args)
    assert calls == []
    fit_preconditioner(Xt[:, :4], Yt, w, normal_equations=True, **args)
    assert calls == [1]


def test_a_gpu_centres_x_whole_and_a_cpu_in_blocks_that_stay_in_cache():
    from skorch_lite._gram import BLOCK_ROWS, _default_block_rows

    assert _default_block_rows(torch.zeros(10 * BLOCK_ROWS, 3)) == BLOCK_ROWS
    # Another device (meta stands in for CUDA here): one block of every row.
    assert _default_block_rows(torch.zeros(10 * BLOCK_ROWS, 3, device="meta")) == 10 * BLOCK_ROWS
