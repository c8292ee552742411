"""State carried between calls: atomic fits, shape changes, streams, set_params, interrupts.

Each test is one of the cases of issue 12, with the value it must give.
"""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge

import skorch_lite._regressor as regressor_module
from skorch_lite import FitInterruptedWarning, TorchLinearRegressor
from estimators import SketchedStart
from skorch_lite._stopping import Stopper
from skorch_lite._inputs import sparse_as_tensor
from skorch_lite._progress import Progress
from skorch_lite._stream import Moments


def _line(n_rows=300, seed=0):
    """y = X @ [1, 2, -1] + 3, the stream of the issue."""
    X = np.random.default_rng(seed).normal(size=(n_rows, 3))
    return X, X @ [1.0, 2.0, -1.0] + 3.0


def _fitted(reg):
    """The fitted attributes, copied, to compare before and after a call."""
    return copy.deepcopy({k: v for k, v in vars(reg).items() if k.endswith("_") or k.startswith("_")})


def _assert_same_state(before, reg):
    _assert_equal_deeply(before, _fitted(reg))


def _assert_equal_deeply(expected, actual, where="state"):
    """Equal to the last bit, through dicts, lists and arrays (repr rounds arrays)."""
    assert type(actual) is type(expected), where
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for key in expected:
            _assert_equal_deeply(expected[key], actual[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual)):
            _assert_equal_deeply(e, a, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert_array_equal(actual, expected, err_msg=where, strict=True)
    else:
        assert actual == expected or (actual != actual and expected != expected), where


# ------------------------------------------------ 1. a fit is atomic


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_call_with_bad_input_changes_nothing(method):
    X, y = _line()
    reg = TorchLinearRegressor(solver="sgd", warm_start=True).partial_fit(X, y)
    before = _fitted(reg)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        getattr(reg, method)(bad, y)
    _assert_same_state(before, reg)


def test_a_diverging_fit_changes_nothing():
    X, y = load_diabetes(return_X_y=True)
    reg = SketchedStart(solver="sgd").fit(X, y)
    before = _fitted(reg)
    with pytest.raises(ValueError, match="diverged"):
        reg.set_params(learning_rate_init=50.0, momentum=0.0).fit(X, y)
    _assert_same_state(before, reg)


@pytest.mark.parametrize("rate", [0.01, 1e-300])
def test_a_call_that_starts_far_above_the_mean_predictor_has_not_diverged(rate):
    # The model of one outlying row is ~300 times worse than the mean
    # predictor of the whole stream: judged at the start, every later call
    # "diverged" and was rolled back, so the estimator never recovered.
    X, y = _line()
    reg = TorchLinearRegressor(solver="sgd", learning_rate_init=rate, random_state=0)
    reg.partial_fit(X[:1], y[:1] + 30.0)
    for _ in range(300):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 301
    if rate == 0.01:
        assert_allclose(reg.coef_, [1.0, 2.0, -1.0], atol=1e-6)


def test_divergence_from_a_far_start_is_measured_from_the_start():
    X, y = _line()
    reg = TorchLinearRegressor(solver="sgd", random_state=0).partial_fit(X[:1], y[:1] + 30.0)
    before = _fitted(reg)
    with pytest.raises(ValueError, match="diverged.*times its value at the start of this call"):
        reg.set_params(learning_rate_init=1e6).partial_fit(X, y)
    _assert_same_state(before, reg)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_failing_partial_fit_leaves_the_saved_optimizer_state_bit_for_bit(solver):
    # The optimizer updates its state in place: resumed from the stored
    # arrays without a copy, a step that then diverged changed them.
    X, y = _line()
    reg = TorchLinearRegressor(solver=solver).partial_fit(X, y).partial_fit(X, y)
    snapshot = copy.copy(reg)
    before = _fitted(reg)
    with pytest.raises(ValueError, match="diverged"):
        reg.set_params(learning_rate_init=1e6).partial_fit(X, y)
    _assert_same_state(before, reg)
    # A shallow copy taken before a later successful call is not changed by it.
    reg.set_params(learning_rate_init=0.01).partial_fit(X, y)
    _assert_same_state(before, snapshot)


def test_an_unfitted_estimator_stays_unfitted_after_a_failed_fit():
    X, y = _line()
    reg = TorchLinearRegressor()
    with pytest.raises(ValueError):
        reg.fit(X, y[:-1])
    assert not [key for key in vars(reg) if key.endswith("_")]


def test_an_interrupt_outside_the_training_loop_is_raised_and_changes_nothing(monkeypatch):
    X, y = _line()
    reg = TorchLinearRegressor().fit(X, y)
    before = _fitted(reg)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(regressor_module, "fit_preconditioner", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reg.fit(X[:, :2], y)
    _assert_same_state(before, reg)


# ------------------------------------------------ 2. shape changes


def test_warm_start_with_other_features_raises_naming_both_counts_and_keeps_the_model():
    X, y = _line()
    reg = TorchLinearRegressor(warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but .* fitted with 3 features.*warm_start"):
        reg.fit(X[:, :2], y)
    assert reg.n_features_in_ == 3 and reg.coef_.shape == (3,)
    assert_allclose(reg.predict(X), y, atol=1e-9)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_changed_target_count_raises_naming_both_counts(method):
    X, y = _line()
    reg = TorchLinearRegressor(solver="sgd", warm_start=True)
    getattr(reg, method)(X, y)
    with pytest.raises(ValueError, match="y has 2 target.*fitted with 1 target"):
        getattr(reg, method)(X, np.c_[y, y])
    assert reg.coef_.shape == (3,)
    assert reg.predict(X).shape == (300,)


def test_partial_fit_with_other_features_raises_naming_both_counts():
    X, y = _line()
    reg = TorchLinearRegressor(solver="adam").partial_fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features.*expecting 3"):
        reg.partial_fit(X[:, :2], y)
    assert reg.n_iter_ == 1


def test_without_warm_start_a_new_shape_is_a_new_fit():
    X, y = _line()
    reg = TorchLinearRegressor().fit(X, y)
    reg.fit(X[:, :2], np.c_[y, y])
    assert reg.n_features_in_ == 2 and reg.coef_.shape == (2, 2)


# ------------------------------------------------ 3. partial_fit on a stream


@pytest.mark.parametrize("first_rows", [1, 2, 3])
@pytest.mark.parametrize("solver, atol", [("sgd", 1e-6), ("adam", 1e-2)])
def test_partial_fit_learns_the_line_whatever_the_first_chunk(first_rows, solver, atol):
    X, y = _line()
    reg = TorchLinearRegressor(solver=solver, random_state=0)
    reg.partial_fit(X[:first_rows], y[:first_rows])
    for _ in range(300):
        reg.partial_fit(X, y)
    assert_allclose(reg.coef_, [1.0, 2.0, -1.0], atol=atol)
    assert reg.intercept_ == pytest.approx(3.0, abs=atol)


def test_a_column_constant_in_the_first_chunk_still_learns():
    X, _ = _line()
    X[:50, 2] = 5.0
    y = X @ [1.0, 2.0, -1.0] + 3.0
    reg = TorchLinearRegressor(solver="sgd", random_state=0).partial_fit(X[:50], y[:50])
    for _ in range(300):
        reg.partial_fit(X, y)
    assert_allclose(reg.coef_, [1.0, 2.0, -1.0], atol=1e-6)


def test_a_column_zero_in_the_first_chunk_still_learns():
    X, _ = _line()
    X[:50, 0] = 0.0
    y = X @ [1.0, 2.0, -1.0] + 3.0
    reg = TorchLinearRegressor(solver="adam", fit_intercept=False, random_state=0)
    reg.partial_fit(X[:50], y[:50] - 3.0)
    for _ in range(300):
        reg.partial_fit(X, y - 3.0)
    assert_allclose(reg.coef_, [1.0, 2.0, -1.0], atol=1e-2)


def _far_from_zero(n_rows=300):
    """A column of values 1e6 with a spread of 1e-3 beside two plain ones."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, 3))
    X[:, 0] = 1e6 + 1e-3 * rng.normal(size=n_rows)
    return X, X @ [1000.0, 2.0, -1.0] + 3.0


@pytest.mark.parametrize("sparse", [False, True])
def test_stream_moments_keep_a_small_spread_on_large_values(sparse):
    X, y = _far_from_zero()
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(X))
    X_in = sp.csr_matrix(X) if sparse else X
    X_t = sparse_as_tensor(X_in, torch.device("cpu")) if sparse else torch.as_tensor(X)
    moments = Moments.of(X_t, torch.as_tensor(y)[:, None], torch.as_tensor(w))
    mean = np.average(X, axis=0, weights=w)
    assert_allclose(moments.x_mean, mean, rtol=1e-15, atol=1e-15)
    assert_allclose(moments.x_m2 / moments.weight, np.average((X - mean) ** 2, axis=0, weights=w),
                    rtol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_partial_fit_learns_a_coefficient_on_large_values_with_a_small_spread(sparse):
    X, y = _far_from_zero()
    X_in = sp.csr_matrix(X) if sparse else X
    reg = TorchLinearRegressor(solver="sgd", random_state=0)
    for _ in range(300):
        reg.partial_fit(X_in, y)
    assert_allclose(reg.coef_, Ridge(alpha=0.0).fit(X, y).coef_, rtol=1e-6)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("weight", [1e-320, 1e307])
def test_partial_fit_with_tiny_or_huge_weights_trains_as_with_unit_weights(solver, weight):
    # One chunk's objective is the same for weights and alpha scaled together.
    X, y = _line()
    expected = TorchLinearRegressor(solver=solver, alpha=1.0, random_state=0)
    reg = TorchLinearRegressor(solver=solver, alpha=weight, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            expected.partial_fit(X, y)
            reg.partial_fit(X, y, sample_weight=np.full(len(y), weight))
    assert_allclose(reg.coef_, expected.coef_, rtol=1e-12)
    assert_allclose(reg.loss_curve_, expected.loss_curve_, rtol=1e-12)


def test_stream_chunks_with_weights_far_apart_merge_without_overflow():
    X, y = _line()
    reg = TorchLinearRegressor(solver="sgd", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for weight in (1e-300, 1e307, 1.0, 1e-320):
            reg.partial_fit(X, y, sample_weight=np.full(len(y), weight))
    moments = reg._stream["moments"]
    assert moments["unit"] == 1e307
    assert_allclose(moments["x_mean"], X.mean(axis=0), rtol=1e-12)
    assert np.isfinite(reg.coef_).all()


# ------------------------------------------------ 4. current parameters apply


def test_learning_rate_set_between_partial_fit_calls_takes_effect():
    X, y = _line()
    steps = {}
    for rate in (0.01, 1e-12):
        reg = TorchLinearRegressor(solver="sgd").partial_fit(X, y)
        start = reg.coef_.copy()
        reg.set_params(learning_rate_init=rate).partial_fit(X, y)
        steps[rate] = np.abs(reg.coef_ - start).max()
    assert steps[1e-12] == pytest.approx(steps[0.01] * 1e-10, rel=1e-3)


def test_momentum_set_between_partial_fit_calls_takes_effect():
    # Full-batch SGD: one step per call, in variables linear in coef_. With
    # momentum m the second step is the gradient step plus m times the first.
    X, y = _line()
    reg = TorchLinearRegressor(solver="sgd").partial_fit(X, y)
    first = reg.coef_.copy()
    kept = copy.deepcopy(reg).partial_fit(X, y)
    reg.set_params(momentum=0.0).partial_fit(X, y)
    assert_allclose(kept.coef_ - first, (reg.coef_ - first) + 0.9 * first, rtol=1e-10)


@pytest.mark.parametrize("pause", [[0.0, 0.0, 0.0], [0.5]])
def test_a_velocity_is_not_carried_across_a_change_of_momentum(pause):
    # After calls with momentum 0 (torch keeps, unused, the velocity it was
    # given) or another momentum, the first step under 0.9 is a plain
    # gradient step, as from a fresh start: not the velocity of long ago.
    X, y = _line()
    reg = TorchLinearRegressor(solver="sgd", momentum=0.9)
    for _ in range(5):
        reg.partial_fit(X, y)
    for momentum in pause:
        reg.set_params(momentum=momentum).partial_fit(X, y)
    plain = copy.deepcopy(reg).set_params(momentum=0.0).partial_fit(X, y)
    reg.set_params(momentum=0.9).partial_fit(X, y)
    assert_allclose(reg.coef_, plain.coef_, rtol=1e-12)


@pytest.mark.parametrize("before, after", [("adam", "sgd"), ("sgd", "adam")])
def test_a_solver_change_between_partial_fit_calls_restarts_the_optimizer(before, after):
    X, y = _line()
    reg = TorchLinearRegressor(solver=before).partial_fit(X, y)
    reg.set_params(solver=after).partial_fit(X, y)
    assert reg._optimizer_state["solver"] == after
    assert reg.n_iter_ == 2 and len(reg.loss_curve_) == 2
    assert np.isfinite(reg.predict(X)).all()


# ------------------------------------------------ 5. patience


def test_patience_counts_from_the_first_comparison():
    stopper = Stopper(1e-8, 1)
    assert not stopper.update(1.0)  # the first value is the reference
    assert stopper.update(1.0)  # one iteration without improvement


def test_n_iter_no_change_one_does_not_stop_lbfgs_before_the_optimum():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 30)) * rng.uniform(0.1, 10, 30)
    y = X @ rng.normal(size=30) + rng.normal(size=5000)
    reg = TorchLinearRegressor(n_iter_no_change=1)
    reg._refine_start = False  # L-BFGS from the sketch's solution: several iterations
    reg = reg.fit(X, y)
    best = Ridge(alpha=0.0).fit(X, y)

    def mse(model):
        return np.mean((y - model.predict(X)) ** 2)

    assert reg.n_iter_ > 1
    assert mse(reg) <= mse(best) * (1 + 1e-8)


def test_a_numpy_scalar_tol_does_not_warn():
    X, y = _line()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TorchLinearRegressor(tol=np.float64(1e-8), early_stopping=True).fit(X, y)


# ------------------------------------------------ 6. KeyboardInterrupt


def _interrupt_progress_at(monkeypatch, iteration):
    update = Progress.update

    def interrupting(self, it, *args, **kwargs):
        update(self, it, *args, **kwargs)
        if it == iteration:
            raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "update", interrupting)


def test_an_interrupt_keeps_the_model_reached_and_warns_with_the_iteration(monkeypatch):
    X, y = load_diabetes(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = SketchedStart(solver="sgd", max_iter=7, random_state=0).fit(X, y)
    _interrupt_progress_at(monkeypatch, 7)
    reg = SketchedStart(solver="sgd", random_state=0)
    with pytest.warns(FitInterruptedWarning, match="after 7 completed"):
        reg.fit(X, y)
    assert reg.n_iter_ == 7 == len(reg.loss_curve_)
    assert_array_equal(reg.coef_, expected.coef_)
    assert reg.loss_curve_ == expected.loss_curve_


def test_an_interrupt_inside_a_step_falls_back_to_the_last_completed_iteration(monkeypatch):
    # More rows than the sketch, its solution not refined: L-BFGS needs
    # more than one iteration.
    X, y = _line(5000)
    y = y + np.random.default_rng(1).normal(size=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = TorchLinearRegressor(max_iter=1, random_state=0)
        expected._refine_start = False
        expected.fit(X, y)
    step = torch.optim.LBFGS.step
    calls = []

    def interrupting(self, closure):
        calls.append(1)
        if len(calls) == 2:
            closure()  # the line search had started: the variables moved
            with torch.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        p.add_(1.0)
            raise KeyboardInterrupt
        return step(self, closure)

    monkeypatch.setattr(torch.optim.LBFGS, "step", interrupting)
    reg = TorchLinearRegressor(random_state=0)
    reg._refine_start = False
    with pytest.warns(FitInterruptedWarning, match="after 1 completed"):
        reg.fit(X, y)
    assert reg.n_iter_ == 1 == len(reg.loss_curve_)
    assert_array_equal(reg.coef_, expected.coef_)


def test_an_interrupted_minibatch_fit_keeps_the_best_model_seen(monkeypatch):
    X, y = load_diabetes(return_X_y=True)
    _interrupt_progress_at(monkeypatch, 3)
    reg = SketchedStart(solver="adam", batch_size=50, random_state=0)
    with pytest.warns(FitInterruptedWarning):
        reg.fit(X, y)
    assert reg.n_iter_ == 3 == len(reg.loss_curve_)
    loss = np.mean((y - reg.predict(X)) ** 2)
    assert loss == pytest.approx(min(reg.loss_curve_), rel=1e-6)


def _interrupt_every_step(monkeypatch, optimizer):
    def interrupted(self, closure=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(optimizer, "step", interrupted)


@pytest.mark.parametrize("solver, optimizer", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam)])
def test_an_interrupt_that_completed_nothing_leaves_partial_fit_exactly_as_before(
    monkeypatch, solver, optimizer
):
    # Mid-epoch: no iteration of this call completes, so nothing of it is
    # kept: not the chunk's moments, not the optimizer's state, not a step.
    X, y = _line()
    reg = TorchLinearRegressor(solver=solver, batch_size=50).partial_fit(X, y)
    before = _fitted(reg)
    _interrupt_every_step(monkeypatch, optimizer)
    with pytest.warns(FitInterruptedWarning, match="before completing an iteration.*unchanged"):
        reg.partial_fit(X[:100] + 5.0, y[:100])
    _assert_same_state(before, reg)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_an_interrupt_that_completed_nothing_leaves_an_unfitted_estimator_unfitted(
    monkeypatch, method
):
    X, y = _line(5000)
    y = y + np.random.default_rng(1).normal(size=5000)  # the start is not optimal
    reg = TorchLinearRegressor(solver="lbfgs" if method == "fit" else "adam")
    reg._refine_start = False  # the sketch's solution: not optimal
    before = _fitted(reg)
    _interrupt_every_step(monkeypatch, torch.optim.LBFGS if method == "fit" else torch.optim.Adam)
    with pytest.warns(FitInterruptedWarning, match="before completing an iteration"):
        getattr(reg, method)(X, y)
    _assert_same_state(before, reg)
    assert not hasattr(reg, "coef_")


@pytest.mark.parametrize(
    "solver, rate, at",
    [
        ("sgd", 0.3, 6),  # iteration 5 is 1.4 times lower than iteration 6
        ("adam", 0.5, 2),  # the start is lower than both iterations
    ],
)
def test_an_interrupted_full_batch_fit_keeps_the_best_of_the_start_and_iterations(
    monkeypatch, solver, rate, at
):
    # Full-batch SGD and Adam at large steps do not decrease the objective
    # monotonically: the last iterate is not the best model reached.
    X, y = load_diabetes(return_X_y=True)
    params = dict(solver=solver, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = SketchedStart(**params, learning_rate_init=1e-300, max_iter=1).fit(X, y)
    start_loss = np.mean((y - start.predict(X)) ** 2)
    _interrupt_progress_at(monkeypatch, at)
    reg = SketchedStart(**params, learning_rate_init=rate)
    with pytest.warns(FitInterruptedWarning, match=f"after {at} completed"):
        reg.fit(X, y)
    assert reg.n_iter_ == at == len(reg.loss_curve_)
    loss = np.mean((y - reg.predict(X)) ** 2)
    assert loss == pytest.approx(min(start_loss, *reg.loss_curve_), rel=1e-9)
    assert loss < reg.loss_curve_[-1] / 1.3


# ------------------------------------------------ 7. partial_fit with L-BFGS


def test_partial_fit_with_lbfgs_names_the_solvers_that_have_it():
    reg = TorchLinearRegressor()
    assert not hasattr(reg, "partial_fit")
    with pytest.raises(AttributeError, match=r"solver in \('adam', 'sgd'\).*solver='lbfgs'"):
        reg.partial_fit(*_line())


def test_partial_fit_taken_from_the_class_checks_the_solver_when_it_runs():
    X, y = _line()
    with pytest.raises(AttributeError, match=r"solver in \('adam', 'sgd'\).*solver='lbfgs'"):
        TorchLinearRegressor.partial_fit(TorchLinearRegressor(), X, y)


def test_partial_fit_bound_before_a_solver_change_checks_the_solver_when_it_runs():
    X, y = _line()
    reg = TorchLinearRegressor(solver="adam")
    bound = reg.partial_fit
    reg.set_params(solver="lbfgs")
    with pytest.raises(AttributeError, match="solver='lbfgs'"):
        bound(X, y)
    assert not hasattr(reg, "coef_")


def test_partial_fit_with_an_invalid_solver_is_a_parameter_error():
    from sklearn.utils._param_validation import InvalidParameterError

    reg = TorchLinearRegressor(solver="newton")
    assert hasattr(reg, "partial_fit")
    with pytest.raises(InvalidParameterError, match="'solver' parameter"):
        reg.partial_fit(*_line())


# ------------------------------------------------ 8. tensors that require grad


def test_a_tensor_that_requires_grad_is_used_detached():
    X, y = _line()
    X_t = torch.tensor(X, requires_grad=True)
    y_t = torch.tensor(y, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = TorchLinearRegressor().fit(X_t, y_t)
        pred = reg.predict(X_t)
    assert X_t.grad is None and y_t.grad is None
    assert X_t.requires_grad and X_t.is_leaf
    assert_allclose(reg.coef_, [1.0, 2.0, -1.0], atol=1e-10)
    assert isinstance(pred, np.ndarray)


# ------------------------------------------------ 9. no false ConvergenceWarning


def _small_problems():
    X6 = np.random.default_rng(0).normal(size=(6, 5))
    y6 = np.random.default_rng(1).normal(size=6)
    return {"6x5": (X6, y6), "diabetes": load_diabetes(return_X_y=True)}


def _gap(reg, X, y):
    """Objective above the optimum, relative to the optimum (floored at 10 eps).

    In the standardized units of the stopping rule (the mean predictor
    scores 1), as its docstring states the tolerance.
    """
    best = np.mean((y - Ridge(alpha=0.0).fit(X, y).predict(X)) ** 2) / np.var(y)
    fitted = np.mean((y - reg.predict(X)) ** 2) / np.var(y)
    return (fitted - best) / max(best, 10 * np.finfo(np.float64).eps)


@pytest.mark.parametrize(
    "solver",
    [
        "lbfgs",
        "sgd",
        "adam",
    ],
)
@pytest.mark.parametrize("problem", ["6x5", "diabetes"])
def test_defaults_do_not_warn_where_the_fit_is_at_the_optimum(solver, problem):
    X, y = _small_problems()[problem]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = TorchLinearRegressor(solver=solver).fit(X, y)
    assert _gap(reg, X, y) <= 1e-8


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_defaults_still_warn_where_the_fit_is_not_at_the_optimum(solver):
    X, y = _small_problems()["diabetes"]
    with pytest.warns(ConvergenceWarning, match="max_iter=20"):
        reg = SketchedStart(solver=solver, max_iter=20).fit(X, y)
    assert _gap(reg, X, y) > 1e-8


def _above_the_sketch_size():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 5))
    return X, X @ rng.normal(size=5) + rng.normal(size=3000)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_minibatch_fit_stopped_at_its_noise_floor_warns_with_the_excess(solver):
    # At the defaults no epoch of batches of 32 beats the sketch's start,
    # which is 1e-3 above the optimum: the patience rule is no certificate.
    X, y = _above_the_sketch_size()
    with pytest.warns(ConvergenceWarning, match=(
        r"noise floor of mini-batch.*an estimated \S+ \(relative\) above.*Lower learning_rate_init, "
        r"raise batch_size, or train on the full batch"
    )):
        reg = TorchLinearRegressor(solver=solver, batch_size=32, random_state=0).fit(X, y)
    assert _gap(reg, X, y) > 1e-8


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_minibatch_fit_below_the_sketch_size_starts_at_the_optimum_and_does_not_warn(solver):
    X, y = _above_the_sketch_size()
    X, y = X[:1000], y[:1000]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = TorchLinearRegressor(solver=solver, batch_size=32, random_state=0).fit(X, y)
    assert reg.n_iter_ == 1
    assert _gap(reg, X, y) <= 1e-8


def test_warm_start_takes_the_sketch_solution_when_the_previous_model_is_worse():
    # After set_params(alpha=1.0) the previous model is 5e-5 above the new
    # optimum; the sketch's solution (every row of diabetes) is on it.
    X, y = load_diabetes(return_X_y=True)
    reg = TorchLinearRegressor(solver="adam", warm_start=True).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg.set_params(alpha=1.0).fit(X, y)
    assert reg.n_iter_ == 1
    assert_allclose(reg.coef_, Ridge(alpha=1.0).fit(X, y).coef_, rtol=1e-7)


def test_warm_start_on_shifted_targets_neither_diverges_nor_starts_far():
    X, y = _line()
    reg = TorchLinearRegressor(solver="sgd", warm_start=True).fit(X, y)
    reg.fit(X, y + 50.0)
    assert reg.n_iter_ == 1
    assert reg.intercept_ == pytest.approx(53.0, abs=1e-9)


def test_partial_fit_continues_a_model_pickled_before_the_stream_statistics():
    # 0.1.0 stored the first chunk's preconditioner and a bare optimizer state.
    X, y = _line()
    reg = TorchLinearRegressor(solver="adam").partial_fit(X, y)
    del reg._stream
    reg._optimizer_state = reg._optimizer_state["state"]
    reg.partial_fit(X, y)
    assert reg.n_iter_ == 2 and set(reg._optimizer_state) == {"solver", "loss", "state"}
