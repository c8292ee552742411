"""Parameter names read once per constructor (``_base.ParamNamesOnce``) stay exactly scikit-learn's."""

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
