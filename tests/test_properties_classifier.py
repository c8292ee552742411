"""Properties of TorchLinearClassifier's fit on random small problems.

Problems come from :func:`strategies.classification_problems`: well
conditioned, every class present, a positive penalty. The optimum is then
unique (coefficients and probabilities), so each property can be checked
tightly.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from strategies import (  # noqa: F401 (one_torch_thread is an autouse fixture)
    classification_problems,
    examples,
    log_loss_objective,
    one_torch_thread,
)

from skorch_lite import TorchLinearClassifier


def _fit(problem, **params):
    clf = TorchLinearClassifier(alpha=problem.alpha, **params)
    return clf.fit(problem.X, problem.y, sample_weight=problem.sample_weight)


@given(classification_problems())
def test_the_objective_never_increases_and_ends_at_the_fitted_model(problem):
    clf = _fit(problem)
    curve = np.array(clf.loss_curve_)
    assert np.all(np.diff(curve) <= 1e-12 * curve[:-1])
    final = log_loss_objective(problem.X, problem.y, clf.coef_, clf.intercept_,
                               alpha=problem.alpha, sample_weight=problem.sample_weight)
    assert_allclose(curve[-1], final, rtol=1e-10)


@given(classification_problems())
def test_the_fitted_model_is_within_tol_of_the_optimum(problem):
    """The Newton decrement ``g' H^-1 g / 2`` (the excess of a quadratic model) is below tol."""
    clf = _fit(problem)
    X, y, alpha = problem.X, problem.y, problem.alpha
    w = np.ones(len(y)) if problem.sample_weight is None else problem.sample_weight
    P = clf.predict_proba(X)
    residual = P - np.eye(P.shape[1])[y]
    if clf.coef_.shape[0] == 1:
        residual, P = residual[:, 1:], P[:, 1:]
        curvature = (P * (1 - P))[:, :, None]
    else:
        curvature = np.stack([np.diag(p) - np.outer(p, p) for p in P])
    Xa = np.column_stack([X, np.ones(len(y))])  # coefficients and intercept, per class
    total = w.sum()
    grad = np.concatenate([(residual * w[:, None]).T @ Xa], axis=0)
    grad[:, :-1] += 2 * alpha * clf.coef_
    k, d = grad.shape
    hessian = np.einsum("i,ikl,ia,ib->kalb", w, curvature, Xa, Xa).reshape(k * d, k * d)
    penalty = np.tile(np.r_[np.full(d - 1, 2 * alpha), 0.0], k)
    hessian = (hessian + np.diag(penalty)) / total
    g = grad.reshape(-1) / total
    decrement = 0.5 * g @ np.linalg.pinv(hessian, rcond=1e-12, hermitian=True) @ g
    objective = log_loss_objective(X, y, clf.coef_, clf.intercept_, alpha=alpha,
                                   sample_weight=problem.sample_weight)
    # The rule's tol is 1e-12; 100 times that leaves room for the
    # preconditioner's approximate Hessian, and catches any wrong gradient.
    assert decrement <= 1e-10 * objective


@given(classification_problems(), st.randoms(use_true_random=False))
def test_relabelling_the_classes_permutes_the_probabilities(problem, random):
    n_classes = len(np.unique(problem.y))
    names = np.array(["c%d" % i for i in range(n_classes)])
    order = list(range(n_classes))
    random.shuffle(order)
    relabelled = names[np.array(order)][problem.y]  # another sorted position for each class
    base = _fit(problem)
    other = TorchLinearClassifier(alpha=problem.alpha).fit(
        problem.X, relabelled, sample_weight=problem.sample_weight)
    # Column j of other is the class names[j], the base's class order.index(j).
    columns = [order.index(j) for j in range(n_classes)]
    assert_allclose(other.predict_proba(problem.X), base.predict_proba(problem.X)[:, columns],
                    rtol=1e-6, atol=1e-9)


@examples(0.5)
@given(classification_problems(weights=st.just("integer")))
def test_integer_weights_equal_repeated_rows(problem):
    weighted = _fit(problem)
    counts = problem.sample_weight.astype(int)
    repeated = TorchLinearClassifier(alpha=problem.alpha).fit(
        np.repeat(problem.X, counts, axis=0), np.repeat(problem.y, counts))
    assert_allclose(weighted.predict_proba(problem.X), repeated.predict_proba(problem.X),
                    rtol=1e-6, atol=1e-9)
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-5, atol=1e-7)
