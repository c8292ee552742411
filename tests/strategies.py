"""Hypothesis strategies for the property tests: small regression problems.

Every problem is finite and small (a few dozen rows at most) so that a fit
takes milliseconds. :func:`problems` builds data whose least-squares problem
is well posed *by construction* rather than by rejection: the centred design
is ``Q @ diag(singular_values) @ V.T`` with ``Q`` orthonormal and orthogonal
to the column of ones, singular values in ``[1, 10]``, then each column is
multiplied by a scale drawn over six orders of magnitude. So the problem has
full column rank, its condition number after column scaling is at most 10,
and the reference solvers of scikit-learn are accurate to ~1e-13 on it.

The module is imported as a plain module (``import strategies``): pytest's
default ``prepend`` import mode puts ``tests/`` on ``sys.path``.

Examples
--------
>>> from strategies import problems
>>> problem = problems().example()  # doctest: +SKIP
>>> problem.X.shape[0] == problem.y.shape[0]  # doctest: +SKIP
True
"""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

MAX_ROWS = 30
# Fits that should agree to rounding: float64 fits converge to ~1e-12 here.
TIGHT = 1e-9
penalties = st.one_of(st.just(0.0), st.floats(1e-3, 1e2))
MAX_FEATURES = 8
MAX_TARGETS = 3


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Run torch on one thread while a property module runs (import this fixture).

    Every data set here is tiny, so intra-op threads bring only
    synchronization; on a loaded 2-core machine they spin against each other
    (the optimum properties took 35 s with 2 threads, 13 s with 1).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def examples(share):
    """Settings running ``share`` of the active profile's examples (at least 3).

    Expensive properties use this, so that the "deep" profile still runs
    them more deeply than "ci" does.

    Examples
    --------
    >>> from strategies import examples
    >>> examples(0.2).max_examples >= 3
    True
    """
    return settings(max_examples=max(3, int(settings().max_examples * share)))


@dataclass
class Problem:
    """One regression data set.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,) or (n_samples, n_targets), float64
    sample_weight : ndarray of shape (n_samples,) or None
    column_scales : ndarray of shape (n_features,)
        What each column of the well-conditioned design was multiplied by;
        ``coef_ * column_scales`` is a well-conditioned quantity to compare.
    """

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray = None
    column_scales: np.ndarray = None

    @property
    def n_targets(self):
        return 1 if self.y.ndim == 1 else self.y.shape[1]

    @property
    def y_spread(self):
        """Largest weighted standard deviation of a target (at least 1e-300)."""
        Y = self.y.reshape(len(self.y), -1)
        w = np.ones(len(Y)) if self.sample_weight is None else self.sample_weight
        mean = w @ Y / w.sum()
        return max(float(np.sqrt((w @ (Y - mean) ** 2 / w.sum()).max())), 1e-300)


def unit_floats():
    return st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)


def sizeable_floats(bound):
    """0, or a float with 1e-3 <= |x| <= bound.

    Values like 1e-300 would make y so small that its square underflows,
    a regime of its own (see the xfail tests in test_properties_robustness).
    """
    magnitude = st.floats(1e-3, bound)
    return st.one_of(st.just(0.0), magnitude, magnitude.map(lambda v: -v))


def orthonormal_columns(draw, n_rows, n_cols, *, orthogonal_to_ones):
    """An ``(n_rows, n_cols)`` matrix with orthonormal columns (from any drawn matrix).

    Householder QR returns an orthonormal Q even for a degenerate input (the
    all-zero matrix that shrinking tends to), so nothing is ever rejected.
    """
    lead = 1 if orthogonal_to_ones else 0
    A = draw(arrays(np.float64, (n_rows, n_cols + lead), elements=unit_floats()))
    if orthogonal_to_ones:
        A[:, 0] = 1.0
    Q, _ = np.linalg.qr(A)
    return Q[:, lead:]


def centred_design(draw, n, p, *, decades):
    """A centred ``(n, p)`` design, condition number <= 10 once its columns are rescaled.

    ``Q @ diag(singular_values) @ V.T`` with ``Q`` orthonormal and
    orthogonal to the ones, singular values in ``[1, 10]``, each column then
    multiplied by a scale within ``decades`` orders of magnitude of 1.
    Returns the design and the scales.
    """
    Q = orthonormal_columns(draw, n, p, orthogonal_to_ones=True)
    V = orthonormal_columns(draw, p, p, orthogonal_to_ones=False)
    singular_values = draw(arrays(np.float64, p, elements=st.floats(1.0, 10.0)))
    scales = 10.0 ** draw(arrays(np.float64, p, elements=st.floats(-decades, decades)))
    return (Q * singular_values) @ V.T * scales, scales


def drawn_weights(draw, kind, n):
    """None (``"none"``), floats in ``[1/4, 4]`` (``"float"``) or integers 1-4 (``"integer"``)."""
    if kind == "float":
        return 2.0 ** draw(arrays(np.float64, n, elements=st.floats(-2.0, 2.0)))
    if kind == "integer":
        return draw(arrays(np.float64, n, elements=st.integers(1, 4)))
    return None


@st.composite
def problems(
    draw,
    *,
    n_features=st.integers(1, MAX_FEATURES),
    n_targets=st.integers(1, MAX_TARGETS),
    extra_rows=st.integers(1, MAX_ROWS - MAX_FEATURES - 1),
    weights=st.sampled_from(["none", "float"]),
    noise=st.one_of(st.just(0.0), st.floats(1e-3, 1.0)),
):
    """Well-posed problems: full column rank after centring, condition number <= 10 after column scaling.

    ``n_samples = n_features + 1 + extra_rows``, so the centred design can
    have full column rank. Weights, when drawn, lie in ``[1/4, 4]``, which
    keeps the weighted problem's condition number within a factor 4.
    ``y = X @ W.T + b + noise``; with ``noise=0`` the fit is exact.
    """
    p = draw(n_features)
    k = draw(n_targets)
    n = p + 1 + draw(extra_rows)
    one_d = k == 1 and draw(st.booleans())

    X, scales = centred_design(draw, n, p, decades=3.0)
    offsets = draw(arrays(np.float64, p, elements=st.floats(-5.0, 5.0)))
    X = X + offsets * scales

    coef = draw(arrays(np.float64, (k, p), elements=sizeable_floats(3.0))) / scales
    intercept = draw(arrays(np.float64, k, elements=sizeable_floats(10.0)))
    residual = draw(arrays(np.float64, (n, k), elements=sizeable_floats(1.0))) * draw(noise)
    y = X @ coef.T + intercept + residual
    if one_d:
        y = y[:, 0]

    sample_weight = drawn_weights(draw, draw(weights), n)
    return Problem(X=X, y=y, sample_weight=sample_weight, column_scales=scales)


@st.composite
def integer_weights(draw, n_samples, *, low=0, high=4, min_positive=1):
    """Integer sample weights in ``[low, high]`` with at least ``min_positive`` positive."""
    w = draw(arrays(np.int64, n_samples, elements=st.integers(low, high)))
    for i in range(min(min_positive, n_samples)):
        w[i] = max(w[i], 1)
    return w.astype(np.float64)


def objective(X, y, coef, intercept, *, alpha=0.0, sample_weight=None):
    """The documented objective of :class:`TorchLinearRegressor`, in plain numpy.

    ``(sum_i s_i ||y_i - x_i W^T - b||^2 + alpha ||W||_F^2) / (k sum_i s_i)``.

    Examples
    --------
    >>> import numpy as np
    >>> from strategies import objective
    >>> X = np.array([[0.0], [1.0]]); y = np.array([1.0, 3.0])
    >>> float(objective(X, y, np.array([2.0]), 1.0))
    0.0
    >>> float(objective(X, y, np.array([0.0]), 2.0, alpha=1.0))
    1.0
    """
    Y = y.reshape(len(y), -1)
    W = np.reshape(coef, (Y.shape[1], X.shape[1]))
    s = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, float)
    residual = Y - X @ W.T - np.asarray(intercept)
    # No penalty term at alpha=0: coefficients of 1e175 (features of 1e-176)
    # square to inf, and 0 * inf is NaN.
    penalty = alpha * (W**2).sum() if alpha else 0.0
    return (s @ (residual**2).sum(axis=1) + penalty) / (Y.shape[1] * s.sum())


def mean_predictor_objective(X, y, *, alpha=0.0, sample_weight=None, fit_intercept=True):
    """Objective of zero coefficients with the intercept at the weighted mean (or 0).

    This is where Adam and SGD start training.
    """
    Y = y.reshape(len(y), -1)
    s = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, float)
    intercept = s @ Y / s.sum() if fit_intercept else np.zeros(Y.shape[1])
    zeros = np.zeros((Y.shape[1], X.shape[1]))
    return objective(X, Y, zeros, intercept, alpha=alpha, sample_weight=s)


def prediction_size(y):
    """Scale for absolute tolerances on predictions: the largest |y| (1 if y is all zeros)."""
    size = float(np.abs(y).max())
    return size if size > 0 else 1.0


def as_2d(coef, n_targets):
    """``coef_`` of any estimator as (n_targets, n_features)."""
    return np.reshape(coef, (n_targets, -1))


def as_1d(intercept, n_targets):
    """``intercept_`` of any estimator as (n_targets,) (a scalar 0.0 is broadcast)."""
    return np.broadcast_to(np.ravel(intercept), (n_targets,))


def assert_same_coefficients(first, second, problem, tol=TIGHT):
    """coef_ (in units of the standardized columns) and intercept_ agree to ``tol``."""
    k, size = problem.n_targets, prediction_size(problem.y)
    np.testing.assert_allclose(
        as_2d(first.coef_, k) * problem.column_scales,
        as_2d(second.coef_, k) * problem.column_scales,
        rtol=tol, atol=tol * size,
    )
    np.testing.assert_allclose(
        as_1d(first.intercept_, k), as_1d(second.intercept_, k), rtol=tol, atol=tol * size
    )


@dataclass
class ClassificationProblem:
    """One classification data set: every class present at least twice."""

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray
    alpha: float


@st.composite
def classification_problems(draw, *, n_classes=st.integers(2, 4),
                            weights=st.sampled_from(["none", "float", "integer"])):
    """Small, well-conditioned classification problems with a positive penalty.

    The design is built as in :func:`problems` (condition number at most 10
    after column scaling, scales over four orders of magnitude); labels
    come from a random linear model plus noise, then each class is given at
    least two rows. ``alpha`` in ``[0.05, 10]`` keeps the optimum finite
    even where the classes are separable.
    """
    k = draw(n_classes)
    p = draw(st.integers(1, 4))
    n = max(2 * k, p + 1) + draw(st.integers(2, 16))
    X, scales = centred_design(draw, n, p, decades=2.0)
    W = draw(arrays(np.float64, (k, p), elements=unit_floats())) / scales
    noise = draw(arrays(np.float64, (n, k), elements=unit_floats()))
    y = np.argmax(X @ W.T + noise, axis=1)
    y[: 2 * k] = np.repeat(np.arange(k), 2)
    sample_weight = drawn_weights(draw, draw(weights), n)
    alpha = draw(st.floats(0.05, 10.0))
    return ClassificationProblem(X=X, y=y, sample_weight=sample_weight, alpha=alpha)


def log_loss_objective(X, y, coef, intercept, *, alpha, sample_weight=None):
    """The documented objective of :class:`TorchLinearClassifier`, in plain numpy."""
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    raw = X @ coef.T + intercept
    if coef.shape[0] == 1:
        raw = np.column_stack([np.zeros(len(y)), raw[:, 0]])
    top = raw.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(raw - top).sum(axis=1))
    losses = log_norm - raw[np.arange(len(y)), y]
    return (w @ losses + alpha * np.sum(coef**2)) / w.sum()
