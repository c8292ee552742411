"""The fit reaches the same optimum whether every row or a sketch was decomposed.

The private knob ``_sketch_rows`` makes problems of a few dozen rows take
the branches of the preconditioner every data set above 2000 rows takes:
the normal equations of every row (small, narrow, well-conditioned data)
or, with ``_normal_equations`` off, a CountSketch of ~2p rows;
``_block_rows`` makes the engine's evaluations read X in blocks of a few
rows, the sketch takes its column moments chunk by chunk and the normal
equations sum blocks of 7 rows, as they read large X. Designs are the ones users
really have: one-hot blocks beside an intercept, duplicated, zero, constant
and shifted columns, more features than rows, weights spanning 1e20 with
zeros. The reference is the exact weighted minimum-norm solution computed in
float64 by :func:`numpy.linalg.lstsq` on the centred problem (ridge: on the
problem stacked with ``sqrt(alpha) I``).
"""

import warnings
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from _graded_reference import one_hot_basis, pair_basis, ridge
from strategies import one_torch_thread  # noqa: F401 (autouse fixture)

import skorch_lite._gram as gram_module
import skorch_lite._sketch as sketch_module
from skorch_lite import TorchLinearRegressor

DESIGNS = ["gaussian", "onehot", "duplicate", "zero", "constant", "shifted", "wide"]
# The preconditioner's paths: every row decomposed (below the sketch size),
# and above it the normal equations of every row (small, narrow, well
# conditioned data) or a sketch.
PATHS = ["every row", "normal equations", "sketch"]


def take(est, path):
    """Put a small problem on one of the preconditioner's paths, by private knobs."""
    if path != "every row":
        est._sketch_rows = 1  # the floor, 2 * n_features rows, unless that is every row
    # Else the sketch, as an ill-conditioned or rank-deficient design does anyway.
    est._normal_equations = path == "normal equations"
    return est


def design(kind, n, p, rng):
    """A design matrix of kind ``kind`` with about ``p`` columns, and its rank deficiency."""
    X = rng.normal(size=(n, p))
    if kind == "onehot":
        codes = rng.integers(0, p, n)
        codes[:p] = np.arange(p)  # every category present
        X = np.c_[np.eye(p)[codes], rng.normal(size=n)]
    elif kind == "duplicate":
        X = np.c_[X, X[:, :1]]
    elif kind == "zero":
        X = np.c_[X, np.zeros(n)]
    elif kind == "constant":
        X = np.c_[X, np.full(n, 3.0)]
    elif kind == "shifted":
        X = np.c_[X, X[:, :1] + 5.0]
    elif kind == "wide":
        X = rng.normal(size=(n, n + p))
    return X


def weights(kind, n, rng):
    if kind == "none":
        return None
    if kind == "uniform":
        return rng.uniform(0.5, 2.0, n)
    if kind == "heavy":
        # One dominant row: centring a one-hot block beside it cancels digits.
        w = np.ones(n)
        w[rng.integers(0, n)] = 10.0 ** rng.integers(4, 9)
        return w
    w = 10.0 ** rng.uniform(-10, 10, n)
    w[rng.integers(0, n, 3)] = 0.0
    w[rng.integers(0, n, 2)] = 1e20
    return w


def reference(X, y, w, alpha, fit_intercept=True):
    """Exact weighted (ridge) minimum-norm solution, float64, via lstsq."""
    w = np.ones(len(X)) if w is None else w
    Y = y.reshape(len(y), -1)
    if fit_intercept:
        x_mean, y_mean = w @ X / w.sum(), w @ Y / w.sum()
    else:
        x_mean, y_mean = np.zeros(X.shape[1]), np.zeros(Y.shape[1])
    root = np.sqrt(w)[:, None]
    A, B = root * (X - x_mean), root * (Y - y_mean)
    if alpha > 0 and X.shape[1] > 500:
        # The dual form: n x n, where stacking sqrt(alpha) I would be p x p
        # (accurate for unit weights; the stacked form below is for spans).
        coef = (A.T @ np.linalg.solve(A @ A.T + alpha * np.eye(len(A)), B)).T
    elif alpha > 0:
        A = np.r_[A, np.sqrt(alpha) * np.eye(X.shape[1])]
        B = np.r_[B, np.zeros((X.shape[1], Y.shape[1]))]
        coef = np.linalg.lstsq(A, B, rcond=1e-15)[0].T
    else:
        coef = np.linalg.lstsq(A, B, rcond=1e-10)[0].T
    intercept = y_mean - coef @ x_mean
    return coef, intercept


def objective(X, y, w, alpha, coef, intercept):
    w = np.ones(len(X)) if w is None else w
    Y = y.reshape(len(y), -1)
    R = Y - X @ coef.T - intercept
    return (w @ R**2).sum() + alpha * (coef**2).sum()


@given(
    kind=st.sampled_from(DESIGNS),
    n=st.integers(20, 60),
    p=st.integers(1, 5),
    weight_kind=st.sampled_from(["none", "uniform", "heavy", "span"]),
    alpha=st.one_of(st.just(0.0), st.floats(1e-3, 10.0)),
    path=st.sampled_from(PATHS),
    sparse=st.booleans(),
    n_targets=st.integers(1, 2),
    blocked=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_sketched_and_exact_fits_reach_the_minimum_norm_optimum(
    kind, n, p, weight_kind, alpha, path, sparse, n_targets, blocked, seed
):
    rng = np.random.default_rng(seed)
    X = design(kind, n, p, rng)
    y = X @ rng.normal(size=(X.shape[1], n_targets)) + rng.normal(size=(n, n_targets)) + 2.0
    y = y[:, 0] if n_targets == 1 else y
    w = weights(weight_kind, n, rng)
    est = TorchLinearRegressor(alpha=alpha, random_state=seed)
    take(est, path)
    if blocked:
        est._block_rows = 7  # evaluations read X in blocks, as above 8 MB
    # ... the sketch takes X's moments chunk by chunk, as above 8 MB, and
    # the normal equations sum blocks of rows, as above 2048 rows.
    with warnings.catch_warnings(record=True) as caught, mock.patch.object(
        sketch_module, "WHOLE_BYTES", 0 if blocked else sketch_module.WHOLE_BYTES
    ), mock.patch.object(gram_module, "BLOCK_ROWS", 7 if blocked else gram_module.BLOCK_ROWS):
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(sp.csr_matrix(X) if sparse else X, y, sample_weight=w)
    coef, intercept = reference(X, y, w, alpha)
    ours = objective(X, y, w, alpha, est.coef_.reshape(n_targets, -1), est.intercept_)
    best = objective(X, y, w, alpha, coef, intercept)
    if caught:
        # A sketch of 2p rows of weights spanning 1e30 can leave a Hessian
        # too far from the identity for L-BFGS: it may say so, never else.
        # (The normal equations leave such weights, and sparse X, to a sketch.)
        assert path != "every row" and weight_kind == "span", [str(c.message) for c in caught]
        return
    # "Converged" is a certificate: within tol (1e-8) of the optimum, relative,
    # down to the precision of the objective (a zero-loss optimum, p > n).
    mean_predictor = objective(X, y, w, alpha, np.zeros_like(coef), reference(X, y, w, 1e300)[1])
    assert ours <= best * (1 + 1e-7) + 1e-15 * mean_predictor
    if weight_kind == "span":
        return  # coefficients of rows weighted 1e-10 beside 1e20 are not determined
    # The same model: minimum-norm coefficients where the optimum is not unique.
    scale = max(np.abs(coef).max(), 1e-12)
    np.testing.assert_allclose(est.coef_.reshape(coef.shape), coef, rtol=0, atol=2e-4 * scale)


@given(
    kind=st.sampled_from(["duplicate", "onehot"]),
    exponent=st.integers(-150, 150),
    dependent_side=st.booleans(),
    n=st.integers(20, 60),
    alpha=st.floats(1e-3, 10.0),
    path=st.sampled_from(PATHS),
    sparse=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_dependent_columns_beside_columns_of_any_scale_reach_the_ridge_optimum(
    kind, exponent, dependent_side, n, alpha, path, sparse, seed
):
    # A duplicated pair, or a one-hot block beside the intercept, next to
    # columns 10^exponent times larger or smaller (the dependent columns
    # themselves scaled, with dependent_side): the basis of the penalized
    # problem lost the pair's direction from ~1e15 on. The reference solves
    # in the row space known by construction (lstsq drops the small columns).
    rng = np.random.default_rng(seed)
    s = 10.0**exponent
    x, z = rng.normal(size=(2, n))
    if kind == "duplicate":
        X, basis, scales = np.c_[x, x, z * s], pair_basis(3, s), np.array([1.0, 1.0, s])
    else:
        codes = rng.integers(0, 3, n)
        codes[:3] = np.arange(3)
        X = np.c_[np.eye(3)[codes], x * s]
        basis, scales = one_hot_basis(3, 4, s), np.array([1.0, 1.0, 1.0, s])
        basis[:3, :2] = np.eye(3)[:, :2] - 1.0 / 3  # not exact in binary: fine for a basis
    if dependent_side:  # the dependent columns are the extreme ones
        X, basis, scales = X / s, basis * s, scales / s
    y = x + z + rng.normal(size=n)
    est = TorchLinearRegressor(alpha=alpha, random_state=seed)
    take(est, path)
    est.fit(sp.csr_matrix(X) if sparse else X, y)
    coef, intercept = ridge(X, y, alpha, basis)
    ours = objective(X, y, None, alpha, est.coef_[None], est.intercept_)
    # Within tol (1e-8) of the optimum, as the test above (a sketch's L-BFGS stops there).
    assert ours <= objective(X, y, None, alpha, coef, intercept) * (1 + 1e-7)
    if not dependent_side:  # else the extreme columns' split is below the objective's precision
        np.testing.assert_allclose(est.coef_ * scales, coef[0] * scales, rtol=0,
                                   atol=2e-4 * np.abs(coef[0] * scales).max())


@given(
    kind=st.sampled_from(["gaussian", "onehot", "duplicate", "constant"]),
    n=st.integers(30, 60),
    p=st.integers(1, 4),
    path=st.sampled_from(PATHS),
    seed=st.integers(0, 2**16),
)
def test_float32_fits_reach_the_float64_optimum_to_float32_precision(kind, n, p, path, seed):
    rng = np.random.default_rng(seed)
    X = design(kind, n, p, rng)
    y = X @ rng.normal(size=X.shape[1]) + 0.1 * rng.normal(size=n)
    est = TorchLinearRegressor(random_state=seed)
    take(est, path)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    est.fit(X32, y32)
    coef, intercept = reference(X32.astype(float), y32.astype(float), None, 0.0)
    ours = objective(X32.astype(float), y32.astype(float), None, 0.0,
                     est.coef_[None].astype(float), est.intercept_)
    best = objective(X32.astype(float), y32.astype(float), None, 0.0, coef, intercept)
    assert ours <= best * (1 + 1e-4) + 1e-10 * (y**2).sum()


@given(
    x_exponent=st.integers(-150, 150),
    y_exponent=st.integers(-150, 150),
    w_exponent=st.integers(-150, 150),
    path=st.sampled_from(PATHS),
    seed=st.integers(0, 2**16),
)
def test_magnitudes_from_1e_150_to_1e150_fit_like_lstsq(
    x_exponent, y_exponent, w_exponent, path, seed
):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(40, 3))
    beta = np.array([1.0, -2.0, 0.5])
    y_base = base @ beta + 0.1 * rng.normal(size=40) + 1.0
    X, y = base * 10.0**x_exponent, y_base * 10.0**y_exponent
    w = rng.uniform(0.5, 2.0, 40) * 10.0**w_exponent
    # A tight tol, so that coefficients (not only the objective) are compared closely.
    est = TorchLinearRegressor(tol=1e-13, random_state=seed)
    take(est, path)
    est.fit(X, y, sample_weight=w)
    # The same problem in units where it is well scaled, scaled back.
    coef, intercept = reference(base, y_base, w / w.max(), 0.0)
    np.testing.assert_allclose(
        est.coef_ * 10.0 ** (x_exponent - y_exponent), coef[0], rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(est.intercept_ / 10.0**y_exponent, intercept[0], rtol=1e-6, atol=1e-9)


@given(
    kind=st.sampled_from(["gaussian", "onehot", "duplicate", "zero", "constant", "shifted"]),
    p=st.integers(1, 5),
    weight_kind=st.sampled_from(["none", "uniform", "heavy"]),
    alpha=st.one_of(st.just(0.0), st.floats(1e-3, 10.0)),
    fit_intercept=st.booleans(),
    n_targets=st.integers(1, 2),
    normal_equations=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_above_the_sketch_size_small_data_starts_lbfgs_at_the_optimum(
    kind, p, weight_kind, alpha, fit_intercept, n_targets, normal_equations, seed
):
    # The normal equations' solution, or the sketch's refined by conjugate
    # gradients on every row, meets the stopping rule: the one iteration
    # only checks it.
    n = 2500
    rng = np.random.default_rng(seed)
    X = design(kind, n, p, rng)
    y = X @ rng.normal(size=(X.shape[1], n_targets)) + rng.normal(size=(n, n_targets)) + 2.0
    w = weights(weight_kind, n, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = TorchLinearRegressor(alpha=alpha, fit_intercept=fit_intercept, random_state=seed)
        est._normal_equations = normal_equations
        est.fit(X, y, sample_weight=w)
    coef, intercept = reference(X, y, w, alpha, fit_intercept)
    ours = objective(X, y, w, alpha, est.coef_, est.intercept_)
    assert est.n_iter_ == 1
    assert ours <= objective(X, y, w, alpha, coef, intercept) * (1 + 1e-8)


@pytest.mark.parametrize("n", [2001, 20_000])
@pytest.mark.parametrize("kind", ["duplicate", "zero", "constant", "onehot"])
def test_rank_deficient_designs_above_the_sketch_size_give_the_minimum_norm_solution(kind, n):
    rng = np.random.default_rng(n)
    X = design(kind, n, 3, rng)
    y = X @ rng.normal(size=X.shape[1]) + rng.normal(size=n)
    coef, intercept = reference(X, y, None, 0.0)
    for X_in in (X, sp.csr_matrix(X)):
        est = TorchLinearRegressor(random_state=0).fit(X_in, y)
        np.testing.assert_allclose(est.coef_, coef[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(est.intercept_, intercept[0], rtol=1e-4, atol=1e-4 * y.std())


@pytest.mark.parametrize("n", [2001, 20_000])
def test_a_few_dominant_weights_do_not_stop_the_fit_above_the_sketch_size(n):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 2, (n, 5)).astype(float)
    y = X @ [1.0, 2, 3, 4, 5] + rng.normal(size=n)
    w = np.ones(n)
    w[:2] = 1e20
    coef, intercept = reference(X, y, w, 0.0)
    est = TorchLinearRegressor(random_state=0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, coef[0], rtol=1e-4)


def test_zero_weight_rows_are_dropped_rows_above_the_sketch_size():
    rng = np.random.default_rng(2)
    X = rng.integers(0, 2, (2001, 5)).astype(float)
    y = X @ [1.0, 2, 3, 4, 5] + rng.normal(size=2001)
    w = np.zeros(2001)
    w[:8] = rng.uniform(1, 2, 8)
    full = TorchLinearRegressor(random_state=0).fit(X, y, sample_weight=w)
    kept = TorchLinearRegressor(random_state=0).fit(X[:8], y[:8], sample_weight=w[:8])
    np.testing.assert_allclose(full.coef_, kept.coef_, rtol=1e-4, atol=1e-8)


def test_wide_sparse_ridge_fits_quickly_without_a_dense_square_matrix():
    X = sp.random(50, 4000, density=250 / 200_000, random_state=0, format="csr")
    y = np.random.default_rng(0).normal(size=50)
    est = TorchLinearRegressor(alpha=1.0).fit(X, y)
    coef, intercept = reference(X.toarray(), y, None, 1.0)
    np.testing.assert_allclose(est.coef_, coef[0], rtol=1e-4, atol=1e-6 * np.abs(coef).max())


def test_float32_directions_a_few_eps_apart_are_kept():
    rng = np.random.default_rng(3)
    a = rng.normal(size=1000)
    X = np.c_[a, a + 2e-5 * rng.normal(size=1000)].astype(np.float32)
    y = ((X[:, 1] - X[:, 0]) * 1e5).astype(np.float32)
    assert TorchLinearRegressor().fit(X, y).score(X, y) > 0.999


def test_targets_of_order_1e_158_fit_exactly():
    X = np.random.default_rng(4).normal(size=(100, 2))
    y = X @ [1.0, 2.0] * 1e-158
    est = TorchLinearRegressor().fit(X, y)
    np.testing.assert_allclose(est.coef_, [1e-158, 2e-158], rtol=1e-8)
    est = TorchLinearRegressor().fit(X * 1e-160, X @ [1.0, 2.0])
    np.testing.assert_allclose(est.coef_, [1e160, 2e160], rtol=1e-8)


@pytest.mark.parametrize("to_input", [np.asarray, sp.csr_matrix], ids=["dense", "csr"])
def test_features_of_order_1e160_above_the_sketch_size_fit(to_input):
    # Their squares overflow float64: the sketch's norms take another path.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=3000)
    coef, _ = reference(X, y, None, 0.0)
    est = TorchLinearRegressor(random_state=0).fit(to_input(X * 1e160), y)
    np.testing.assert_allclose(est.coef_ * 1e160, coef[0], rtol=1e-4)


@pytest.mark.parametrize("n", [1900, 2001, 20_000])
@pytest.mark.parametrize("weight", [1e6, 1e8])
def test_a_one_hot_block_beside_a_dominant_row_gives_the_minimum_norm_solution(n, weight):
    # The heavy row's category column is centred with ~5 digits cancelled:
    # its rounding must not pass for a direction (it did: coef_ ~ 1e6-1e9).
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, n)
    x = rng.normal(size=n)
    X = np.c_[np.eye(4)[codes], x]
    y = codes + 2 * x + rng.normal(size=n)
    w = np.ones(n)
    w[5] = weight
    coef, intercept = reference(X, y, w, 0.0)
    est = TorchLinearRegressor(random_state=1).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, coef[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(est.intercept_, intercept[0], rtol=1e-4)
