"""The penalty of every objective: pure torch, no scikit-learn.

Every estimator minimizes ``(datafit + alpha ||W||^2) / total weight``, the
intercept never penalized. The datafit varies (:mod:`._losses`, the log
loss); the penalty is this one object, so that its value, the curvature it
adds to the preconditioners and its share in a data-parallel fit are
written once.
"""

from ._reduce import LOCAL


class L2:
    """The ridge penalty ``alpha ||W||_F^2`` on the coefficients.

    Parameters
    ----------
    alpha : float
        At least 0; already divided by the largest sample weight where the
        weights were (:func:`._base.scaled_weights`).

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._penalty import L2
    >>> L2(0.5).value(torch.tensor([[1.0, 2.0]]))
    2.5
    """

    def __init__(self, alpha):
        self.alpha = alpha

    def __repr__(self):
        return f"L2(alpha={self.alpha!r})"

    @property
    def vanishes(self):
        """Whether the penalty is 0 everywhere (``alpha == 0``)."""
        return self.alpha == 0

    def share(self, reducer=None):
        """This process's part of the penalty in a data-parallel fit.

        The objective's data terms are summed over the processes' rows; the
        penalty belongs to the whole data set, so process 0 adds it and the
        others add nothing.
        """
        return self if (reducer or LOCAL).rank == 0 else L2(0.0)

    def terms(self, coef, dim, factor=1.0):
        """``factor * alpha * ||coef||^2`` summed along ``dim`` (per target, or all for None).

        ``factor`` (the objective's normalization) multiplies ``alpha``
        before the squares, as the objectives always did: the order of the
        products is part of their rounding.
        """
        squares = (coef**2).sum() if dim is None else (coef**2).sum(dim)
        return factor * self.alpha * squares

    def value(self, coef):
        """The whole penalty of the model ``coef`` as a float (no gradient, every process)."""
        return self.alpha * float((coef**2).sum())

    def ridge(self, data_curvature):
        """The ``a`` of ``X' diag(v) X + a I``, the Gram a preconditioner whitens.

        The objective's Hessian in the coefficients is ``X' diag(w l'') X +
        2 alpha I``, with ``l''`` the datafit's second derivative in the raw
        prediction. A preconditioner built from the weights ``v = w l'' /
        data_curvature`` whitens it with ``a = 2 alpha / data_curvature``:
        ``alpha`` for squared error weighted by ``w`` (``l'' = 2``), ``2
        alpha`` for a loss weighted by its curvature ``w h``.
        """
        return (2 / data_curvature) * self.alpha
