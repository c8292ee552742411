"""Conjugate gradients from the sketch's start reach the optimum of the standardized problem.

:func:`refined_start` solves the normal equations of the standardized
(ridge) least-squares problem in the preconditioner's variables ``theta``.
Its arguments here are the very ones :func:`fit_preconditioner` passes it
(a sketch of a few rows per feature, so that the start is visibly off), and
the reference is :func:`numpy.linalg.lstsq` of that same problem, formed
explicitly: rows ``sqrt(w) (X - x_mean) transform`` (stacked with
``sqrt(alpha) transform``), targets ``sqrt(w) (Y - y_mean) / y_scale``. So
only the iteration is under test, not the preconditioner that chose
``transform``. Designs are those of the sketch properties
(:mod:`test_properties_sketch`) that take the refined path: dense, more
rows than the sketch (wide data is decomposed whole, nothing to refine).
"""

from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import one_torch_thread  # noqa: F401 (autouse fixture)
from test_properties_sketch import DESIGNS, design, weights

from skorch_lite import _precondition
from skorch_lite._precondition import fit_preconditioner
from skorch_lite._refine import refined_start

REFINED_DESIGNS = [kind for kind in DESIGNS if kind != "wide"]


def refined_arguments(X, Y, w, *, alpha, tol, sketch_size, fit_intercept=True, seed=0):
    """The positional arguments ``fit_preconditioner`` passes ``refined_start``."""
    with mock.patch.object(_precondition, "refined_start", wraps=refined_start) as spy:
        fit_preconditioner(
            torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(w), alpha=alpha,
            fit_intercept=fit_intercept, sketch_size=sketch_size,
            generator=torch.Generator().manual_seed(seed), refine=tol,
        )
    assert spy.call_count == 1, "the problem did not take the refined path"
    return spy.call_args.args


def standardized_problem(args):
    """``(A, B)``: the objective of ``theta`` is ``||A theta - B||^2`` per column."""
    _, transform, X, Y, w, alpha, x_mean, y_mean, y_scale, *_ = (
        a.double().numpy() if isinstance(a, torch.Tensor) else a for a in args)
    root = np.sqrt(w)[:, None]
    A = root * ((X - x_mean) @ transform)
    B = root * (Y - y_mean) / y_scale
    if alpha:
        A = np.r_[A, np.sqrt(alpha) * transform]
        B = np.r_[B, np.zeros((transform.shape[0], B.shape[1]))]
    return A, B


def column_objectives(A, B, theta):
    return ((A @ theta - B) ** 2).sum(0)


def assert_within_tol_of_the_optimum(args, theta, tol):
    A, B = standardized_problem(args)
    best = column_objectives(A, B, np.linalg.lstsq(A, B, rcond=None)[0])
    ours = column_objectives(A, B, theta.numpy())
    # Down to the rounding of the objectives themselves: eps of the products
    # with the residual, of the order of the mean predictor's objective.
    rounding = 1e-13 * column_objectives(A, B, np.zeros((A.shape[1], B.shape[1])))
    assert np.all(ours - best <= tol * best + rounding), (ours - best) / best


@given(
    kind=st.sampled_from(REFINED_DESIGNS),
    n=st.integers(60, 240),
    p=st.integers(1, 5),
    weight_kind=st.sampled_from(["none", "uniform", "heavy", "span"]),
    alpha=st.one_of(st.just(0.0), st.floats(1e-3, 10.0)),
    tol=st.sampled_from([1e-2, 1e-4, 1e-8, 1e-12]),
    sketch_size=st.integers(1, 30),
    fit_intercept=st.booleans(),
    float32=st.booleans(),
    n_targets=st.integers(1, 3),
    noise=st.sampled_from([0.0, 1e-6, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_refined_start_reaches_the_least_squares_optimum_of_its_problem_within_tol(
    kind, n, p, weight_kind, alpha, tol, sketch_size, fit_intercept, float32, n_targets, noise,
    seed,
):
    rng = np.random.default_rng(seed)
    X = design(kind, n, p, rng)
    Y = X @ rng.normal(size=(X.shape[1], n_targets)) + noise * rng.normal(size=(n, n_targets)) + 2
    w = weights(weight_kind, n, rng)
    w = np.ones(n) if w is None else w
    dtype = np.float32 if float32 else np.float64
    args = refined_arguments(X.astype(dtype), Y.astype(dtype), w.astype(dtype), alpha=alpha,
                             tol=tol, sketch_size=sketch_size, fit_intercept=fit_intercept,
                             seed=seed)
    assert_within_tol_of_the_optimum(args, refined_start(*args), tol)


@pytest.mark.parametrize("scale", [1.0, 1e-160, 1e160])
def test_columns_of_any_scale_are_refined_to_the_optimum_without_a_penalty(scale):
    # At alpha=0 the penalty was multiplied by zero: beta of order 1e160
    # (a column of scale 1e-160) made 0 * inf a NaN in every step, and the
    # sketch's start came back unrefined after max_iter iterations.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=400)
    X[:, 0] *= scale
    args = refined_arguments(X, y[:, None], np.ones(400), alpha=0.0, tol=1e-8, sketch_size=1)
    assert_within_tol_of_the_optimum(args, refined_start(*args), 1e-8)


def test_a_start_already_at_the_optimum_is_returned_unchanged():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = X @ [1.0, -1.0, 0.5, 2.0] + rng.normal(size=300)
    args = refined_arguments(X, y[:, None], np.ones(300), alpha=0.0, tol=1e-8, sketch_size=1)
    A, B = standardized_problem(args)
    optimum = torch.from_numpy(np.linalg.lstsq(A, B, rcond=None)[0])
    torch.testing.assert_close(refined_start(optimum, *args[1:]), optimum, rtol=1e-12, atol=0)


def test_a_non_finite_iteration_returns_the_start():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    y = X @ [1.0, 2.0] + rng.normal(size=300)
    args = list(refined_arguments(X, y[:, None], np.ones(300), alpha=0.0, tol=1e-8,
                                  sketch_size=1))
    args[3] = args[3].clone()
    args[3][7] = float("inf")  # an infinite target: every step is non-finite
    theta = refined_start(*args)
    assert torch.equal(theta, args[0])
