"""What `_base` computes once and remembers: parameter names per constructor, seeds per integer
random_state, the parameter values last found valid.

Each must give exactly what scikit-learn computes every time."""

import pytest
from sklearn.base import BaseEstimator, clone

from skorch_lite import TorchLinearClassifier, TorchLinearRegressor


@pytest.mark.parametrize("Estimator", [TorchLinearRegressor, TorchLinearClassifier])
def test_the_names_are_those_scikit_learn_reads_from_the_signature(Estimator):
    read = BaseEstimator._get_param_names.__func__(Estimator)
    assert Estimator._get_param_names() == read == sorted(read)
    # The caller gets its own list: changing it changes nothing remembered.
    Estimator._get_param_names().append("nonsense")
    assert Estimator._get_param_names() == read


def test_a_subclass_with_its_own_constructor_has_its_own_names():
    class Scaled(TorchLinearRegressor):
        def __init__(self, factor=2.0, *, alpha=0.0):
            super().__init__(alpha=alpha)
            self.factor = factor

    assert Scaled._get_param_names() == ["alpha", "factor"]
    assert "factor" not in TorchLinearRegressor._get_param_names()
    assert clone(Scaled(factor=3.0)).get_params() == {"alpha": 0.0, "factor": 3.0}


def test_a_constructor_replaced_at_run_time_is_read_again():
    class Changing(TorchLinearRegressor):
        def __init__(self, alpha=0.0):
            super().__init__(alpha=alpha)

    assert Changing._get_param_names() == ["alpha"]

    def __init__(self, alpha=0.0, tol=1e-4):
        TorchLinearRegressor.__init__(self, alpha=alpha, tol=tol)

    Changing.__init__ = __init__
    assert Changing._get_param_names() == ["alpha", "tol"]


def test_varargs_in_a_constructor_still_raise_scikit_learns_error():
    class Bad(TorchLinearRegressor):
        def __init__(self, *args):
            super().__init__()

    with pytest.raises(RuntimeError, match="no varargs"):
        Bad._get_param_names()


def test_an_integer_random_state_seeds_the_fit_as_scikit_learns_first_draw_does():
    import numpy as np
    import torch

    from skorch_lite._base import fit_generator

    for seed in (0, 7, np.int64(7), 2**32 - 1):
        want = int(np.random.RandomState(seed).randint(np.iinfo(np.int32).max))
        assert torch.equal(fit_generator(seed).get_state(),
                           torch.Generator().manual_seed(want).get_state())
    state = np.random.RandomState(3)
    want = int(np.random.RandomState(3).randint(np.iinfo(np.int32).max))
    assert torch.equal(fit_generator(state).get_state(),
                       torch.Generator().manual_seed(want).get_state())
    with pytest.raises(ValueError):
        fit_generator(-1)



@pytest.mark.parametrize("Estimator", [TorchLinearRegressor, TorchLinearClassifier])
@pytest.mark.filterwarnings("ignore")
def test_parameters_are_validated_again_whenever_a_value_changes(Estimator, monkeypatch):
    import numpy as np

    import collections

    import skorch_lite._base as base

    monkeypatch.setattr(base, "_VALID", collections.OrderedDict())  # as in a fresh process
    calls = []
    original = BaseEstimator._validate_params
    monkeypatch.setattr(BaseEstimator, "_validate_params",
                        lambda self: calls.append(1) or original(self))
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = (X[:, 0] > 0).astype(int)
    est = Estimator(max_iter=5)
    est.fit(X, y)
    est.fit(X, y)
    assert len(calls) == 1
    est.set_params(alpha=0.25)
    est.fit(X, y)
    assert len(calls) == 2
    # The same value of another type is checked again.
    est.tol = np.float32(1e-4)
    est.fit(X, y)
    est.tol = "1e-4"
    with pytest.raises(ValueError, match="tol"):
        est.fit(X, y)
    est.tol = 1e-4
    est.fit(X, y)
    est.fit(X, y)
    assert len(calls) == 5
    # An attribute assigned directly, bypassing set_params, is seen too;
    # an invalid value is checked (and refused) at every fit.
    est.alpha = -1.0
    with pytest.raises(ValueError, match="alpha"):
        est.fit(X, y)
    est.alpha = float("nan")
    for _ in range(2):
        with pytest.raises(ValueError, match="alpha"):
            est.fit(X, y)
    assert len(calls) == 8
    # A clone, or any estimator of the class, with values found valid is not
    # checked again; one with a value never seen is.
    est.alpha = 0.0
    clone(est).fit(X, y)
    assert len(calls) == 9
    clone(est).set_params(max_iter=6).fit(X, y)
    assert len(calls) == 10


@pytest.mark.filterwarnings("ignore")
def test_another_object_in_place_of_a_valid_one_is_validated_again():
    import numpy as np

    est = TorchLinearRegressor(max_iter=5, random_state=np.random.RandomState(0))
    X = np.random.default_rng(0).standard_normal((20, 3))
    est.fit(X, X[:, 0])
    est.random_state = "not a random state"
    with pytest.raises(ValueError, match="random_state"):
        est.fit(X, X[:, 0])
