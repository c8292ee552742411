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
        ``theta0`` itself when the iteration produced anything non-finite.

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

    def fitted(theta):
        beta = transform @ theta
        return X @ beta - x_mean @ beta, beta

    def half_gradient(error, beta):
        data = reducer.sum(_centred_t(X, w * error, x_mean))
        return transform.T @ data + alpha * (transform.T @ beta)

    theta = theta0.clone()
    fit, beta = fitted(theta)
    error = fit - (Y.double() - y_mean) / y_scale
    residual = -half_gradient(error, beta)
    floor = _FLOOR**2 * float(reducer.sum(w.sum()))
    direction = residual.clone()
    squares = (residual * residual).sum(0)
    for _ in range(max_iter):
        objective = reducer.sum((w * error * error).sum(0)) + alpha * (beta * beta).sum(0)
        if bool((squares <= (tol / _MARGIN * objective).clamp(min=floor)).all()):
            break
        fit, step_beta = fitted(direction)
        product = half_gradient(fit, step_beta)
        curvature = (direction * product).sum(0)
        # Columns already solved (no curvature left along them) stay put.
        step = torch.where(curvature > 0, squares / curvature, torch.zeros_like(squares))
        theta += step * direction
        error += step * fit
        beta += step * step_beta
        residual -= step * product
        previous, squares = squares, (residual * residual).sum(0)
        direction = residual + torch.where(previous > 0, squares / previous,
                                           torch.zeros_like(squares)) * direction
    return theta if bool(torch.isfinite(theta).all()) else theta0


def _centred_t(X, u, x_mean):
    """``(X - x_mean)^T u`` without forming the centred X.

    As ``(u^T X)^T``: BLAS streams a row-major X faster that way (see
    :class:`._data._Affine`).
    """
    return (u.T @ X).T - x_mean[:, None] * u.sum(0)
