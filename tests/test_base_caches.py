"""What `_base` computes once and remembers: parameter names per constructor, seeds per integer random_state.

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
