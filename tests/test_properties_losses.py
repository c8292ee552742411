"""Every loss: the fit minimizes its objective; weights and row order mean what they say.

The objective ``J`` is the one of ``_loss_objectives`` (plain numpy, not
the estimator's). Each property runs for the six built-in losses and a
callable one (log-cosh, written in torch).

Problems are small and well posed by construction: the centred design is
``Q diag(s) V^T`` (``Q`` orthonormal and orthogonal to the ones column,
singular values in [1, 4]), its columns scaled over two orders of
magnitude, with at least three times ``p + 1`` rows beyond ``p + 1`` (six
for Huber, see :func:`loss_problems`). Identity-link targets are a linear
model plus noise of alternating sign and distinct sizes in [0.1, 2];
Poisson targets are counts, not constant, whose positive rows alone have
full rank (so the optimum is finite); Gamma targets lie in [0.1, 10].

Tolerances. The smooth losses are fitted to ``tol=1e-8`` (excess objective
about 1e-8 relative): a perturbation of size 1e-2 in standardized units
raises ``J`` by about 1e-4 relative, far above that. The non-smooth losses
(absolute error, quantile) are held to what the documentation promises,
the optimum of the linear program within relative 1e-3.
"""

import numpy as np
import pytest
from _loss_objectives import (
    CASES,
    LOG_LINK,
    NON_SMOOTH,
    SMOOTH,
    loss_parameters,
    objective,
    reference_fit,
    stationarity,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from strategies import (  # noqa: F401 (one_torch_thread is an autouse fixture)
    Problem,
    examples,
    one_torch_thread,
    orthonormal_columns,
    sizeable_floats,
)

from skorch_lite import TorchLinearRegressor

NON_SMOOTH_RTOL = 1e-3
# Excess objective a smooth fit may keep (its stopping rule leaves ~1e-8).
SMOOTH_RTOL = 1e-6
PERTURBATION = 1e-2
alphas = st.one_of(st.just(0.0), st.floats(1e-3, 10.0))


@st.composite
def loss_problems(draw, case, *, weights=st.sampled_from(["none", "float"]),
                  n_targets=st.integers(1, 2)):
    """A small problem whose targets suit ``case`` (see the module docstring)."""
    p = draw(st.integers(1, 3))
    k = draw(n_targets)
    # Huber's scale collapses to 0 when the weight of the rows a fit can
    # pass through exceeds (epsilon^2 - 1) times that of the others: with at
    # most p + 1 such rows, weights within a factor 4 and epsilon >= 1.35,
    # 6 (p + 1) other rows keep it positive. (Found by the "deep" profile.)
    huber = case == "huber"
    n = p + 1 + (6 if huber else 3) * (p + 1) + draw(st.integers(0, 8))
    one_d = k == 1 and draw(st.booleans())

    Q = orthonormal_columns(draw, n, p, orthogonal_to_ones=True) * np.sqrt(n)
    V = orthonormal_columns(draw, p, p, orthogonal_to_ones=False)
    singular_values = draw(arrays(np.float64, p, elements=st.floats(1.0, 4.0)))
    scales = 10.0 ** draw(arrays(np.float64, p, elements=st.floats(-1.0, 1.0)))
    offsets = draw(arrays(np.float64, p, elements=st.floats(-2.0, 2.0)))
    X = ((Q * singular_values) @ V.T + offsets) * scales

    # Distinct in every row (however the draws shrink): no constant target
    # (an exact fit of zero loss), no ties for a Huber fit to pass through.
    distinct = ((np.arange(n) * 0.6180339887) % 1.0)[:, None]
    if case == "poisson":
        Y = draw(arrays(np.float64, (n, k), elements=st.integers(0, 10)))
        Y = Y + (np.arange(n) % 2)[:, None]
        for t in range(k):
            positive = Y[:, t] > 0
            design = np.column_stack([np.ones(n), X])[positive]
            if np.linalg.matrix_rank(design) < p + 1:
                Y[:, t] = np.maximum(Y[:, t], 1.0)
    elif case == "gamma":
        logs = draw(arrays(np.float64, (n, k), elements=st.floats(-1.0, 0.9)))
        Y = 10.0 ** (logs + 0.1 * distinct)
    else:
        coef = draw(arrays(np.float64, (k, p), elements=sizeable_floats(2.0))) / scales
        intercept = draw(arrays(np.float64, k, elements=st.floats(-5.0, 5.0)))
        # Alternating signs, distinct sizes in [0.1, 2]: never an exact fit.
        sizes = draw(arrays(np.float64, (n, k), elements=st.floats(0.1, 1.9))) + 0.1 * distinct
        signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)[:, None]
        Y = X @ coef.T + intercept + sizes * signs
    y = Y[:, 0] if one_d else Y

    sample_weight = None
    if draw(weights) == "float":
        spread = 1.0 if huber else 2.0
        sample_weight = 2.0 ** draw(arrays(np.float64, n, elements=st.floats(-spread, spread)))
    return Problem(X=X, y=y, sample_weight=sample_weight, column_scales=scales)


@st.composite
def loss_settings(draw, case):
    """``epsilon`` and ``quantile`` for the case (the defaults where they do not apply)."""
    return {
        "epsilon": draw(st.floats(1.35, 2.5)) if case == "huber" else 1.35,
        "quantile": draw(st.sampled_from([0.1, 0.25, 0.5, 0.9])) if case == "quantile" else 0.5,
    }


def fit(case, problem, settings, *, alpha=0.0, X=None, y=None, sample_weight="problem"):
    X = problem.X if X is None else X
    y = problem.y if y is None else y
    w = problem.sample_weight if isinstance(sample_weight, str) else sample_weight
    model = TorchLinearRegressor(alpha=alpha, **loss_parameters(case, **settings))
    return model.fit(X, y, w)


def J(case, problem, settings, coef, intercept, scale=None, *, alpha=0.0):
    return objective(case, problem.X, problem.y, coef, intercept, scale=scale, alpha=alpha,
                     sample_weight=problem.sample_weight, **settings)


def model_objective(case, problem, settings, model, *, alpha=0.0):
    scale = getattr(model, "scale_", None) if case == "huber" else None
    return J(case, problem, settings, model.coef_, model.intercept_, scale, alpha=alpha)


def as_2d(model, n_targets, n_features):
    coef = np.reshape(model.coef_, (n_targets, n_features))
    intercept = np.broadcast_to(np.ravel(model.intercept_), (n_targets,))
    scale = getattr(model, "scale_", None)
    if scale is not None:
        scale = np.broadcast_to(np.ravel(scale), (n_targets,))
    return coef, intercept, scale


def unit(case, problem):
    """The units of the linear predictor: y's spread (identity link) or 1 (log link)."""
    if case in LOG_LINK:
        return 1.0
    Y = problem.y.reshape(len(problem.y), -1)
    return float(max(Y.std(axis=0).max(), 1e-12))


def assert_same_fit(case, problem, settings, first, second, *, alpha=0.0):
    """Two fits of the same objective: the same ``J``; for smooth losses the same predictions."""
    values = [model_objective(case, problem, settings, m, alpha=alpha) for m in (first, second)]
    rtol = NON_SMOOTH_RTOL if case in NON_SMOOTH else SMOOTH_RTOL
    assert values[0] == pytest.approx(values[1], rel=rtol)
    if case not in NON_SMOOTH:
        # The minimizer is unique: predictions agree to 1e-3 of the
        # predictor's units (a wrong weighting moves them by O(1e-1)).
        if case in LOG_LINK:
            np.testing.assert_allclose(first.predict(problem.X), second.predict(problem.X),
                                       rtol=1e-3)
        else:
            np.testing.assert_allclose(first.predict(problem.X), second.predict(problem.X),
                                       rtol=0, atol=1e-3 * unit(case, problem))
        if case == "huber":
            np.testing.assert_allclose(first.scale_, second.scale_, rtol=1e-3)


# ----------------------------------------------------- the fit is the minimum


@pytest.mark.parametrize("case", CASES)
@examples(0.2)
@given(st.data(), alphas)
def test_fitted_objective_is_no_larger_than_at_perturbed_models_or_the_null_model(case, data,
                                                                                   alpha):
    problem = data.draw(loss_problems(case))
    settings = data.draw(loss_settings(case))
    model = fit(case, problem, settings, alpha=alpha)
    reached = model_objective(case, problem, settings, model, alpha=alpha)
    assert model.loss_curve_[-1] == pytest.approx(reached, rel=1e-8)
    slack = 1 + (NON_SMOOTH_RTOL if case in NON_SMOOTH else 1e-9)

    n_targets = problem.y.reshape(len(problem.y), -1).shape[1]
    p = problem.X.shape[1]
    null = reference_fit(case, problem.X[:, :0], problem.y, sample_weight=problem.sample_weight,
                         **settings)
    null_value = J(case, problem, settings, np.zeros((n_targets, p)), null.intercept, null.scale,
                   alpha=alpha)
    assert reached <= null_value * slack

    coef, intercept, scale = as_2d(model, n_targets, p)
    spread = problem.X.std(axis=0)
    directions = data.draw(arrays(np.float64, (3, n_targets, p + 2),
                                  elements=st.floats(-1.0, 1.0)))
    for direction in directions:
        size = np.linalg.norm(direction)
        if size == 0:
            continue
        # A step of 1e-2 in units of the predictor along standardized
        # columns (and of 1e-2 relative in the Huber scale).
        relative = PERTURBATION * direction / size
        step = unit(case, problem) * relative
        moved_coef = coef + step[:, :p] / spread
        moved_intercept = intercept + step[:, p] - step[:, :p] / spread @ problem.X.mean(axis=0)
        moved_scale = None if scale is None else scale * np.exp(relative[:, -1])
        moved = J(case, problem, settings, moved_coef, moved_intercept, moved_scale, alpha=alpha)
        assert reached <= moved * slack


@pytest.mark.parametrize("case", SMOOTH)
@examples(0.2)
@given(st.data(), alphas)
def test_fitted_model_is_a_stationary_point_of_the_objective(case, data, alpha):
    # The rows' gradients (in standardized variables) cancel to 1e-3 of
    # their own size; a model fitted to another objective leaves O(1).
    problem = data.draw(loss_problems(case))
    settings = data.draw(loss_settings(case))
    model = fit(case, problem, settings, alpha=alpha)
    norm, spread = stationarity(
        case, problem.X, problem.y, model.coef_, model.intercept_,
        scale=getattr(model, "scale_", None) if case == "huber" else None, alpha=alpha,
        sample_weight=problem.sample_weight, epsilon=settings["epsilon"],
    )
    assert norm <= 1e-3 * spread


@pytest.mark.parametrize("case", sorted(NON_SMOOTH))
@examples(0.2)
@given(st.data())
def test_non_smooth_fit_reaches_the_linear_program_optimum(case, data):
    problem = data.draw(loss_problems(case))
    settings = data.draw(loss_settings(case))
    model = fit(case, problem, settings)
    optimum = reference_fit(case, problem.X, problem.y, sample_weight=problem.sample_weight,
                            **settings).value
    reached = model_objective(case, problem, settings, model)
    assert optimum * (1 - 1e-9) <= reached <= optimum * (1 + NON_SMOOTH_RTOL) + 1e-12


# ------------------------------------------------------------- invariances


@pytest.mark.parametrize("case", CASES)
@examples(0.12)
@given(st.data(), alphas)
def test_row_order_does_not_change_the_fit(case, data, alpha):
    problem = data.draw(loss_problems(case))
    settings = data.draw(loss_settings(case))
    order = np.array(data.draw(st.permutations(range(len(problem.y)))))
    w = problem.sample_weight
    shuffled = fit(case, problem, settings, alpha=alpha, X=problem.X[order], y=problem.y[order],
                   sample_weight=None if w is None else w[order])
    plain = fit(case, problem, settings, alpha=alpha)
    assert_same_fit(case, problem, settings, shuffled, plain, alpha=alpha)


@pytest.mark.parametrize("case", CASES)
@examples(0.12)
@given(st.data(), alphas, st.floats(-2.0, 2.0))
def test_scaling_all_weights_by_c_equals_dividing_alpha_by_c(case, data, alpha, log_c):
    # sum c s_i l_i + alpha ||W||^2 = c (sum s_i l_i + (alpha / c) ||W||^2).
    problem = data.draw(loss_problems(case, weights=st.just("float")))
    settings = data.draw(loss_settings(case))
    c = 10.0**log_c
    scaled = fit(case, problem, settings, alpha=alpha * c,
                 sample_weight=c * problem.sample_weight)
    plain = fit(case, problem, settings, alpha=alpha)
    assert_same_fit(case, problem, settings, scaled, plain, alpha=alpha)


@pytest.mark.parametrize("case", CASES)
@examples(0.12)
@given(st.data(), alphas)
def test_integer_weight_k_equals_repeating_the_row_k_times(case, data, alpha):
    problem = data.draw(loss_problems(case, weights=st.just("none")))
    settings = data.draw(loss_settings(case))
    counts = data.draw(arrays(np.int64, len(problem.y), elements=st.integers(1, 3)))
    problem.sample_weight = counts.astype(np.float64)
    rows = np.repeat(np.arange(len(counts)), counts)
    repeated = fit(case, problem, settings, alpha=alpha, X=problem.X[rows], y=problem.y[rows],
                   sample_weight=None)
    weighted = fit(case, problem, settings, alpha=alpha)
    assert_same_fit(case, problem, settings, repeated, weighted, alpha=alpha)


# ------------------------------------------------ y's units change nothing else

UNIT_FREE = tuple(case for case in CASES if case != "log_cosh")  # log-cosh has a unit


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
@pytest.mark.parametrize("case", UNIT_FREE)
@examples(0.1)
@given(st.data(), st.integers(-150, 150))
def test_y_in_other_units_gives_the_same_fit_in_those_units(case, solver, data, exponent):
    # Each loss is homogeneous in y (of degree 1, or 0 for gamma; a log
    # link moves only the intercept, by log c): with alpha = 0 a fit of c y
    # is c times the fit of y. Adam runs 30 fixed steps: its iterates must
    # match too, so its step length may not depend on y's units (a y of
    # 1e-12 left it 975 away). L-BFGS stopped on absolute floors (Huber on
    # y of 1e-30 stopped early; quantile on 1e-200 went to NaN).
    problem = data.draw(loss_problems(case, n_targets=st.just(1)))
    settings = data.draw(loss_settings(case))
    c = 10.0 ** exponent
    options = dict(alpha=0.0, solver=solver, random_state=0, **loss_parameters(case, **settings))
    if solver == "adam":
        options.update(max_iter=30, tol=0.0)
    base = TorchLinearRegressor(**options).fit(problem.X, problem.y, problem.sample_weight)
    moved = TorchLinearRegressor(**options).fit(problem.X, c * problem.y, problem.sample_weight)
    rtol = 1e-6 if solver == "adam" or case not in NON_SMOOTH else NON_SMOOTH_RTOL
    if case in NON_SMOOTH and solver == "adam":
        # A subgradient's sign at a residual of exactly 0 (a row the start
        # passes through) turns on rounding: the iterates may part, but not
        # by the units (the old steps left them 500 away).
        scaled = J(case, problem, settings, moved.coef_ / c, moved.intercept_ / c)
        assert scaled == pytest.approx(J(case, problem, settings, base.coef_, base.intercept_),
                                       rel=0.1)
    elif solver == "lbfgs" and case not in NON_SMOOTH:
        # Both fits are within tol of the optimum: their objectives agree to
        # a few tol, their coefficients to what tol resolves (the rounds'
        # Newton polish usually takes both much further, but a last polish
        # that falls below rounding in one units and not the other left
        # gamma and poisson fits 1e-6 apart).
        shift = np.log(c) if case in LOG_LINK else 0.0
        divide = 1.0 if case in LOG_LINK else c
        scale = getattr(moved, "scale_", None)
        scaled = J(case, problem, settings, moved.coef_ / divide,
                   (moved.intercept_ - shift) / divide, None if scale is None else scale / c)
        assert scaled == pytest.approx(model_objective(case, problem, settings, base), rel=4e-8)
        np.testing.assert_allclose(moved.coef_ / divide, base.coef_, rtol=1e-4,
                                   atol=1e-4 * max(1.0, np.abs(base.coef_).max()))
    elif case in LOG_LINK:
        np.testing.assert_allclose(moved.coef_, base.coef_, rtol=rtol, atol=1e-8)
        np.testing.assert_allclose(moved.intercept_ - np.log(c), base.intercept_, rtol=rtol,
                                   atol=1e-8 * max(1.0, abs(np.log(c))))
    elif case in NON_SMOOTH and solver == "lbfgs":
        # The objective value is what is unique (the linear program's).
        scaled = J(case, problem, settings, moved.coef_ / c, moved.intercept_ / c)
        assert scaled == pytest.approx(J(case, problem, settings, base.coef_, base.intercept_),
                                       rel=NON_SMOOTH_RTOL)
    else:
        atol = 1e-8 * unit(case, problem)
        np.testing.assert_allclose(moved.predict(problem.X) / c, base.predict(problem.X),
                                   rtol=rtol, atol=atol)
