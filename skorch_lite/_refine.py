"""The sketch's least-squares solution, refined on every row of small data.

Above the sketch size the preconditioner's start ``theta0`` solves the
problem on a CountSketch of the rows: in ``theta`` the Hessian over every
row is only close to the identity, and L-BFGS then takes a few iterations
from there (4 on 20,000 x 20). Each costs an autograd evaluation and
torch.optim's Python, far more than a pass over small X itself. Conjugate
gradients on the normal equations in ``theta`` (the sketch as a
preconditioner: Blendenpik, Avron, Maymounkov & Toledo 2010; LSRN, Meng,
Saunders & Mahoney 2014) take the start to the optimum in a few cheap
passes instead, so that training only certifies it. Only a start: the
engine's stopping rule still decides, on its own evaluation of the
objective, whether the fit converged.
"""

import torch

from ._data import matmul_t
from ._reduce import LOCAL

# Relative size of the residual of the normal equations at which float64
# arithmetic stops resolving it (a few hundred eps of the right-hand side,
# of order sum(w) in these units).
_FLOOR = 256 * torch.finfo(torch.float64).eps
# The engine's rule on a sketch's start asks 4 times half the squared
# gradient to be within tol of the objective; aim a margin below it.
_MARGIN = 16


def refined_start(theta0, transform, X, Y, w, alpha, x_mean, y_mean, y_scale, tol,
                  reducer=LOCAL, max_iter=30):
    """``theta0`` moved by conjugate gradients towards the optimum over every row.

    Solves ``H theta = g``, the normal equations of the standardized ridge
    objective ``f = ||sqrt(w) ((X - x_mean) transform theta - (Y - y_mean) /
    y_scale)||^2 + alpha ||transform theta||^2`` in the decomposition's
    units (``H`` close to the identity), one column per target, until the
    squared residual of the equations is ``tol / 16`` of ``f`` (in the
    engine's variables, half the squared gradient over the objective) or
    at the floor of float64. X is centred implicitly, never copied centred;
    each iteration reads it twice (``X @ v``, ``u^T @ X``).

    Parameters
    ----------
    theta0 : Tensor of shape (rank, n_targets), float64
    transform : Tensor of shape (n_features, rank), float64
    X : Tensor of shape (n_samples, n_features)
        Dense and small: read in float64.
    Y : Tensor of shape (n_samples, n_targets)
    w : Tensor of shape (n_samples,)
    alpha : float
    x_mean, y_mean, y_scale : Tensor, float64
    tol : float
        Relative excess of the objective to reach (the engine's ``tol``).
    reducer : Reducer, default=LOCAL
        Sums the products with X of processes that each hold a shard of the
        rows; every process then takes the same steps.
    max_iter : int, default=30

    Returns
    -------
    theta : Tensor of shape (rank, n_targets), float64
        ``theta0``'s values when the iteration produced anything non-finite.

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._refine import refined_start
    >>> X = torch.tensor([[1.0], [2.0], [4.0]], dtype=torch.float64)
    >>> zero, one = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    >>> theta = refined_start(torch.zeros(1, 1, dtype=torch.float64), torch.eye(1).double(),
    ...                       X, 3 * X, torch.ones(3).double(), 0.0, zero, zero, one, tol=0.0)
    >>> round(float(theta), 12)
    3.0
    """
    X = X.double()
    w = w.double()[:, None]
    equations = _NormalEquations(transform, X, w, alpha, x_mean, reducer)
    theta = theta0.clone()
    beta = transform @ theta
    error = equations.fitted(beta) - (Y.double() - y_mean) / y_scale
    residual = -equations.half_gradient(error, beta)
    # A tensor rather than a float: no host sync before the first test.
    floor = _FLOOR**2 * reducer.sum(w.sum())
    direction = residual.clone()
    squares = _column_dots(residual, residual)
    for _ in range(max_iter):
        objective = equations.objective(error, beta)
        if bool((squares <= (tol / _MARGIN * objective).clamp(min=floor)).all()):
            break
        step_beta = transform @ direction
        fit = equations.fitted(step_beta)
        product = equations.half_gradient(fit, step_beta)
        curvature = _column_dots(direction, product)
        # Columns already solved (no curvature left along them) stay put.
        step = torch.where(curvature > 0, squares / curvature, 0.0)
        theta.addcmul_(step, direction)
        error.addcmul_(step, fit)
        if equations.penalized:
            beta.addcmul_(step, step_beta)
        residual.addcmul_(step, product, value=-1)
        previous, squares = squares, _column_dots(residual, residual)
        direction.mul_(torch.where(previous > 0, squares / previous, 0.0)).add_(residual)
    # Chosen on the device: no host sync when the loop ran to max_iter.
    return torch.where(torch.isfinite(theta).all(), theta, theta0)


class _NormalEquations:
    """Products with the standardized problem's matrix, its constants formed once.

    Without a penalty (``alpha == 0``) its terms are skipped rather than
    multiplied by zero: the same sums (``x + 0`` is ``x``), but no operations
    on ``beta``, and no ``0 * inf`` where ``beta`` overflows squared or
    multiplied by ``transform^T`` (a column of X of scale 1e-160 has
    coefficients of 1e160): every step was then NaN, hence zero, and the
    NaN objective never passed the stopping test, so the iteration ran to
    ``max_iter`` and returned the start unchanged.
    """

    def __init__(self, transform, X, w, alpha, x_mean, reducer):
        self.transform_t = transform.T
        self.X, self.alpha, self.reducer = X, alpha, reducer
        # Unit weights (the usual case) are not multiplied by: two passes
        # over the residuals an iteration.
        self.w = None if bool((w == 1).all()) else w
        self.x_mean, self.x_mean_column = x_mean, x_mean[:, None]
        self.penalized = alpha != 0

    def fitted(self, beta):
        """``(X - x_mean) beta``, X never copied centred (the mean's product added by BLAS)."""
        return torch.addmm(-(self.x_mean @ beta), self.X, beta)

    def half_gradient(self, fit, beta):
        """``transform^T ((X - x_mean)^T w fit + alpha beta)``, summed over processes."""
        u = fit if self.w is None else self.w * fit
        data = self.reducer.sum(matmul_t(self.X, u) - self.x_mean_column * u.sum(0))
        product = self.transform_t @ data
        if self.penalized:
            product = product + self.alpha * (self.transform_t @ beta)
        return product

    def objective(self, error, beta):
        """``sum(w error^2) + alpha ||beta||^2`` per target, summed over processes."""
        weighted = error if self.w is None else self.w * error
        objective = self.reducer.sum(_column_dots(weighted, error))
        if self.penalized:
            objective = objective + self.alpha * _column_dots(beta, beta)
        return objective


def _column_dots(a, b):
    """``(a * b).sum(0)`` in one call: the same product and sum (the same bits)."""
    return torch.linalg.vecdot(a, b, dim=0)
