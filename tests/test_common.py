"""scikit-learn's own conformance checks, with no expected failures."""

from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_inplace_ensure_writeable,
    check_param_validation,
    parametrize_with_checks,
)

from skorch_lite import TorchLinearClassifier, TorchLinearRegressor

# SGD converges linearly on the preconditioned problem, so it too meets the
# rtol=1e-7 sample-weight check; Adam with a constant step does not.
ESTIMATORS = [TorchLinearRegressor(), TorchLinearRegressor(solver="sgd")] + [
    TorchLinearRegressor(loss=loss)
    for loss in ("huber", "absolute_error", "quantile", "poisson", "gamma")
]
# The classifier's Adam and SGD start at the Newton iterates, which reach the
# optimum on the checks' small data sets: both meet the sample-weight checks.
# (Early stopping does not: a repeated row and its weighted twin fall on
# different sides of the random validation split.)
ESTIMATORS += [
    TorchLinearClassifier(),
    TorchLinearClassifier(solver="adam"),
    TorchLinearClassifier(solver="sgd"),
    TorchLinearClassifier(class_weight="balanced"),
]

@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

def test_param_validation():
    for estimator in ESTIMATORS:
        check_param_validation(type(estimator).__name__, estimator)

def test_dataframe_column_names_consistency():
    for estimator in ESTIMATORS:
        check_dataframe_column_names_consistency(type(estimator).__name__, estimator)

def test_inplace_ensure_writeable():
    for estimator in ESTIMATORS:
        check_inplace_ensure_writeable(type(estimator).__name__, estimator)
