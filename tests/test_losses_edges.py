"""Losses beyond least squares on the inputs an adversarial review broke them with."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import GammaRegressor

from skorch_lite import TorchLinearRegressor


def _lognormal_gamma(seed=2):
    rng = np.random.default_rng(seed)
    X = rng.lognormal(0, 1.5, (300, 4))
    raw = np.clip(X @ (rng.normal(size=4) * 0.3), -10, 10)
    rng.poisson(np.exp(raw))  # the review's draw order
    return X, rng.gamma(2.0, np.exp(raw) / 2.0)


def _mean_gamma_deviance(y, mu):
    return np.mean(2 * (np.log(mu / y) + y / mu - 1))


def test_a_line_search_trial_beyond_exp_s_range_is_rejected_not_fatal():
    # Trial steps whose predictions overflow exp ended the fit with "not finite".
    X, y = _lognormal_gamma()
    reg = TorchLinearRegressor(loss="gamma").fit(X, y)
    ref = GammaRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    ours, best = _mean_gamma_deviance(y, reg.predict(X)), _mean_gamma_deviance(y, ref.predict(X))
    assert ours == pytest.approx(best, rel=1e-8)


@pytest.mark.parametrize("loss", ["poisson", "gamma"])
def test_a_zero_weight_row_far_out_is_ignored(loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = rng.gamma(2.0, np.exp(X @ [0.3, -0.2]) / 2.0)
    X[0] = [2000.0, 0.0]
    w = np.ones(100)
    w[0] = 0.0
    with_row = TorchLinearRegressor(loss=loss).fit(X, y, sample_weight=w)
    without = TorchLinearRegressor(loss=loss).fit(X[1:], y[1:])
    np.testing.assert_allclose(with_row.coef_, without.coef_, rtol=1e-6, atol=1e-9)


def test_a_poisson_stream_takes_chunks_of_zero_counts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = np.zeros(200)
    y[150:] = rng.poisson(2.0, 50)
    reg = TorchLinearRegressor(loss="poisson", solver="adam")
    for start in range(0, 200, 20):  # the first chunks are all zero
        reg.partial_fit(X[start:start + 20], y[start:start + 20])
    assert np.isfinite(reg.coef_).all() and reg.n_iter_ == 10
    with pytest.raises(ValueError, match="poisson"):
        TorchLinearRegressor(loss="poisson").fit(X, np.zeros(200))


def test_huber_whose_scale_vanishes_warns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ [1.0, 2.0, 3.0] + 0.5
    y[:10] += 100.0
    with pytest.warns(ConvergenceWarning, match="scale_ went to 0"):
        TorchLinearRegressor(loss="huber").fit(X, y)


def test_early_stopping_keeps_the_best_model_on_the_validation_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = X @ rng.normal(size=5) + rng.standard_t(2, size=400)
    reg = TorchLinearRegressor(loss="absolute_error", early_stopping=True,
                               random_state=0).fit(X, y)
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    # The kept model scores best_validation_score_ on the held-out rows;
    # refit with the same split to get them.
    n_val = int(np.ceil(0.1 * 400))
    gen = torch.Generator().manual_seed(
        int(np.random.RandomState(0).randint(np.iinfo(np.int32).max)))
    order = torch.randperm(400, generator=gen).numpy()
    val = order[:n_val]
    pred = reg.predict(X[val])
    r = y[val] - pred
    pinball = np.mean(np.maximum(0.5 * r, -0.5 * r))
    median = np.median(y[val])
    null = np.mean(np.maximum(0.5 * (y[val] - median), -0.5 * (y[val] - median)))
    assert 1 - pinball / null == pytest.approx(reg.best_validation_score_, abs=1e-6)


@pytest.mark.parametrize("loss", ["absolute_error", "quantile"])
def test_a_constant_target_fits_in_one_round(loss):
    X = np.random.default_rng(0).normal(size=(200, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = TorchLinearRegressor(loss=loss).fit(X, np.full(200, 3.0))
    assert reg.n_iter_ <= 3
    np.testing.assert_allclose(reg.predict(X), 3.0)


@pytest.mark.parametrize("function", [
    lambda p, t: torch.maximum(0.9 * (t - p), -0.1 * (t - p)),  # pinball, linear in pieces
    lambda p, t: (p - t).abs(),
])
def test_callables_linear_in_pieces_fit(function):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = TorchLinearRegressor(loss=function).fit(X, y)
    assert np.isfinite(reg.coef_).all()


@pytest.mark.parametrize("function, error, match", [
    (lambda p, t: (p - t).detach() ** 2, TypeError, "does not depend on y_pred"),
    (lambda p, t: (p - t).round().long(), TypeError, "dtype"),
])
def test_callables_that_break_autograd_get_a_clear_error(function, error, match):
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(error, match=match):
        TorchLinearRegressor(loss=function).fit(X, X[:, 0])


def test_a_float32_loss_on_float64_data_is_cast():
    X = np.random.default_rng(0).normal(size=(50, 2))
    y = X @ [1.0, 2.0]
    reg = TorchLinearRegressor(loss=lambda p, t: ((p - t) ** 2).float()).fit(X, y)
    np.testing.assert_allclose(reg.coef_, [1.0, 2.0], atol=1e-4)


def test_a_callable_changing_y_true_in_place_leaves_the_caller_s_y():
    X = np.random.default_rng(0).normal(size=(50, 2))
    y = X @ [1.0, 2.0]
    before = y.copy()

    def rude(p, t):
        t.mul_(2.0)
        return (p - t) ** 2

    with pytest.raises(ValueError, match="changed y_true in place"):
        TorchLinearRegressor(loss=rude).fit(X, y)
    np.testing.assert_array_equal(y, before)


def test_the_fitted_model_keeps_its_link_and_scale_until_refit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = np.exp(X @ [0.2, 0.1]) + rng.normal(scale=0.1, size=100)
    reg = TorchLinearRegressor(loss="huber").fit(X, y)
    pred = reg.predict(X)
    reg.set_params(loss="poisson")
    np.testing.assert_array_equal(reg.predict(X), pred)  # no refit: the Huber model
    assert hasattr(reg, "scale_")
    reg.fit(X, np.round(np.abs(y) * 3))
    assert not hasattr(reg, "scale_")
    assert (reg.predict(X) > 0).all()


def test_poisson_scores_rows_of_zero_counts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = rng.poisson(np.exp(X @ [0.3, 0.2])).astype(float)
    reg = TorchLinearRegressor(loss="poisson").fit(X, y)
    score = reg.score(X[:5], np.zeros(5))
    assert np.isnan(score) or np.isfinite(score)


@pytest.mark.parametrize("loss", ["poisson", "gamma", "huber"])
def test_float32_unscaled_columns_stop_when_a_round_no_longer_lowers_the_objective(loss):
    # Rounds at float32's precision went on to max_iter and warned.
    rng = np.random.default_rng(0)
    scales = np.logspace(-3, 4, 5)
    X = (rng.normal(size=(200, 5)) * scales).astype(np.float32)
    raw = (X / scales) @ [0.3, -0.2, 0.1, 0.2, -0.1]
    y = {"poisson": rng.poisson(np.exp(raw)), "gamma": np.exp(raw) * rng.gamma(5.0, 0.2, 200),
         "huber": raw + rng.standard_t(3, 200)}[loss].astype(np.float32)
    reg = TorchLinearRegressor(loss=loss).fit(X, y)
    reference = TorchLinearRegressor(loss=loss).fit(X.astype(np.float64), y.astype(np.float64))
    assert reg.n_iter_ < 50
    assert reg.loss_curve_[-1] == pytest.approx(reference.loss_curve_[-1], rel=1e-4)


@pytest.mark.parametrize("loss", ["huber", "quantile", "absolute_error"])
def test_a_stream_of_any_loss_learns_the_same_whatever_the_units_of_y(loss):
    # SGD's steps grew with y's units: Huber on 1000 y overshot by 1000.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = X @ [1.0, 2.0, 3.0] + 3.0
    unit = TorchLinearRegressor(solver="sgd", loss=loss).partial_fit(X, y).coef_
    scaled = TorchLinearRegressor(solver="sgd", loss=loss).partial_fit(X, 1000 * y).coef_
    np.testing.assert_allclose(scaled / 1000, unit, rtol=1e-5)


@pytest.mark.parametrize("seed, p, early_stopping", [
    (0, 3, True), (2, 1, True), (5, 8, False), (7, 1, False), (25, 8, True)])
def test_adam_huber_fits_exact_data(seed, p, early_stopping):
    # Rows fitted exactly make the start scale rounding-sized; one Adam step
    # of fixed length in the log-scale variable then asked exp() for 1e4 and
    # the loss became infinite (these seeds, before the fix).
    X = np.random.default_rng(seed).normal(size=(300, p))
    coef = np.arange(1.0, p + 1)
    y = X @ coef + 3.0
    reg = TorchLinearRegressor(solver="adam", loss="huber", early_stopping=early_stopping,
                               random_state=seed).fit(X, y)
    np.testing.assert_allclose(reg.coef_, coef, atol=1e-3)


def test_a_failed_refit_restores_the_fitted_link(monkeypatch):
    import skorch_lite._regressor as regressor_module

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = np.abs(X @ [1.0, 2.0, 3.0]) + 0.1
    reg = TorchLinearRegressor(loss="poisson").fit(X, y)
    pred = reg.predict(X)
    reg.set_params(loss="huber")

    def broken(self, value):
        raise RuntimeError("after the link was set")

    monkeypatch.setattr(regressor_module.ArraySpace, "put", broken)
    with pytest.raises(RuntimeError):
        reg.fit(X, y)
    monkeypatch.undo()
    np.testing.assert_array_equal(reg.predict(X), pred)


@pytest.mark.parametrize("loss", ["poisson", "huber"])
def test_a_warm_start_of_any_loss_takes_the_better_start(loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = rng.poisson(np.exp(X @ [0.3, -0.2, 0.1] + 1.0)).astype(float)
    reg = TorchLinearRegressor(loss=loss, warm_start=True).fit(X, y)
    first = reg.n_iter_
    reg.fit(X, y)  # the previous model is the optimum: one round confirms it
    assert reg.n_iter_ <= first
    cold = TorchLinearRegressor(loss=loss, alpha=1e4).fit(X, y)
    warm = reg.set_params(alpha=1e4).fit(X, y)
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("loss", ["poisson", "gamma"])
@pytest.mark.parametrize("weighted", [False, True])
def test_exactly_log_linear_targets_converge_without_a_warning(loss, weighted):
    # scikit-learn's sample-weight checks: y = 2.5 - 0.5 x2 is exactly log-linear
    # too (two values). The deviance cancels to ~1e-16 at the optimum, where
    # L-BFGS resolves it only to eps times its terms: the fits stalled there
    # and warned.
    X = np.array([[1, 3]] * 4 + [[2, 1]] * 4 + [[3, 3]] * 4 + [[4, 1]] * 4, dtype=float)
    y = np.exp(X @ [0.1, -0.3] + 0.5)
    w = np.arange(1.0, 17.0) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = TorchLinearRegressor(loss=loss, alpha=0.0).fit(X, y, w)
    # The objective is resolved to eps times its terms: the minimizer to
    # about sqrt(eps) of the predictions.
    np.testing.assert_allclose(reg.predict(X), y, rtol=1e-6)


# ------------------------------------------ found by a review that tried to break it


@pytest.mark.parametrize("loss", ["huber", "quantile", "absolute_error"])
def test_float32_targets_near_1e19_fit(loss):
    # Squares of float32 residuals of 1e19 overflowed: a ZeroDivisionError.
    X, y = _diabetes()
    X32 = X.astype(np.float32)
    small = TorchLinearRegressor(loss=loss).fit(X32, y.astype(np.float32))
    large = TorchLinearRegressor(loss=loss).fit(X32, (y * 1e17).astype(np.float32))
    # Pinball minimizers need not be unique: compare the mean absolute error.
    errors = [np.mean(np.abs(y - pred)) for pred in
              (large.predict(X32).astype(float) / 1e17, small.predict(X32))]
    assert errors[0] == pytest.approx(errors[1], rel=1e-4)


def test_float32_pinball_with_a_tight_tol_is_no_worse_than_with_the_default():
    # A smoothing finer than float32 resolves made the last rounds worse
    # (43.0 -> 76.6 mean absolute error), and the last round was kept.
    X, y = _diabetes()
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    maes = [np.mean(np.abs(y - TorchLinearRegressor(loss="absolute_error", tol=tol)
                           .fit(X32, y32).predict(X32))) for tol in (1e-8, 1e-12)]
    assert maes[1] <= maes[0] * (1 + 1e-5)


@pytest.mark.parametrize("ys", [[1e-80, 1e80], [1e-160, 1.0], [1.0, 1e160]])
def test_gamma_targets_spanning_many_orders_reach_the_optimum(ys):
    # The working response (y / mu of 1e160) overflowed: "y holds values too large".
    X = np.arange(6.0)[:, None]
    y = np.array(ys * 3)
    ours = TorchLinearRegressor(loss="gamma").fit(X, y)
    ref = GammaRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    best = _mean_gamma_deviance(y, ref.predict(X))
    assert _mean_gamma_deviance(y, ours.predict(X)) == pytest.approx(best, rel=1e-8)


def test_a_callable_that_changes_y_true_in_place_is_an_error():
    def doubles_targets(y_pred, y_true):
        y_true.mul_(2)
        return (y_pred - y_true) ** 2

    X, y = _diabetes()
    with pytest.raises(ValueError, match="changed y_true in place"):
        TorchLinearRegressor(loss=doubles_targets).fit(X, y)


def test_a_stream_cannot_continue_across_links():
    X, y = _diabetes()
    reg = TorchLinearRegressor(loss="huber", solver="adam", random_state=0).partial_fit(X, y)
    coef = reg.coef_.copy()
    with pytest.raises(ValueError, match="log link"):
        reg.set_params(loss="poisson").partial_fit(X, y)
    np.testing.assert_array_equal(reg.coef_, coef)


@pytest.mark.parametrize("loss", ["huber", "poisson"])
def test_early_stopping_is_not_blamed_on_max_iter(loss):
    X, y = _diabetes()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = TorchLinearRegressor(loss=loss, early_stopping=True, random_state=0).fit(X, y)
    assert reg.n_iter_ < reg.max_iter


def test_an_all_zero_poisson_training_split_says_so():
    X = np.random.default_rng(0).normal(size=(50, 2))
    y = np.zeros(50)
    y[7] = 3.0
    with pytest.raises(ValueError, match="training rows of the early-stopping split"):
        TorchLinearRegressor(loss="poisson", early_stopping=True, random_state=4).fit(X, y)


def _diabetes():
    from sklearn.datasets import load_diabetes

    return load_diabetes(return_X_y=True)


def test_a_huber_warm_refit_on_the_same_data_converges_at_once():
    # The warm start began at the residuals' size, not the fitted scale_:
    # the refit took as many iterations as a cold fit (14 on diabetes).
    X, y = _diabetes()
    reg = TorchLinearRegressor(loss="huber", warm_start=True).fit(X, y)
    coef, scale = reg.coef_.copy(), reg.scale_
    reg.fit(X, y)
    assert reg.n_iter_ == 1
    np.testing.assert_allclose(reg.coef_, coef, rtol=1e-9, atol=1e-9)
    assert reg.scale_ == pytest.approx(scale, rel=1e-9)


def test_huber_rounds_stop_once_within_tol(monkeypatch):
    # A Huber round's Newton step holds the scale still, so the rounds
    # converge only linearly: polished down to rounding they were 86
    # curvature refreshes (an SVD each) at 400 x 200, and 108 at 1000 x 500.
    from sklearn.linear_model import HuberRegressor

    import skorch_lite._newton as newton

    refreshes = []
    original = newton._curvature_preconditioner
    monkeypatch.setattr(newton, "_curvature_preconditioner",
                        lambda *a, **k: refreshes.append(1) or original(*a, **k))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 200))
    y = X @ rng.normal(size=200) + rng.standard_t(2, size=400)
    model = TorchLinearRegressor(loss="huber", alpha=0).fit(X, y)
    assert len(refreshes) <= 5
    reference = HuberRegressor(alpha=0, max_iter=10000, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-3,
                               atol=1e-3 * np.abs(reference.coef_).max())


@pytest.mark.parametrize("loss", ["quantile", "absolute_error"])
def test_a_pinball_warm_refit_on_the_same_data_converges_at_once(loss):
    # The previous model minimized the finest smoothing: the continuation
    # from the residuals' size took 53 iterations (200 at 300 x 60) to
    # come back to it.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 60))
    y = X @ rng.normal(size=60) + rng.standard_t(3, size=300)
    model = TorchLinearRegressor(loss=loss, alpha=0, warm_start=True).fit(X, y)
    coef = model.coef_.copy()
    model.fit(X, y)
    assert model.n_iter_ <= 5
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-4, atol=1e-6)


def test_huber_on_targets_of_zeros_says_the_scale_vanished_and_nothing_else():
    X = np.random.default_rng(0).normal(size=(50, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = TorchLinearRegressor(loss="huber").fit(X, np.zeros(50))
    assert [str(w.message)[:33] for w in caught] == ["loss='huber': scale_ went to 0: t"]
    assert np.all(model.coef_ == 0) and model.intercept_ == 0


@pytest.mark.parametrize("function, match", [
    (lambda p, t: np.abs(p - t), "torch operations"),
    (lambda p, t: (p - t) * float("nan"), "callable loss must be finite"),
])
def test_a_callable_s_errors_name_what_it_did(function, match):
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises((TypeError, ValueError), match=match) as error:
        TorchLinearRegressor(loss=function).fit(X, X[:, 0])
    assert "log-link" not in str(error.value)


def test_adam_pinball_s_geometry_does_not_hang_on_a_row_fitted_to_rounding():
    # The least-squares start passes through the high-leverage row to
    # rounding; its IRLS curvature 1 / |r| was 1e299 for y and 1e14 for
    # 10 y: rank 0 (no step at all) for one, a fit for the other.
    X = np.array([[3.0], [-0.333333333333334]] + [[-0.33333333333333365]] * 8)
    y = np.array([0.5, -0.56180339887, 0.52360679774, -0.58541019661, 0.54721359548,
                  -0.50901699435, 0.57082039322, -0.53262379209, 0.59442719096, -0.55623058983])
    options = dict(loss="quantile", quantile=0.1, alpha=0, solver="adam", max_iter=30, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = [TorchLinearRegressor(**options).fit(X, c * y) for c in (1.0, 10.0)]
    assert fits[0].n_iter_ == 30
    np.testing.assert_allclose(fits[1].coef_ / 10, fits[0].coef_, rtol=1e-2)
