"""Any sequence of calls leaves the estimator unfitted or fully consistent.

A Hypothesis state machine drives one estimator through fits, partial_fits,
warm-start refits, ``set_params`` of any parameter, changes of the number of
features and targets, of dtype, device and input type, bad input and
interrupts (in the loop, before an iteration completes, before the loop)
and diverging steps. After every step the estimator is either unfitted or
consistent (``coef_`` matches ``n_features_in_`` and the targets of the last
successful call, ``predict`` is finite, ``len(loss_curve_) == n_iter_``), and
a call that raised, or was interrupted before completing an iteration,
changed nothing in ``vars()``, bit for bit (the optimizer's saved state
included).
"""

import contextlib
import copy
import warnings
from unittest import mock

import numpy as np
import pandas as pd
import torch
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sklearn.exceptions import ConvergenceWarning

import skorch_lite._regressor as regressor_module
from skorch_lite import FitInterruptedWarning, TorchLinearRegressor
from skorch_lite._progress import Progress

# Errors a call may legitimately raise on valid data; anything else is a bug.
EXPECTED_ERRORS = ("diverged", "early_stopping", "features", "target", "feature names")

PARAMETERS = st.one_of(
    st.tuples(st.just("solver"), st.sampled_from(["lbfgs", "adam", "sgd"])),
    st.tuples(st.just("learning_rate_init"), st.floats(1e-4, 0.1)),
    st.tuples(st.just("momentum"), st.floats(0.0, 0.95)),
    st.tuples(st.just("batch_size"), st.none() | st.integers(1, 8)),
    st.tuples(st.just("max_iter"), st.integers(1, 12)),
    st.tuples(st.just("tol"), st.sampled_from([0.0, 1e-8, 1e-3])),
    st.tuples(st.just("n_iter_no_change"), st.integers(1, 4)),
    st.tuples(st.just("early_stopping"), st.booleans()),
    st.tuples(st.just("validation_fraction"), st.floats(0.1, 0.5)),
    st.tuples(st.just("shuffle"), st.booleans()),
    st.tuples(st.just("random_state"), st.none() | st.integers(0, 3)),
    st.tuples(st.just("warm_start"), st.booleans()),
    st.tuples(st.just("device"), st.sampled_from(["cpu", torch.device("cpu")])),
    st.tuples(st.just("fit_intercept"), st.booleans()),
    st.tuples(st.just("alpha"), st.sampled_from([0.0, 0.1, 10.0])),
)

DATA = st.fixed_dictionaries(
    {
        "n_rows": st.integers(1, 12),
        "n_features": st.integers(1, 3),
        # 0 is a 1-D y; 1 and 2 are 2-D with that many columns.
        "n_targets": st.integers(0, 2),
        "dtype": st.sampled_from([np.float32, np.float64]),
        "kind": st.sampled_from(["numpy", "torch", "list", "pandas"]),
        "seed": st.integers(0, 1000),
    }
)


def _make(n_rows, n_features, n_targets, dtype, kind, seed, bad=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features)).astype(dtype)
    coef = rng.normal(size=(n_features, max(n_targets, 1)))
    y = X @ coef + 0.1 * rng.normal(size=(n_rows, max(n_targets, 1)))
    y = y[:, 0] if n_targets == 0 else y
    if bad:
        X[0, 0] = np.nan
    if kind == "torch":
        return torch.from_numpy(X), torch.from_numpy(y)
    if kind == "list":
        return X.tolist(), y.tolist()
    if kind == "pandas":
        return pd.DataFrame(X, columns=[f"x{j}" for j in range(n_features)]), y
    return X, y


def _state(reg):
    """Everything the estimator holds (parameters, fitted and private state), copied."""
    return copy.deepcopy(vars(reg))


def _same(a, b):
    """Equal to the last bit, through dicts, lists and arrays (a repr rounds arrays)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        # equal_nan only for numbers: feature names are an object array.
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and torch.equal(a, b)
    return a == b or (a != a and b != b)


class EstimatorLifecycle(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.reg = TorchLinearRegressor(max_iter=5, random_state=0)
        self.targets = None  # n_targets of the last successful call (0: 1-D y)

    def _call(self, method, data, bad=False, expect=None):
        """Run ``method`` and check what it may raise; a failed call changes nothing."""
        before = _state(self.reg)
        X, y = _make(**data, bad=bad)
        continuing = hasattr(self.reg, "coef_") and (
            method == "partial_fit" or self.reg.warm_start
        )
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", UserWarning)  # feature names
                # Checked first (the last filter set wins): recorded.
                warnings.simplefilter("always", FitInterruptedWarning)
                getattr(self.reg, method)(X, y)
        except AttributeError as error:
            assert method == "partial_fit" and self.reg.solver == "lbfgs", error
            assert "'adam', 'sgd'" in str(error)
        except ValueError as error:
            assert bad or continuing or any(s in str(error) for s in EXPECTED_ERRORS), error
            if continuing and not bad and (
                data["n_features"] != self.reg.n_features_in_
                or max(data["n_targets"], 1) != max(self.targets, 1)
            ):
                # Named columns that differ fail scikit-learn's name check first.
                assert any(s in str(error) for s in ("features", "target", "feature names")), error
        except BaseException as error:
            assert isinstance(error, KeyboardInterrupt) and expect is KeyboardInterrupt, error
        else:
            assert not bad, "bad input was accepted"
            if any("before completing" in str(w.message) for w in caught):
                # Interrupted with nothing completed: nothing of the call is kept.
                assert _same(before, _state(self.reg)), "an empty interrupt changed the estimator"
                return
            self.targets = data["n_targets"]
            return
        assert _same(before, _state(self.reg)), "a failed call changed the estimator"

    @initialize(solver=st.sampled_from(["lbfgs", "adam", "sgd"]))
    def choose_solver(self, solver):
        # Starting with each solver, not only by a later set_params, makes
        # short runs reach partial_fit's state (stream, optimizer moments).
        self.reg.set_params(solver=solver)

    @rule(data=DATA)
    def fit(self, data):
        self._call("fit", data)

    @rule(data=DATA)
    def partial_fit(self, data):
        self._call("partial_fit", data)

    @rule(data=DATA)
    def warm_refit(self, data):
        self.reg.set_params(warm_start=True)
        self._call("fit", data)

    @rule(data=DATA, method=st.sampled_from(["fit", "partial_fit"]))
    def bad_input(self, data, method):
        self._call(method, data, bad=True)

    @rule(parameter=PARAMETERS)
    def set_params(self, parameter):
        name, value = parameter
        self.reg.set_params(**{name: value})

    @rule(data=DATA, method=st.sampled_from(["fit", "partial_fit"]))
    def interrupt_in_the_loop(self, data, method):
        # Ctrl-C during training keeps the model reached, with a warning.
        update = Progress.update

        def interrupting(progress, *args, **kwargs):
            update(progress, *args, **kwargs)
            raise KeyboardInterrupt

        with mock.patch.object(Progress, "update", interrupting):
            self._call(method, data)

    @rule(data=DATA, method=st.sampled_from(["fit", "partial_fit"]))
    def interrupt_before_an_iteration_completes(self, data, method):
        # Ctrl-C in the first step: no iteration completes, so the call
        # keeps nothing, and says so (a start that is already optimal takes
        # no step, and completes).
        steps = []

        def interrupted(optimizer, closure=None):
            steps.append(optimizer)
            raise KeyboardInterrupt

        before = _state(self.reg)
        with contextlib.ExitStack() as patches:
            for optimizer in (torch.optim.LBFGS, torch.optim.Adam, torch.optim.SGD):
                patches.enter_context(mock.patch.object(optimizer, "step", interrupted))
            self._call(method, data)
        if steps:
            assert _same(before, _state(self.reg)), "an interrupt that completed nothing changed it"

    @rule(data=DATA)
    def diverging_partial_fit(self, data):
        # A partial_fit saves the optimizer's state (Adam's moments, SGD's
        # velocity), which the same chunk again resumes (another would move
        # the stream's moments and restart it); then a step a million times
        # too large raises "diverged" (or, where the gradient vanishes,
        # succeeds). A raise changes nothing, not even the saved state,
        # which torch's optimizers update in place.
        self._call("partial_fit", data)
        rate = self.reg.learning_rate_init
        self.reg.set_params(learning_rate_init=1e6)
        try:
            self._call("partial_fit", data)
        finally:
            self.reg.set_params(learning_rate_init=rate)

    @rule(data=DATA, method=st.sampled_from(["fit", "partial_fit"]))
    def interrupt_before_the_loop(self, data, method):
        # Outside the loop an interrupt propagates, and the call changed nothing.
        with mock.patch.object(regressor_module, "Objective", side_effect=KeyboardInterrupt):
            self._call(method, data, expect=KeyboardInterrupt)

    @precondition(lambda self: hasattr(self.reg, "coef_"))
    @invariant()
    def fitted_and_consistent(self):
        reg = self.reg
        n_features = reg.n_features_in_
        coef = np.asarray(reg.coef_)
        if self.targets == 0:
            assert coef.shape == (n_features,)
            assert np.ndim(reg.intercept_) == 0
        else:
            assert coef.shape == (self.targets, n_features)
        assert len(reg.loss_curve_) == reg.n_iter_
        X = np.random.default_rng(0).normal(size=(4, n_features))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # fitted on a DataFrame
            pred = reg.predict(X)
        assert pred.shape == ((4,) if self.targets == 0 else (4, self.targets))
        assert np.isfinite(pred).all()


EstimatorLifecycle.TestCase.settings = settings(
    settings(), stateful_step_count=12, max_examples=max(10, settings().max_examples)
)
test_estimator_lifecycle = EstimatorLifecycle.TestCase
