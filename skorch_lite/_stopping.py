"""When training stops, and which model it keeps: pure torch, no scikit-learn.

The engine (:func:`._engine.train`) asks four questions after each
iteration; each has its object here:

* :class:`Certificate`: is the model at the optimum to ``tol``? (full batch)
* :class:`Stopper`: has the watched value stopped improving? (patience)
* :class:`BestSeen`: which model seen so far is the best? (kept by
  mini-batch training, early stopping and interrupted fits)
* :class:`Divergence`: is training diverging? (an error)

Every value is of the standardized objective, in which predicting the mean
scores 1 and the Hessian is (close to) the identity, so each rule is free of
the data's units.
"""

import math

import torch

# The standardized objective of the model predicting the mean is 1. An
# iterate a hundred times worse than that, and than where the call started,
# is not learning: it is diverging.
DIVERGED = 100.0


class Certificate:
    """The full-batch stopping rule: half the squared gradient against ``tol`` times the objective.

    In the preconditioned variables half the squared gradient estimates how
    far the objective is above its minimum. The rule holds when it is at
    most ``tol`` times the objective, or below the floors of what the
    arithmetic resolves (see :func:`gradient_noise`).

    Parameters
    ----------
    objective : Objective
    optimizer : torch.optim.Optimizer
    params : list of Tensor
        The variables, ``theta`` first.
    tol : float
    n_rows : int
        Training rows, which set L-BFGS's precision floor.
    """

    def __init__(self, objective, optimizer, params, tol, n_rows):
        self.objective, self.optimizer, self.params, self.tol = objective, optimizer, params, tol
        self.eps = torch.finfo(params[0].dtype).eps
        lbfgs = isinstance(optimizer, torch.optim.LBFGS)
        # A line search compares sums over n rows, which tell points apart only
        # to ~eps log2(n) relative; the gradient rule alone resolves far less.
        self.precision = 2 * self.eps * math.log2(n_rows + 2) if lbfgs else 0.0
        # Half the squared gradient is the excess exactly when the Hessian is
        # the identity; a sketch's Hessian is within a factor ~2 of it (its
        # smallest eigenvalue above 1/4 for an embedding of distortion 1/2).
        self.sketch_factor = 1.0 if objective.precond.exact else 4.0

    def excess(self, entry):
        """Estimated relative excess of the objective above its minimum at ``entry``."""
        return _half_squared(entry.grads) / max(float(entry.loss), self.eps)

    def holds(self, entry):
        """Whether the evaluation ``entry`` meets the rule."""
        loss = float(entry.loss)
        half_squared_gradient = _half_squared(entry.grads)
        # Below the floors of what the arithmetic resolves no precision is
        # gained: an excess of `precision` shows, through a Hessian whose
        # largest eigenvalue is `curvature`, as a gradient that large. A
        # loss summed from terms that cancel (a deviance, near 0 at an exact
        # fit) is resolved to no better than eps of its terms' size.
        curvature = _largest_curvature(self.optimizer, self.params)
        terms = getattr(self.objective, "term_magnitude", 0.0) if self.precision else 0.0
        # The objective is standardized (1 predicts the mean): below eps it
        # is exact to the precision of y, so its relative excess is
        # measured against eps at least (a zero-loss fit converges).
        return (
            self.sketch_factor * half_squared_gradient <= self.tol * max(loss, self.eps)
            or half_squared_gradient
            <= max(curvature * self.precision * loss, curvature * self.eps * terms,
                   gradient_noise(self.objective.precond, self.params[0])
                   + _representation_noise(self.params, curvature))
        )


def _half_squared(grads):
    return 0.5 * sum(float((g**2).sum()) for g in grads)


class Stopper:
    """No relative improvement by more than ``tol`` for ``n_iter_no_change`` iterations.

    The first value seen is the first comparison's reference, never a
    failure to improve (against ``inf`` the threshold ``inf - tol * inf`` is
    NaN, which used to spend one unit of patience before any comparison).
    """

    def __init__(self, tol, n_iter_no_change):
        # A numpy scalar tol would turn the threshold into a numpy scalar
        # (and warn on inf arithmetic); a float keeps it plain.
        self.tol, self.patience = float(tol), n_iter_no_change
        self.best = None
        self.count = 0

    def update(self, value):
        """Count ``value``; True when patience has run out."""
        if self.best is None:
            self.best = value
            return False
        if value < self.best - self.tol * abs(self.best):
            self.count = 0
        else:
            self.count += 1
        self.best = min(self.best, value)
        return self.count >= self.patience


class BestSeen:
    """The lowest value offered and the variables' values that gave it."""

    def __init__(self):
        self.value, self.values = math.inf, None

    def offer(self, value, values):
        """Keep ``values`` (tensors no one changes afterwards: an evaluation's own copy) if best."""
        # A NaN never wins: it compares False.
        if value < self.value:
            self.value, self.values = value, values


class Divergence:
    """Raise when the objective grows far above the mean predictor's and the call's start.

    The limit is ``DIVERGED`` times the larger of the two (or an objective's
    own ``diverged_above``). The start counts as well: a call may start far
    above the mean predictor (a stream whose first chunk was an outlying
    row, a warm start on shifted targets, a step too small to move), and a
    rule that judged the start rolled such a call back on every try, so
    the estimator never recovered. The start's objective is computed only
    when a value passes the first limit (one pass over the rows, without
    gradient).
    """

    def __init__(self, objective, params, solver, learning_rate_init):
        self.objective, self.solver, self.learning_rate_init = objective, solver, learning_rate_init
        self.null_limit = getattr(objective, "diverged_above", DIVERGED)
        self.limit = self.null_limit
        self.start = [p.detach().clone() for p in params]
        self.start_value = None

    def check(self, loss, iteration):
        """Raise a ValueError when ``loss`` (a 0-d tensor) diverged at ``iteration``."""
        finite = bool(torch.isfinite(loss))
        # L-BFGS's line search only accepts decreases: from a poor sketch
        # start (a few rows for many) a large objective is where it starts,
        # not where it diverged; only a non-finite one is an error.
        if finite and (loss <= self.limit or self.solver == "lbfgs"):
            return
        if finite and self.start_value is None:
            self.start_value = self._objective_at_start()
            self.limit = max(self.limit, DIVERGED * self.start_value)
            if loss <= self.limit:
                return
        raise ValueError(f"Training diverged at iteration {iteration}: {self._growth(loss)}. "
                         f"{self._advice()}")

    def _objective_at_start(self):
        return objective_value(self.objective, self.start)

    def _growth(self, loss):
        if self.start_value is not None and DIVERGED * self.start_value > self.null_limit:
            return (f"the objective became {float(loss) / self.start_value:.3g} times "
                    "its value at the start of this call")
        return (f"the objective became {float(loss) / self.null_limit * DIVERGED:.3g} "
                "times that of predicting the mean")

    def _advice(self):
        if self.solver == "lbfgs":
            return (
                "The data's magnitudes exceed what its dtype can hold: values too "
                "large, or a model too small to represent (coefficients below ~1e-308, "
                "e.g. X of order 1e160 with y of order 1e-160); rescale X or y, or "
                "pass float64 data."
            )
        return (f"Lower learning_rate_init (now {self.learning_rate_init}) or use "
                "solver='lbfgs'.")


def objective_value(objective, params):
    """The objective at ``params``, summed over targets and processes (no gradient)."""
    with torch.no_grad():
        terms, _ = objective.forward(list(params))
    return float(objective.reducer.sum(terms).sum())


def gradient_noise(precond, theta, safety=4.0):
    """Half the squared norm of the gradient's rounding error, in ``theta`` units.

    Each residual is rounded at ``eps`` times the largest term that formed
    it: the target (``|y_mean| / y_scale`` in standardized units), the
    uncentred prediction (``|x_mean @ beta_std|``) and the residual's own
    unit scale. The preconditioned gradient sums them through an (almost)
    orthonormal map, once per kept direction. A gradient smaller than this
    cannot be reduced: the model is at the optimum to the data's precision
    (a zero-loss fit, or one whose loss is far below eps, such as rows with
    weights 1e20 fitted exactly beside rows of weight 1).
    """
    eps = torch.finfo(theta.dtype).eps
    with torch.no_grad():
        beta = precond.transform @ theta
        scale = 1 + (precond.y_mean / precond.y_scale).abs() + (precond.x_mean @ beta).abs()
    rank, n_targets = theta.shape
    return float((safety * eps * scale) ** 2 @ torch.ones_like(scale)) * max(rank, 1) / n_targets


def _largest_curvature(optimizer, params):
    """An estimate (at least 1) of the largest eigenvalue of the Hessian in ``theta``.

    1 for an exact preconditioner; a sketch's Hessian is only close to the
    identity. L-BFGS's curvature pairs ``(s, y)`` give Rayleigh quotients
    ``y.y / s.y`` of it; other solvers keep none.
    """
    state = optimizer.state.get(params[0], {}) if isinstance(optimizer, torch.optim.LBFGS) else {}
    pairs = zip(state.get("old_dirs", ()), state.get("old_stps", ()))
    return max([1.0, *(float(y @ y / (s @ y)) for y, s in pairs)])


def _representation_noise(params, curvature, safety=4.0):
    """Half the squared gradient that rounding the variables themselves leaves.

    The optimum is only representable to ``eps * |theta|``; the Hessian turns
    that into a gradient up to ``curvature`` times as large.
    """
    eps = torch.finfo(params[0].dtype).eps
    size = math.sqrt(sum(float((p.detach() ** 2).sum()) for p in params))
    return 0.5 * (safety * curvature * eps * size) ** 2
