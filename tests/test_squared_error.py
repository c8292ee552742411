"""The squared-error objective's closed-form gradient is autograd's, on every kind of problem.

The engine evaluates full batches with :meth:`Objective.value_and_grad`
(no autograd graph: on small data the graph cost several times the
arithmetic); mini-batches still go through :meth:`Objective.forward` and
autograd. Both must agree on values and gradients wherever the engine runs:
dense and sparse X, float32 and float64, weights with zeros, a penalty or
none, several targets, targets of order 1e-150 to 1e150, an intercept or
none, a sketch's preconditioner or every row's, X in one piece or in blocks.
"""

import numpy as np
import scipy.sparse as sp
import torch
from hypothesis import given, strategies as st

from skorch_lite._squared_error import Objective
from skorch_lite._inputs import sparse_as_tensor
from skorch_lite._penalty import L2
from skorch_lite._precondition import fit_preconditioner


def _autograd(objective, theta, gamma):
    params = [theta.clone().requires_grad_(), gamma.clone().requires_grad_()]
    terms, residual = objective.forward(params)
    terms.sum().backward()
    return terms.detach(), residual.detach(), [p.grad for p in params]


@given(
    n=st.integers(3, 40), p=st.integers(1, 6), k=st.integers(1, 3),
    dtype=st.sampled_from([torch.float64, torch.float32]),
    sparse=st.booleans(), weighted=st.booleans(), fit_intercept=st.booleans(),
    alpha=st.sampled_from([0.0, 1e-3, 2.5]), y_decade=st.sampled_from([-150, -3, 0, 4, 150]),
    sketch=st.booleans(), block_rows=st.sampled_from([None, 1, 7]), seed=st.integers(0, 2**16),
)
def test_closed_form_value_and_gradient_equal_autograd(n, p, k, dtype, sparse, weighted,
                                                       fit_intercept, alpha, y_decade, sketch,
                                                       block_rows, seed):
    if dtype == torch.float32:
        y_decade = max(min(y_decade, 15), -15)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * 10.0 ** rng.integers(-2, 3, p)
    if sparse:
        X[rng.random((n, p)) < 0.5] = 0.0
    Y = (X @ rng.standard_normal((p, k)) + rng.standard_normal((n, k))) * 10.0**y_decade
    w = rng.random(n) * (rng.random(n) < 0.8) if weighted else np.ones(n)
    w[0] = 1.0
    X_t = (sparse_as_tensor(sp.csr_matrix(X.astype(np.float32 if dtype == torch.float32
                                                   else np.float64)), torch.device("cpu"))
           if sparse else torch.tensor(X, dtype=dtype))
    Y_t, w_t = torch.tensor(Y, dtype=dtype), torch.tensor(w, dtype=dtype)
    precond = fit_preconditioner(
        X_t, Y_t, w_t, alpha=alpha, fit_intercept=fit_intercept,
        sketch_size=max(2, n // 3) if sketch else 2000,
        generator=torch.Generator().manual_seed(seed))
    # block_rows: dense X read in blocks (the path of X above 8 MB).
    objective = Objective(X_t, Y_t, w_t, precond, L2(alpha), block_rows=block_rows)
    gen = torch.Generator().manual_seed(seed)
    theta = precond.theta0 + torch.randn(precond.theta0.shape, generator=gen, dtype=torch.float64
                                         ).to(dtype)
    gamma = torch.randn(k, generator=gen, dtype=torch.float64).to(dtype)

    terms, residual, grads = objective.value_and_grad([theta, gamma])
    want_terms, want_residual, want_grads = _autograd(objective, theta, gamma)

    # Every sum cancels (X's centring, a residual's terms): each is accurate
    # to eps of the sum of its terms' magnitudes, not of its result. The two
    # paths form the residuals in other products (a block's or the whole),
    # so their rounding (eps of the terms that form them) carries into the
    # objective and the gradient.
    eps, tiny = torch.finfo(dtype).eps, torch.finfo(dtype).tiny
    beta, coef, offset = objective._affine_map(theta, gamma)
    size = (_dense(X_t).abs() @ coef.abs() + offset.abs() + Y_t.abs()).double()
    assert bool(((residual - want_residual).abs() <= 16 * eps * size + tiny).all())
    tolerances = _tolerances(objective, want_residual, 16 * eps * size, beta, eps)
    for got, want, tolerance in zip([terms, *grads], [want_terms, *want_grads], tolerances):
        assert bool(((got - want).abs() <= tolerance + tiny).all()), (
            float((got - want).abs().max()), float(tolerance.max()))


def _dense(X):
    return X.to_dense() if X.layout != torch.strided else X


def _tolerances(objective, residual, error, beta, eps):
    """How far the objective and gradient of two correct paths may differ (float64).

    64 eps of each sum's terms' magnitudes (the rounding of the sums), plus
    the residuals' own rounding ``error`` carried through the squares and
    the products with X.
    """
    pre, f64 = objective.precond, torch.float64
    s = 1 / pre.y_scale.to(f64)
    w = objective.w.to(f64)[:, None]
    norm, alpha = float(objective.norm), objective.penalty.alpha
    r, beta = residual.to(f64).abs(), beta.to(f64).abs()
    squares = norm * (((r * s) ** 2 * w).sum(0) + alpha * (beta**2).sum(0))
    carried = norm * ((2 * r + error) * error * s**2 * w).sum(0)
    y_scale = pre.y_scale.to(f64)
    X = _dense(objective.X).to(f64).abs()

    def through(G, penalty):
        g_sum = G.sum(0) * y_scale
        g_beta = (X.T @ G) * y_scale + pre.x_mean.to(f64).abs()[:, None] * g_sum + penalty
        return [pre.transform.to(f64).abs().T @ g_beta, abs(pre.intercept_scale) * g_sum]

    rounding = through(2 * norm * s**2 * w * r, 2 * norm * alpha * beta)
    propagated = through(2 * norm * s**2 * w * error, 0.0)
    return [64 * eps * squares + carried,
            *(64 * eps * a + b for a, b in zip(rounding, propagated))]


def test_only_dense_x_on_a_cpu_with_more_rows_than_a_block_is_read_in_blocks():
    from skorch_lite._squared_error import reads_in_blocks

    dense = torch.zeros(10, 3)
    assert reads_in_blocks(dense, 4) and not reads_in_blocks(dense, 10)
    assert not reads_in_blocks(dense.to_sparse_csr(), 4)
    # Another device (a GPU; "meta" stands in for one here) reads X whole:
    # blocks sized for a CPU cache would be thousands of kernel launches.
    assert not reads_in_blocks(torch.zeros(10, 3, device="meta"), 4)
