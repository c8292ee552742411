"""TorchLinearClassifier at the edges: badly scaled columns, float32, callbacks, warnings.

The reference optimum of a problem whose columns are rescaled is computed
here by Newton's method in float64 on the standardized columns, where the
penalty of a column multiplied by ``s`` becomes ``alpha / (s sd)**2``
(1e40 for a column of 1e-20: it is all but dropped; 1e-40 for one of 1e20:
it is all but unpenalized). LogisticRegression cannot serve: its penalty is
one number for every column.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from scipy.special import expit, log_softmax, softmax
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skorch_lite import TorchLinearClassifier, _precondition

LOADERS = {"breast_cancer": load_breast_cancer, "iris": load_iris, "wine": load_wine}


def _synthetic(n_classes, n_samples=300, seed=0):
    """Columns in different units and offsets; labels drawn from a softmax model."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, 5) * [1, 3, 0.5, 2, 1] + [0, 5, -1, 0, 2]
    raw = (X - X.mean(0)) @ rng.randn(5, n_classes)
    y = np.array([rng.choice(n_classes, p=p) for p in softmax(raw, axis=1)])
    return X, y


def _newton_reference(X, y, penalty, n_iter=100):
    """``(coef, intercept)`` minimizing ``sum_i log_loss + sum_j penalty_j ||W_j||^2``.

    Newton's method on the full Hessian, Jacobi-scaled so that penalties of
    1e40 beside curvatures of 1 solve accurately; the intercept is free.
    """
    classes = np.unique(y)
    n_classes = len(classes)
    codes = np.searchsorted(classes, y)
    Xa = np.hstack([X, np.ones((len(X), 1))])
    pen = np.append(penalty, 0.0)
    width = 1 if n_classes == 2 else n_classes
    onehot = np.eye(n_classes)[codes]
    W = np.zeros((width, Xa.shape[1]))

    def value(W):
        raw = Xa @ W.T
        if n_classes == 2:
            data = np.sum(np.logaddexp(0, raw[:, 0]) - codes * raw[:, 0])
        else:
            data = -np.sum(onehot * log_softmax(raw, axis=1))
        return data + np.sum(pen * W**2)

    for _ in range(n_iter):
        raw = Xa @ W.T
        if n_classes == 2:
            p = expit(raw[:, 0])
            gradient = (Xa.T @ (p - codes) + 2 * pen * W[0])[None]
            hessian = (Xa * (p * (1 - p))[:, None]).T @ Xa + 2 * np.diag(pen)
        else:
            P = softmax(raw, axis=1)
            gradient = (P - onehot).T @ Xa + 2 * pen * W
            blocks = [[(Xa * (P[:, a] * ((a == b) - P[:, b]))[:, None]).T @ Xa
                       + (2 * np.diag(pen) if a == b else 0) for b in range(n_classes)]
                      for a in range(n_classes)]
            hessian = np.block(blocks)
        J = 1 / np.sqrt(np.diag(hessian))
        # lstsq: the softmax's common direction is flat where the penalty is 0.
        step = J * np.linalg.lstsq(hessian * J[:, None] * J, J * gradient.ravel(),
                                   rcond=1e-13)[0]
        step = step.reshape(W.shape)
        t, here = 1.0, value(W)
        while value(W - t * step) > here and t > 1e-10:
            t /= 2
        W = W - t * step
        if np.abs(t * step).max() <= 1e-15 * max(1.0, np.abs(W).max()):
            break
    if n_classes > 2:
        W = W - W.mean(0)
    return W[:, :-1], W[:, -1]


def _scaled_reference(X, y, alpha, scale):
    """The optimum of the problem on ``X * scale``, in X's units (coef times scale)."""
    sd = X.std(0)
    with np.errstate(over="ignore", divide="ignore"):
        penalty = np.minimum(alpha / (scale * sd) ** 2, 1e200)
    coef, intercept = _newton_reference(X / sd, y, penalty)
    return coef / sd, intercept


def _probabilities(X, coef, intercept):
    raw = X @ coef.T + intercept
    if raw.shape[1] == 1:
        return np.column_stack([1 - expit(raw[:, 0]), expit(raw[:, 0])])
    return softmax(raw, axis=1)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_newton_reference_is_logistic_regression_on_well_scaled_data(n_classes):
    X, y = _synthetic(n_classes)
    coef, intercept = _scaled_reference(X, y, 0.5, np.ones(X.shape[1]))
    ref = LogisticRegression(solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    assert_allclose(coef, ref.coef_, rtol=1e-7, atol=1e-9)
    assert_allclose(intercept, ref.intercept_, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("exponent", [-150, -20, 20, 150])
def test_a_column_of_extreme_scale_among_normal_ones_reaches_the_rescaled_optimum(
        n_classes, exponent):
    # One column times 10**exponent, another times its inverse: with the
    # default penalty the small one is all but dropped, the large one all
    # but unpenalized. The preconditioner's SVD of the penalized problem
    # lost the other columns' directions (probabilities 50% off, silently).
    X, y = _synthetic(n_classes)
    scale = np.ones(X.shape[1])
    scale[2], scale[4] = 10.0**exponent, 10.0**-exponent
    coef, intercept = _scaled_reference(X, y, 0.5, scale)
    clf = TorchLinearClassifier().fit(X * scale, y)
    sd = X.std(0)
    # Coefficients in standardized units: an excess of tol=1e-12 of the
    # objective leaves them ~1e-6 (relative) from the optimum.
    assert_allclose(clf.coef_ * scale * sd, coef * sd, atol=1e-5 * np.abs(coef * sd).max())
    assert_allclose(clf.predict_proba(X * scale), _probabilities(X, coef, intercept), atol=1e-5)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("exponent", [-150, -20, 20, 150])
def test_every_column_scaled_with_the_penalty_scaled_alike_is_the_same_problem(
        n_classes, exponent):
    X, y = _synthetic(n_classes)
    s = 10.0**exponent
    ref = LogisticRegression(solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    clf = TorchLinearClassifier(alpha=0.5 * s**2).fit(X * s, y)
    assert_allclose(clf.coef_ * s, ref.coef_, rtol=1e-5, atol=1e-6)
    assert_allclose(clf.predict_proba(X * s), ref.predict_proba(X), atol=1e-5)


def test_values_beyond_float64_are_a_clear_error():
    X, y = _synthetic(2)
    with pytest.raises(ValueError, match="too large"):
        TorchLinearClassifier().fit(X * 1e307, y)


@pytest.mark.parametrize("name, scaled, alpha", [
    ("breast_cancer", False, 0.5), ("wine", True, 0.05), ("iris", True, 0.5)])
def test_float32_fits_reach_the_optimum_to_what_float32_resolves(name, scaled, alpha):
    # The reference: the float64 optimum of the same, float32-rounded, data.
    # L-BFGS and the Newton steps compared objective values, which a sum
    # over n float32 rows resolves only to ~2e-6 of them: fits stopped with
    # coefficients up to 3e-3 (relative) off, reported as converged.
    X, y = LOADERS[name](return_X_y=True)
    if scaled:
        X = StandardScaler().fit_transform(X)
    X32 = X.astype(np.float32)
    reference = TorchLinearClassifier(alpha=alpha, tol=1e-14).fit(X32.astype(np.float64), y)
    clf = TorchLinearClassifier(alpha=alpha).fit(X32, y)
    assert clf.coef_.dtype == np.float32
    error = np.abs(clf.coef_ - reference.coef_).max() / np.abs(reference.coef_).max()
    assert error <= 1e-4


def _sparse_onehot(n_samples, n_variables=3, levels=20, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    codes = np.stack([rng.integers(0, levels, n_samples) + v * levels
                      for v in range(n_variables)], axis=1)
    rows = np.repeat(np.arange(n_samples), n_variables)
    X = sp.csr_matrix((np.ones(codes.size), (rows, codes.ravel())),
                      shape=(n_samples, n_variables * levels))
    raw = X @ rng.normal(size=(X.shape[1], n_classes))
    P = softmax(raw, axis=1)
    return X, (P.cumsum(1) > rng.random((n_samples, 1))).argmax(1)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_a_sparse_one_hot_fit_decomposes_its_rows_once_per_curvature_change(
        monkeypatch, n_classes):
    # 3200 rows, just above the sketch size of 60 columns (3000): one-hot
    # blocks beside the intercept are dependent, so each refresh sketched
    # twice (3000 and 6000 rows) and decomposed the penalized rows a third
    # time; the last rounds, near the optimum, refreshed an unchanged
    # curvature. It took 6 (2 classes) and 9 (3 classes) tall SVDs.
    X, y = _sparse_onehot(3200, n_classes=n_classes)
    shapes = []
    original = _precondition._thin_svd

    def counted(M):
        shapes.append(tuple(M.shape))
        return original(M)

    monkeypatch.setattr(_precondition, "_thin_svd", counted)
    clf = TorchLinearClassifier().fit(X, y)
    tall = [shape for shape in shapes if shape[0] >= X.shape[0] // 2]
    assert len(tall) <= 2, shapes
    ref = LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-5)


def test_separable_classes_scaled_up_warn_that_alpha_is_small_for_xs_scale():
    # wine times 1e100: alpha=0.5 is 1e-200 in the units of standardized
    # columns, and the classes are separable: the optimum lies at large
    # coefficients where the loss is flat. The warning blamed bad scaling
    # ("the data may be too badly scaled for the preconditioner").
    X, y = load_wine(return_X_y=True)
    clf = TorchLinearClassifier()
    with pytest.warns(ConvergenceWarning, match="separable and alpha=0.5 is small for X's scale"):
        clf.fit(X * 1e100, y)
    assert clf.score(X * 1e100, y) == 1.0


def test_wine_with_one_column_times_1e20_converges_without_a_false_alarm():
    # The round after one that met the rule took a Newton step that the
    # arithmetic (~1e-12 of the objective here) could not confirm, ended
    # 1.3e-12 higher and warned "stopped before converging", blaming
    # separable classes, with the fit within 5e-12 of the optimum.
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    scale = np.ones(X.shape[1])
    scale[0] = 1e20
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = TorchLinearClassifier().fit(X * scale, y)
    coef, intercept = _scaled_reference(X, y, 0.5, scale)
    assert_allclose(clf.predict_proba(X * scale), _probabilities(X, coef, intercept), atol=1e-5)


def test_wine_with_columns_scaled_1e_150_to_1e150_warns_of_the_unpenalized_columns():
    # Separable classes and columns of 1e150 all but unpenalized: the
    # optimum is at J ~ 1e-25. A refreshed change of variables mapped the
    # model of the first round 2e5 times higher; the fit kept that round's
    # end (J 3.0, 1 row wrong) and warned that the data was badly scaled.
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X) * 10.0 ** np.random.default_rng(0).uniform(
        -150, 150, X.shape[1])
    with pytest.warns(ConvergenceWarning, match="separable.*all but unpenalized") as record:
        clf = TorchLinearClassifier().fit(X, y)
    assert not any("badly scaled" in str(w.message) for w in record)
    assert clf.score(X, y) == 1.0
