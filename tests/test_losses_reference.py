"""Every loss reaches the optimum that scikit-learn (or scipy) computes for the same objective.

Two groups of tests. ``test_reference_objective_matches_sklearn_*`` check the
plain-numpy objectives of ``_loss_objectives`` (minimized with scipy) against
scikit-learn's estimators, under the mapping of ``alpha`` the documentation
states; they involve no skorch_lite, so they say the references and the
mapping are right. The other tests fit :class:`TorchLinearRegressor` and
compare it with scikit-learn, or with those references where scikit-learn
has no counterpart (log-cosh).

The data are nobody's here: scikit-learn's bundled diabetes (10 features)
and linnerud (3 targets) sets, ``make_regression`` with gross outliers,
``make_low_rank_matrix``, and GLM data simulated with known coefficients.

Tolerances, measured on these data:

- HuberRegressor stops where L-BFGS-B's default ``ftol`` stops it (its
  ``tol`` is only the gradient bound): its coefficients are 1e-4 to 6e-4
  (weighted) from the exact minimizer, whose gradient is 1e4 times smaller
  and objective lower. Hence rtol 1e-3 against it, and ``J`` no larger.
- PoissonRegressor / GammaRegressor with Newton-Cholesky and ``tol=1e-12``
  agree with the scipy minimum to 1e-7 (coefficients relative to the
  largest): rtol 1e-4 for the estimator leaves room for its stopping rule.
- Quantile losses have non-unique minimizers: the objective is compared
  (the linear programs of scipy and QuantileRegressor agree to 1e-15).

Vector tolerances are relative to the largest entry (``atol = rtol * max``):
a coefficient a thousand times smaller than the others is not known to
``rtol`` of itself by any solver here.
"""

import warnings

import numpy as np
import pytest
import torch
from _loss_objectives import (
    CASES,
    LOG_LINK,
    NON_SMOOTH,
    SMOOTH,
    log_cosh_torch,
    loss_parameters,
    objective,
    objective_gradient,
    reference_fit,
    squared_error_torch,
    stationarity,
)
from sklearn.datasets import load_diabetes, load_linnerud, make_low_rank_matrix, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import (
    GammaRegressor,
    HuberRegressor,
    PoissonRegressor,
    QuantileRegressor,
    Ridge,
)
from sklearn.metrics import d2_tweedie_score, mean_pinball_loss, r2_score
from sklearn.preprocessing import StandardScaler

from skorch_lite import TorchLinearRegressor

HUBER_RTOL = 1e-3
QUANTILE_RTOL = 1e-3
GLM_RTOL = 1e-4
QUANTILES = [0.1, 0.5, 0.9]


# ------------------------------------------------------------------- data


def diabetes(standardize=False):
    X, y = load_diabetes(return_X_y=True)
    return (StandardScaler().fit_transform(X) if standardize else X), y


def linnerud(standardize=False):
    X, Y = load_linnerud(return_X_y=True)
    return (StandardScaler().fit_transform(X) if standardize else X.astype(np.float64)), Y


def with_outliers():
    """make_regression with 10% of the targets moved by 200-500 (noise 4)."""
    X, y = make_regression(n_samples=200, n_features=5, noise=4.0, random_state=0)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(y), 20, replace=False)
    y[rows] += rng.choice([-1.0, 1.0], 20) * rng.uniform(200.0, 500.0, 20)
    return X, y


def low_rank():
    """An ill-conditioned design (effective rank 3 of 6) with Laplace noise."""
    X = make_low_rank_matrix(n_samples=150, n_features=6, effective_rank=3, random_state=0)
    rng = np.random.default_rng(0)
    y = X @ rng.normal(size=6) * 10 + 2.0 + rng.laplace(scale=0.5, size=150)
    return X, y


def simulated_glm(case, n_samples=300):
    """Counts (poisson) or positive amounts (gamma, shape 2) with known coefficients."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n_samples, 4)) * [1.0, 0.5, 2.0, 1.0]
    mu = np.exp(X @ [0.2, -0.3, 0.1, 0.05] + 1.0)
    y = rng.poisson(mu).astype(np.float64) if case == "poisson" else rng.gamma(2.0, mu / 2.0)
    return X, y


def weights_for(y, seed=0):
    """Non-unit sample weights (their sum is not the number of rows)."""
    return np.random.default_rng(seed).uniform(0.2, 3.0, size=len(y))


DATA = {
    "diabetes": diabetes,
    "diabetes_standardized": lambda: diabetes(standardize=True),
    "outliers": with_outliers,
    "low_rank": low_rank,
    "poisson_simulated": lambda: simulated_glm("poisson"),
    "gamma_simulated": lambda: simulated_glm("gamma"),
}


# ------------------------------------------------------- sklearn references


def sklearn_huber(X, y, *, alpha=0.0, sample_weight=None, epsilon=1.35):
    return HuberRegressor(epsilon=epsilon, alpha=alpha, tol=1e-10, max_iter=10_000).fit(
        X, y, sample_weight
    )


def sklearn_glm(case, X, y, *, alpha=0.0, sample_weight=None):
    """PoissonRegressor / GammaRegressor at ``alpha / sum(s)``: the documented mapping."""
    total = len(y) if sample_weight is None else float(np.sum(sample_weight))
    estimator = PoissonRegressor if case == "poisson" else GammaRegressor
    with warnings.catch_warnings():
        # At tol=1e-12 Newton's line search can stall at the optimum and
        # hand over to lbfgs, with a warning; the result is the optimum.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator(
            alpha=alpha / total, solver="newton-cholesky", tol=1e-12, max_iter=1000
        ).fit(X, y, sample_weight)


def sklearn_pinball(X, y, quantile, sample_weight=None):
    """QuantileRegressor's (alpha=0, HiGHS) weighted mean pinball loss, averaged over targets."""
    Y = y.reshape(len(y), -1)
    losses = []
    for t in range(Y.shape[1]):
        fit = QuantileRegressor(quantile=quantile, alpha=0.0, solver="highs")
        fit.fit(X, Y[:, t], sample_weight=sample_weight)
        losses.append(mean_pinball_loss(Y[:, t], fit.predict(X), alpha=quantile,
                                        sample_weight=sample_weight))
    return float(np.mean(losses))


def assert_close(actual, expected, rtol):
    """Entries agree to ``rtol`` relative to the largest one."""
    expected = np.asarray(expected, dtype=np.float64)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


# ===================== the references agree with scikit-learn (no skorch_lite)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 10.0])
def test_reference_objective_matches_sklearn_squared_error(weighted, alpha):
    X, y = diabetes()
    w = weights_for(y) if weighted else None
    ref = reference_fit("squared_error", X, y, alpha=alpha, sample_weight=w)
    ridge = Ridge(alpha=alpha).fit(X, y, w)
    assert_close(ref.coef[0], ridge.coef_, 1e-7)
    assert_close(ref.intercept, [ridge.intercept_], 1e-9)


@pytest.mark.parametrize(
    "data, alpha, weighted",
    [("diabetes_standardized", 0.0, False), ("outliers", 0.0, False),
     ("diabetes_standardized", 0.0, True), ("diabetes_standardized", 10.0, True)],
)
def test_reference_objective_matches_sklearn_huber(data, alpha, weighted):
    # HuberRegressor minimizes sum_i s_i (sigma + sigma H(r_i / sigma)) +
    # alpha ||w||^2 (since scikit-learn 1.9 its "n_samples * sigma" term is
    # sum(s) * sigma): J times sum(s), so the same alpha.
    X, y = DATA[data]()
    w = weights_for(y) if weighted else None
    ref = reference_fit("huber", X, y, alpha=alpha, sample_weight=w)
    huber = sklearn_huber(X, y, alpha=alpha, sample_weight=w)
    assert_close(ref.coef[0], huber.coef_, HUBER_RTOL)
    assert_close(ref.intercept, [huber.intercept_], HUBER_RTOL)
    assert_close(ref.scale, [huber.scale_], HUBER_RTOL)
    # The reference is the better minimizer of the shared objective.
    theirs = objective("huber", X, y, huber.coef_, huber.intercept_, scale=huber.scale_,
                       alpha=alpha, sample_weight=w)
    assert ref.value <= theirs * (1 + 1e-12)


def test_reference_objective_matches_sklearn_huber_per_target():
    X, Y = linnerud(standardize=True)
    ref = reference_fit("huber", X, Y)
    for t in range(Y.shape[1]):
        huber = sklearn_huber(X, Y[:, t])
        assert_close(ref.coef[t], huber.coef_, HUBER_RTOL)
        assert_close(ref.scale[t], huber.scale_, HUBER_RTOL)


@pytest.mark.parametrize("data", ["diabetes", "low_rank"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("quantile", QUANTILES)
def test_reference_objective_matches_sklearn_quantile(data, weighted, quantile):
    X, y = DATA[data]()
    w = weights_for(y) if weighted else None
    ref = reference_fit("quantile", X, y, quantile=quantile, sample_weight=w)
    assert ref.value == pytest.approx(sklearn_pinball(X, y, quantile, w), rel=1e-9)


def test_reference_objective_matches_sklearn_quantile_per_target():
    X, Y = linnerud()
    ref = reference_fit("quantile", X, Y, quantile=0.9)
    assert ref.value == pytest.approx(sklearn_pinball(X, Y, 0.9), rel=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
def test_reference_objective_matches_sklearn_absolute_error_as_twice_the_median_pinball(weighted):
    # |r| = 2 max(r / 2, -r / 2): the absolute error is twice the pinball
    # loss at q = 0.5, so its optimum is twice QuantileRegressor's.
    X, y = diabetes()
    w = weights_for(y) if weighted else None
    ref = reference_fit("absolute_error", X, y, sample_weight=w)
    assert ref.value == pytest.approx(2 * sklearn_pinball(X, y, 0.5, w), rel=1e-9)


@pytest.mark.parametrize("case", sorted(LOG_LINK))
@pytest.mark.parametrize("simulated", [False, True])
@pytest.mark.parametrize("alpha, weighted", [(0.0, False), (0.0, True), (10.0, True)])
def test_reference_objective_matches_sklearn_glm(case, simulated, alpha, weighted):
    # sklearn: sum(s dev) / (2 sum s) + alpha_sk / 2 ||w||^2
    #        = J / 2 with alpha = alpha_sk * sum(s).
    X, y = simulated_glm(case) if simulated else diabetes()
    w = weights_for(y) if weighted else None
    ref = reference_fit(case, X, y, alpha=alpha, sample_weight=w)
    glm = sklearn_glm(case, X, y, alpha=alpha, sample_weight=w)
    assert_close(ref.coef[0], glm.coef_, 1e-6)
    assert_close(ref.intercept, [glm.intercept_], 1e-8)


@pytest.mark.parametrize("case", sorted(LOG_LINK))
@pytest.mark.parametrize("alpha", [0.0, 3.0])
def test_reference_objective_matches_sklearn_glm_per_target(case, alpha):
    # J / k is a sum over targets sharing no variable: each target is its
    # own fit at alpha / sum(s) (k cancels).
    X, Y = linnerud()
    w = weights_for(Y, seed=1)
    ref = reference_fit(case, X, Y, alpha=alpha, sample_weight=w)
    for t in range(Y.shape[1]):
        glm = sklearn_glm(case, X, Y[:, t], alpha=alpha, sample_weight=w)
        assert_close(ref.coef[t], glm.coef_, 1e-5)
        assert_close(ref.intercept[t], glm.intercept_, 1e-8)


@pytest.mark.parametrize("case", sorted(LOG_LINK))
def test_reference_d2_tweedie_score_is_the_glm_score(case):
    X, y = diabetes()
    w = weights_for(y)
    glm = sklearn_glm(case, X, y, sample_weight=w)
    power = 1 if case == "poisson" else 2
    expected = d2_tweedie_score(y, glm.predict(X), sample_weight=w, power=power)
    assert glm.score(X, y, w) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("case", SMOOTH)
def test_reference_gradient_matches_finite_differences(case):
    # The stationarity checks and the L-BFGS-B references trust this
    # gradient: compare it with central differences of J, away from the optimum.
    X, Y = linnerud(standardize=True)
    Y = Y / 10.0 if case == "log_cosh" else Y
    rng = np.random.default_rng(0)
    point = {
        "coef": rng.normal(size=(3, 3)) * (0.01 if case in LOG_LINK else 1.0),
        "intercept": np.log(Y.mean(axis=0)) if case in LOG_LINK else Y.mean(axis=0) + 1.0,
        "scale": Y.std(axis=0) if case == "huber" else None,
    }
    kwargs = dict(alpha=2.0, sample_weight=weights_for(Y))
    analytic = objective_gradient(case, X, Y, **point, **kwargs)
    step = 1e-6
    for name, derivative in zip(("coef", "intercept", "scale"), analytic):
        if derivative is None:
            continue
        numeric = np.zeros_like(derivative)
        for index in np.ndindex(derivative.shape):
            ends = []
            for sign in (1.0, -1.0):
                moved = {key: None if v is None else np.array(v, dtype=np.float64)
                         for key, v in point.items()}
                moved[name][index] += sign * step
                ends.append(objective(case, X, Y, **moved, **kwargs))
            numeric[index] = (ends[0] - ends[1]) / (2 * step)
        assert_close(derivative, numeric, 1e-6)


@pytest.mark.parametrize(
    "case, best_constant",
    [("squared_error", np.mean), ("absolute_error", np.median),
     ("quantile", lambda y: np.quantile(y, 0.3, method="inverted_cdf")),
     ("poisson", np.mean), ("gamma", np.mean)],
)
def test_reference_null_model_is_the_best_constant(case, best_constant):
    # A design without columns leaves the intercept: the best constant
    # prediction (not unique for the median of an even number of rows, so
    # the objective is compared).
    _, y = diabetes()
    null = reference_fit(case, np.empty((len(y), 0)), y, quantile=0.3)
    raw = np.log(best_constant(y)) if case in LOG_LINK else best_constant(y)
    expected = objective(case, np.empty((len(y), 0)), y, np.empty(0), raw, quantile=0.3)
    assert null.value == pytest.approx(expected, rel=1e-12)


# ================================= the estimator against scikit-learn and scipy


def fitted_objective(model, case, X, y, *, alpha=0.0, sample_weight=None, **params):
    return objective(case, X, y, model.coef_, model.intercept_,
                     scale=getattr(model, "scale_", None) if case == "huber" else None,
                     alpha=alpha, sample_weight=sample_weight, **params)


@pytest.mark.parametrize(
    "data, alpha, weighted",
    [("diabetes_standardized", 0.0, False), ("outliers", 0.0, False),
     ("diabetes_standardized", 0.0, True), ("diabetes_standardized", 1.0, False),
     ("outliers", 10.0, True)],
)
def test_huber_equals_huber_regressor(data, alpha, weighted):
    X, y = DATA[data]()
    w = weights_for(y) if weighted else None
    ours = TorchLinearRegressor(loss="huber", alpha=alpha).fit(X, y, w)
    theirs = sklearn_huber(X, y, alpha=alpha, sample_weight=w)
    assert_close(ours.coef_, theirs.coef_, HUBER_RTOL)
    assert_close(ours.intercept_, theirs.intercept_, HUBER_RTOL)
    assert isinstance(ours.scale_, float)
    assert ours.scale_ == pytest.approx(theirs.scale_, rel=HUBER_RTOL)


def test_huber_with_another_epsilon_equals_huber_regressor():
    X, y = with_outliers()
    ours = TorchLinearRegressor(loss="huber", epsilon=2.0).fit(X, y)
    theirs = sklearn_huber(X, y, epsilon=2.0)
    assert_close(ours.coef_, theirs.coef_, HUBER_RTOL)
    assert ours.scale_ == pytest.approx(theirs.scale_, rel=HUBER_RTOL)


def test_huber_fits_each_target_with_its_own_scale():
    X, Y = linnerud(standardize=True)
    ours = TorchLinearRegressor(loss="huber").fit(X, Y)
    assert np.shape(ours.scale_) == (Y.shape[1],)
    for t in range(Y.shape[1]):
        theirs = sklearn_huber(X, Y[:, t])
        assert_close(ours.coef_[t], theirs.coef_, HUBER_RTOL)
        assert ours.scale_[t] == pytest.approx(theirs.scale_, rel=HUBER_RTOL)


@pytest.mark.parametrize("data", ["diabetes", "low_rank"])
@pytest.mark.parametrize("quantile", QUANTILES)
def test_quantile_reaches_quantile_regressor_pinball_loss(data, quantile):
    X, y = DATA[data]()
    ours = TorchLinearRegressor(loss="quantile", quantile=quantile).fit(X, y)
    reached = mean_pinball_loss(y, ours.predict(X), alpha=quantile)
    optimum = sklearn_pinball(X, y, quantile)
    assert reached <= optimum * (1 + QUANTILE_RTOL)
    assert ours.loss_curve_[-1] == pytest.approx(reached, rel=1e-8)


def test_quantile_with_weights_and_targets_reaches_quantile_regressor_pinball_loss():
    X, Y = linnerud()
    w = weights_for(Y)
    ours = TorchLinearRegressor(loss="quantile", quantile=0.1).fit(X, Y, w)
    reached = fitted_objective(ours, "quantile", X, Y, sample_weight=w, quantile=0.1)
    assert reached <= sklearn_pinball(X, Y, 0.1, w) * (1 + QUANTILE_RTOL)


@pytest.mark.parametrize("data", ["diabetes", "low_rank"])
@pytest.mark.parametrize("weighted", [False, True])
def test_absolute_error_reaches_twice_the_median_pinball_loss(data, weighted):
    X, y = DATA[data]()
    w = weights_for(y) if weighted else None
    ours = TorchLinearRegressor(loss="absolute_error").fit(X, y, w)
    reached = np.average(np.abs(y - ours.predict(X)), weights=w)
    assert reached <= 2 * sklearn_pinball(X, y, 0.5, w) * (1 + QUANTILE_RTOL)


@pytest.mark.parametrize("case", sorted(LOG_LINK))
@pytest.mark.parametrize("simulated", [False, True])
@pytest.mark.parametrize("alpha, weighted", [(0.0, False), (0.0, True), (10.0, False),
                                             (10.0, True)])
def test_glm_equals_sklearn_glm(case, simulated, alpha, weighted):
    X, y = simulated_glm(case) if simulated else diabetes()
    w = weights_for(y) if weighted else None
    ours = TorchLinearRegressor(loss=case, alpha=alpha).fit(X, y, w)
    theirs = sklearn_glm(case, X, y, alpha=alpha, sample_weight=w)
    assert_close(ours.coef_, theirs.coef_, GLM_RTOL)
    assert_close(ours.intercept_, theirs.intercept_, GLM_RTOL)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=GLM_RTOL)


@pytest.mark.parametrize("case", sorted(LOG_LINK))
@pytest.mark.parametrize("alpha", [0.0, 3.0])
def test_glm_fits_each_target_like_its_own_sklearn_fit(case, alpha):
    X, Y = linnerud()
    w = weights_for(Y, seed=1)
    ours = TorchLinearRegressor(loss=case, alpha=alpha).fit(X, Y, w)
    assert ours.coef_.shape == (3, 3) and ours.intercept_.shape == (3,)
    for t in range(Y.shape[1]):
        theirs = sklearn_glm(case, X, Y[:, t], alpha=alpha, sample_weight=w)
        assert_close(ours.coef_[t], theirs.coef_, GLM_RTOL)
        assert_close(ours.intercept_[t], theirs.intercept_, GLM_RTOL)


@pytest.mark.parametrize("alpha, weighted", [(0.0, False), (1.0, True)])
def test_callable_squared_error_equals_the_default(alpha, weighted):
    X, y = diabetes()
    w = weights_for(y) if weighted else None
    default = TorchLinearRegressor(alpha=alpha).fit(X, y, w)
    custom = TorchLinearRegressor(loss=squared_error_torch, alpha=alpha).fit(X, y, w)
    assert_close(custom.coef_, default.coef_, 1e-6)
    assert custom.intercept_ == pytest.approx(default.intercept_, rel=1e-6)
    assert custom.loss_curve_[-1] == pytest.approx(default.loss_curve_[-1], rel=1e-7)


def test_callable_written_as_a_lambda_equals_the_default():
    X, Y = linnerud()
    default = TorchLinearRegressor().fit(X, Y)
    custom = TorchLinearRegressor(loss=lambda p, t: (p - t) ** 2).fit(X, Y)
    np.testing.assert_allclose(custom.predict(X), default.predict(X), rtol=1e-6)


@pytest.mark.parametrize("alpha, weighted", [(0.0, False), (0.0, True), (5.0, True)])
def test_callable_log_cosh_reaches_the_scipy_optimum(alpha, weighted):
    X, y = diabetes()
    w = weights_for(y) if weighted else None
    ours = TorchLinearRegressor(loss=log_cosh_torch, alpha=alpha).fit(X, y, w)
    reached = fitted_objective(ours, "log_cosh", X, y, alpha=alpha, sample_weight=w)
    optimum = reference_fit("log_cosh", X, y, alpha=alpha, sample_weight=w).value
    assert optimum * (1 - 1e-9) <= reached <= optimum * (1 + 1e-6)


# ============================================================ every loss


def fit_case(case, X, y, sample_weight=None, **params):
    return TorchLinearRegressor(**loss_parameters(case, **params)).fit(X, y, sample_weight)


def small_data():
    """60 rows of diabetes (standardized X): y as it is, positive counts for the GLMs."""
    X, y = diabetes(standardize=True)
    return X[:60, :4], y[:60]


@pytest.mark.parametrize("case", CASES)
def test_loss_curve_ends_at_the_objective_of_the_fitted_model(case):
    X, y = small_data()
    w = weights_for(y)
    model = fit_case(case, X, y, w, quantile=0.3)
    expected = fitted_objective(model, case, X, y, sample_weight=w, quantile=0.3)
    assert model.loss_curve_[-1] == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("case", CASES)
def test_integer_weights_equal_repeated_rows(case):
    X, y = small_data()
    counts = np.random.default_rng(0).integers(1, 4, size=len(y)).astype(np.float64)
    rows = np.repeat(np.arange(len(y)), counts.astype(int))
    weighted = fit_case(case, X, y, counts, quantile=0.3)
    repeated = fit_case(case, X[rows], y[rows], quantile=0.3)
    if case in NON_SMOOTH:
        # Minimizers need not be unique: both reach the one optimum.
        optimum = reference_fit(case, X, y, sample_weight=counts, quantile=0.3).value
        for model in (weighted, repeated):
            reached = fitted_objective(model, case, X, y, sample_weight=counts, quantile=0.3)
            assert reached <= optimum * (1 + QUANTILE_RTOL)
    else:
        assert_close(weighted.coef_, repeated.coef_, 1e-4)
        assert weighted.intercept_ == pytest.approx(repeated.intercept_, rel=1e-4)
        if case == "huber":
            assert weighted.scale_ == pytest.approx(repeated.scale_, rel=1e-4)


@pytest.mark.parametrize("case", CASES)
def test_score_is_r2_for_identity_link_and_d2_for_log_link(case):
    X, y = small_data()
    w = weights_for(y)
    model = fit_case(case, X, y, quantile=0.3)
    pred = model.predict(X)
    if case in LOG_LINK:
        power = 1 if case == "poisson" else 2
        expected = d2_tweedie_score(y, pred, sample_weight=w, power=power)
    else:
        expected = r2_score(y, pred, sample_weight=w)
    assert model.score(X, y, w) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("case", CASES)
def test_predict_applies_the_inverse_link(case):
    X, Y = linnerud()
    model = fit_case(case, X, Y, quantile=0.3)
    raw = X @ model.coef_.T + model.intercept_
    expected = np.exp(raw) if case in LOG_LINK else raw
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12)
    assert model.predict(X).shape == Y.shape


def test_huber_scale_is_a_positive_float_for_1d_y():
    X, y = with_outliers()
    model = TorchLinearRegressor(loss="huber").fit(X, y)
    assert isinstance(model.scale_, float) and model.scale_ > 0
    assert model.coef_.shape == (X.shape[1],) and isinstance(model.intercept_, float)


@pytest.mark.parametrize("case", SMOOTH)
def test_fitted_model_is_a_stationary_point_on_diabetes(case):
    X, y = diabetes(standardize=True)
    model = fit_case(case, X, y)
    norm, spread = stationarity(case, X, y, model.coef_, model.intercept_,
                                scale=getattr(model, "scale_", None))
    assert norm <= 1e-3 * spread


# ======================================================= invalid input


def with_row(y, row, value):
    y = y.copy()
    y[row] = value
    return y


INVALID_TARGETS = {
    "poisson-negative": ("poisson", lambda y: with_row(y, 3, -1.0)),
    "poisson-all-zero": ("poisson", np.zeros_like),
    "gamma-zero": ("gamma", lambda y: with_row(y, 3, 0.0)),
    "gamma-negative": ("gamma", lambda y: with_row(y, 5, -2.0)),
}


@pytest.mark.parametrize("name", INVALID_TARGETS)
@pytest.mark.parametrize("two_d", [False, True])
def test_invalid_targets_raise_naming_the_loss_and_change_nothing(name, two_d):
    case, corrupt = INVALID_TARGETS[name]
    X, y = small_data()
    if two_d:
        y = np.column_stack([y, y[::-1]])
    bad = corrupt(y)
    model = TorchLinearRegressor(loss=case).fit(X, y)
    before = (model.coef_.copy(), np.copy(model.intercept_), list(model.loss_curve_))
    X_copy, bad_copy = X.copy(), bad.copy()
    with pytest.raises(ValueError, match=f"(?i){case}"):
        model.fit(X, bad)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(bad, bad_copy)
    np.testing.assert_array_equal(model.coef_, before[0])
    np.testing.assert_array_equal(model.intercept_, before[1])
    assert model.loss_curve_ == before[2]


BAD_CALLABLES = {
    "scalar": (lambda p, t: ((p - t) ** 2).mean(), "(?i)(scalar|shape)"),
    "too-few-rows": (lambda p, t: ((p - t) ** 2)[:-1], "(?i)shape"),
    "transposed": (lambda p, t: ((p - t) ** 2).T, "(?i)shape"),
    "infinite": (lambda p, t: (p - t) ** 2 / 0.0, "(?i)(finite|nan|inf)"),
    "nan": (lambda p, t: torch.log(p - t), "(?i)(finite|nan)"),
}


@pytest.mark.parametrize("name", BAD_CALLABLES)
def test_bad_callable_raises_naming_the_problem_and_changes_nothing(name):
    loss, message = BAD_CALLABLES[name]
    X, Y = linnerud()
    Y = Y[:, :2]  # (20, 2): a transposed (2, 20) is not (20, 2)
    model = TorchLinearRegressor(loss=log_cosh_torch).fit(X, Y / 100.0)
    coef = model.coef_.copy()
    with pytest.raises((ValueError, TypeError), match=message):
        model.set_params(loss=loss).fit(X, Y)
    np.testing.assert_array_equal(model.coef_, coef)


def test_unknown_loss_name_is_rejected():
    X, y = small_data()
    with pytest.raises(ValueError, match="loss"):
        TorchLinearRegressor(loss="hinge").fit(X, y)


# ------------------------------------------------------------------ partial_fit and the sketch path


@pytest.mark.parametrize("loss", ["poisson", "huber", "quantile", "gamma"])
def test_partial_fit_learns_every_loss_from_a_stream_of_chunks(loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    raw = X @ [0.3, -0.4, 0.2] + 0.5
    y = {"poisson": rng.poisson(np.exp(raw)).astype(float),
         "gamma": rng.gamma(4.0, np.exp(raw) / 4.0),
         "huber": raw + rng.standard_t(3, size=600),
         "quantile": raw + rng.normal(size=600)}[loss]
    exact = TorchLinearRegressor(loss=loss).fit(X, y)
    reg = TorchLinearRegressor(loss=loss, solver="adam", batch_size=50, random_state=0)
    for epoch in range(25):
        for start in range(0, 600, 200):
            reg.partial_fit(X[start:start + 200], y[start:start + 200])
    assert reg.n_iter_ == 75
    # Adam's constant step leaves a noise floor; the stream gets close.
    np.testing.assert_allclose(reg.coef_, exact.coef_, atol=0.05)


@pytest.mark.parametrize("loss", ["poisson", "gamma", "huber", "quantile", "absolute_error"])
def test_the_sketch_path_reaches_the_optimum_of_every_loss(loss):
    # The private knob sketches 2 * n_features rows: the curvature
    # preconditioner is then only close to the Hessian, the stopping rule
    # stricter, and the optimum must not move.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4)) * [1.0, 10.0, 0.1, 1.0]
    raw = X @ [0.3, -0.04, 2.0, 0.2] + 0.5
    y = np.exp(raw) * rng.gamma(5.0, 0.2, size=300) if loss in ("poisson", "gamma") else (
        raw + rng.standard_t(3, size=300))
    exact = TorchLinearRegressor(loss=loss).fit(X, y)
    sketched = TorchLinearRegressor(loss=loss, random_state=0)
    sketched._sketch_rows = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        sketched.fit(X, y)
    j_exact, j_sketched = exact.loss_curve_[-1], sketched.loss_curve_[-1]
    assert abs(j_sketched - j_exact) <= 1e-6 * abs(j_exact)
    np.testing.assert_allclose(sketched.coef_, exact.coef_, rtol=1e-3, atol=1e-4)
