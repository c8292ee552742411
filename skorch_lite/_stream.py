"""The change of variables of ``partial_fit``, kept up to date as chunks arrive.

``fit`` sees all its rows at once and builds its change of variables from
them (:func:`._precondition.fit_preconditioner`), dropping the directions in
which X does not vary. A stream cannot: a direction flat in the chunks seen
so far (one row, a column constant in the first chunk) may vary in the next
one, and a change of variables without it would freeze its coefficient at
zero forever. So ``partial_fit`` keeps running weighted means and variances
of every column of X and y, merged chunk by chunk (Chan, Golub and LeVeque's
pairwise update, exact whatever the chunk sizes; each chunk's own
moments are taken about its mean, in two passes), and scales each column by
its spread so far. The scaling is diagonal and full rank: a column with no
spread yet keeps a finite scale and stays learnable.

When the moments have moved by more than :data:`DRIFT` since the change of
variables in use was built, it is rebuilt from them; the current
coefficients are carried over exactly (through
:meth:`~._precondition.Preconditioner.variables`), and the optimizer's
state, a history of steps in the old variables, is dropped.
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch

from ._data import column_moments
from ._precondition import Preconditioner

# A change of variables is rebuilt when a column's scale changes by more
# than this fraction, or its mean moves by more than this fraction of its
# scale. Smaller drifts leave the problem about as well conditioned, and
# rebuilding would restart the optimizer's state on every chunk of a stream.
DRIFT = 0.1


@dataclass
class Moments:
    """Weighted means and sums of squared deviations of the columns seen so far.

    Weights are counted in units of the largest row weight seen (``unit``),
    so that sums of weights of 1e-320 (which lose their digits) or 1e307
    (which overflow) stay between 1 and the number of rows; means and
    spreads depend only on the ratios of the weights.

    Attributes
    ----------
    weight : float
        Sum of the sample weights seen, divided by ``unit``.
    x_mean, x_m2 : ndarray of shape (n_features,), float64
        ``x_m2`` in the units of ``weight``, as ``y_m2``.
    y_mean, y_m2 : ndarray of shape (n_targets,), float64
    unit : float
        The largest row weight seen.
    """

    weight: float
    x_mean: np.ndarray
    x_m2: np.ndarray
    y_mean: np.ndarray
    y_m2: np.ndarray
    unit: float = 1.0

    @classmethod
    def of(cls, X, Y, w):
        """Moments of one chunk (tensors; X dense or sparse CSR)."""
        unit = float(w.max())
        w = w / unit
        weight = float(torch.sum(w, dtype=torch.float64))
        stats = []
        for data in (X, Y):
            stats += _centred(data, w, weight)
        return cls(weight, *stats, unit=unit)

    def in_unit(self, unit):
        """The same moments with weights counted in ``unit`` (at least ``self.unit``)."""
        ratio = self.unit / unit
        return Moments(self.weight * ratio, self.x_mean, self.x_m2 * ratio,
                       self.y_mean, self.y_m2 * ratio, unit=unit)

    def merge(self, other):
        """Moments of the union of the rows of ``self`` and ``other`` (a new object)."""
        unit = max(self.unit, other.unit)
        a, b = self.in_unit(unit), other.in_unit(unit)
        # At least 1: the chunk holding the largest weight counts it as 1.
        weight = a.weight + b.weight
        share = b.weight / weight
        merged = []
        for mean_a, m2_a, mean_b, m2_b in (
            (a.x_mean, a.x_m2, b.x_mean, b.x_m2),
            (a.y_mean, a.y_m2, b.y_mean, b.y_m2),
        ):
            delta = mean_b - mean_a
            merged += [mean_a + share * delta, m2_a + m2_b + delta**2 * a.weight * share]
        return Moments(weight, *merged, unit=unit)

    def to_dict(self):
        """Plain numpy and float, for pickling (see :mod:`._state`)."""
        return asdict(self)


def _centred(data, w, weight):
    """Weighted column means and sums of squared deviations, in two passes.

    The deviations are taken from the mean of the first pass: the sum of
    squares less ``weight * mean**2`` lost a spread of 1e-3 on values of
    1e6 to rounding (358 times too large), and partial_fit stopped far
    from the optimum. The second pass's sum of deviations corrects the
    mean for its own rounding (the corrected two-pass algorithm of Chan,
    Golub and LeVeque).
    """
    rough = column_moments(data, w, float64=True)[0] / weight
    first, squares = column_moments(data, w, float64=True, shift=rough)
    mean = rough + first / weight
    m2 = (squares - first**2 / weight).clamp(min=0.0)
    return [mean.cpu().numpy(), m2.cpu().numpy()]


def _scales(mean, m2, weight, fit_intercept):
    """Spread of each column about its centre, never zero.

    Without an intercept, columns are not centred: the spread is the root
    mean square. A column with no spread yet takes the magnitude of its
    values, or, if they are all zero, the median scale of the other columns
    (1 when no column varies): finite, so its coefficient stays learnable.
    """
    variance = m2 / weight
    if not fit_intercept:
        variance = variance + mean**2
    scale = np.sqrt(variance)
    # Spread below the rounding noise of the mean is none.
    flat = scale <= 1e-12 * np.abs(mean)
    scale = np.where(flat, 0.0, scale)
    spread = scale[scale > 0]
    typical = float(np.median(spread)) if spread.size else 1.0
    fallback = np.where(np.abs(mean) > 0, np.abs(mean), typical)
    return np.where(scale > 0, scale, fallback)


@dataclass
class Basis:
    """The statistics a change of variables was built from (float64 numpy)."""

    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: np.ndarray
    y_scale: np.ndarray

    @classmethod
    def of(cls, moments, fit_intercept):
        x_scale = _scales(moments.x_mean, moments.x_m2, moments.weight, fit_intercept)
        y_scale = _scales(moments.y_mean, moments.y_m2, moments.weight, fit_intercept)
        if not fit_intercept:
            return cls(np.zeros_like(moments.x_mean), x_scale, np.zeros_like(moments.y_mean), y_scale)
        return cls(moments.x_mean, x_scale, moments.y_mean, y_scale)

    def drifted_from(self, old):
        """Whether ``old`` is more than :data:`DRIFT` away from these statistics."""
        for mean, scale, old_mean, old_scale in (
            (self.x_mean, self.x_scale, old.x_mean, old.x_scale),
            (self.y_mean, self.y_scale, old.y_mean, old.y_scale),
        ):
            if mean.shape != old_mean.shape:
                return True
            if np.any(np.abs(old_scale / scale - 1) > DRIFT):
                return True
            if np.any(np.abs(mean - old_mean) > DRIFT * scale):
                return True
        return False

    def preconditioner(self, fit_intercept, dtype, device):
        """The :class:`~._precondition.Preconditioner` of these statistics.

        The objective of a chunk is normalized by ``n_targets`` times its
        weight, so its Hessian in standardized coefficients is about
        ``2 / n_targets`` times the columns' correlation matrix; dividing by
        the scales and by ``sqrt(2 / n_targets)`` makes its diagonal one.
        """
        n_targets = len(self.y_mean)
        hessian_root = (2.0 / n_targets) ** 0.5
        transform = np.diag(1.0 / (self.x_scale * hessian_root))
        cast = dict(dtype=dtype, device=device)
        return Preconditioner(
            x_mean=torch.as_tensor(self.x_mean, **cast),
            y_mean=torch.as_tensor(self.y_mean, **cast),
            y_scale=torch.as_tensor(self.y_scale, **cast),
            transform=torch.as_tensor(transform, **cast),
            intercept_scale=(n_targets / 2.0) ** 0.5 if fit_intercept else 0.0,
            theta0=torch.zeros(len(self.x_mean), n_targets, **cast),
        )

    def to_dict(self):
        return asdict(self)


@dataclass
class StreamUpdate:
    """What one chunk does to the stream's state (nothing is stored yet)."""

    moments: Moments
    basis: Basis
    rebuilt: bool


def update_stream(state, X, Y, w, *, fit_intercept):
    """Fold one chunk into the stream's state.

    Parameters
    ----------
    state : dict or None
        ``{"moments": ..., "basis": ...}`` as stored by the estimator (plain
        dicts of numpy arrays), or None for the first chunk.
    X : Tensor of shape (n_samples, n_features)
    Y : Tensor of shape (n_samples, n_targets)
    w : Tensor of shape (n_samples,)
    fit_intercept : bool

    Returns
    -------
    StreamUpdate
        ``rebuilt`` says whether the change of variables changed (always on
        the first chunk).

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._stream import update_stream
    >>> one_row = torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0]]), torch.ones(1)
    >>> first = update_stream(None, *one_row, fit_intercept=True)
    >>> first.basis.x_scale  # no spread yet: the magnitude of the values
    array([1., 5.])
    >>> X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> state = {"moments": first.moments.to_dict(), "basis": first.basis.to_dict()}
    >>> later = update_stream(state, X, torch.ones(2, 1), torch.ones(2), fit_intercept=True)
    >>> later.rebuilt, later.basis.x_mean
    (True, array([1., 3.]))
    """
    chunk = Moments.of(X, Y, w)
    if state is None:
        moments, old = chunk, None
    else:
        moments, old = Moments(**state["moments"]).merge(chunk), Basis(**state["basis"])
    basis = Basis.of(moments, fit_intercept)
    if old is not None and not basis.drifted_from(old):
        return StreamUpdate(moments, old, rebuilt=False)
    return StreamUpdate(moments, basis, rebuilt=True)
