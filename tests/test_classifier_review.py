"""TorchLinearClassifier after the second adversarial review (issue 15).

Bad class weights are errors that name ``class_weight``; ``partial_fit``
over chunks is Ridge-like, one chunk's objective per call; full-batch Adam
and SGD keep the best model they saw; tiny sample weights fit; the
separable / small-alpha warning does not depend on the dtype; messages say
what is true.
"""

import warnings

import numpy as np
import pytest

from skorch_lite import TorchLinearClassifier


def _three_classes(n=120, seed=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.integers(0, 3, n)


# ----------------------------------------------------------- class weights


@pytest.mark.parametrize("weight", [-1.0, np.nan, np.inf, "heavy"])
def test_a_negative_non_finite_or_non_numeric_class_weight_is_an_error_naming_it(weight):
    X, y = _three_classes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"class_weight=.*weight of class 0"):
            TorchLinearClassifier(class_weight={0: weight}).fit(X, y)


def test_balanced_with_a_class_of_zero_total_weight_is_an_error_naming_it():
    X, y = _three_classes()
    sample_weight = np.where(y == 0, 0.0, 1.0)
    with warnings.catch_warnings():
        # No numpy divide-by-zero RuntimeWarning leaks.
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"balanced.*classes \[0\].*compute_class_weight"):
            TorchLinearClassifier(class_weight="balanced").fit(X, y, sample_weight=sample_weight)


def test_class_weights_whose_product_with_sample_weight_overflows_are_an_error():
    X, y = _three_classes()
    with pytest.raises(ValueError, match="class_weight.*overflows"):
        TorchLinearClassifier(class_weight={0: 1e308}).fit(X, y, sample_weight=np.full(120, 10.0))


def test_a_zero_class_weight_drops_the_class_rows():
    X, y = _three_classes()
    dropped = TorchLinearClassifier(class_weight={0: 0.0}).fit(X, y)
    zero_rows = TorchLinearClassifier().fit(X, y, sample_weight=(y != 0).astype(float))
    np.testing.assert_allclose(dropped.coef_, zero_rows.coef_, rtol=1e-10, atol=1e-12)
