"""The three solvers, each a :mod:`torch.optim` optimizer, and their saved state."""

import functools

import torch

from ._lazy_dynamo import defer_dynamo_import

defer_dynamo_import()

SOLVERS = ("lbfgs", "adam", "sgd")
# Solvers that can take one epoch at a time (partial_fit): L-BFGS's history
# and line search assume one fixed objective.
STOCHASTIC = ("adam", "sgd")


def make_optimizer(solver, params, *, learning_rate_init, momentum):
    """Build the torch optimizer for ``solver`` over ``params``.

    L-BFGS takes one iteration per ``step`` so that the caller owns the
    stopping rule: torch's own L-BFGS tolerances are absolute, which only
    works because the engine makes the problem scale-free.

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._solvers import make_optimizer
    >>> p = torch.zeros(3, requires_grad=True)
    >>> type(make_optimizer("adam", [p], learning_rate_init=0.01, momentum=0.9)).__name__
    'Adam'
    """
    if solver == "lbfgs":
        eps = torch.finfo(params[0].dtype).eps
        return torch.optim.LBFGS(
            params,
            lr=1.0,
            max_iter=1,
            # max_iter=1 would otherwise set max_eval=1 and disable the line search.
            max_eval=25,
            tolerance_grad=0.0,
            tolerance_change=eps,
            history_size=10,
            line_search_fn="strong_wolfe",
        )
    if solver == "adam":
        return torch.optim.Adam(params, lr=learning_rate_init)
    if solver == "sgd":
        return torch.optim.SGD(params, lr=learning_rate_init, momentum=momentum)
    raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")


def load_state(optimizer, saved, *, learning_rate_init, momentum):
    """Resume ``optimizer`` from ``saved`` (a ``state_dict``) under today's parameters.

    ``load_state_dict`` also restores the saved parameter groups, so a
    ``learning_rate_init`` or ``momentum`` changed with ``set_params`` since
    would silently not apply: the caller's current values are put back.
    Only the running state (Adam's moments, SGD's velocity) carries over,
    and SGD's velocity only under the momentum that accumulated it. torch's
    SGD with momentum 0 keeps, unused, the velocity it was given: saved
    again, it came back many calls later with the momentum. A velocity
    summed under another momentum has another size (about ``1 / (1 -
    momentum)`` gradients), so a changed momentum restarts from a plain
    gradient step, as :func:`restart_momentum` does when the objective rises.

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._solvers import load_state, make_optimizer
    >>> p = torch.zeros(3, requires_grad=True)
    >>> old = make_optimizer("sgd", [p], learning_rate_init=0.01, momentum=0.9)
    >>> new = make_optimizer("sgd", [p], learning_rate_init=1e-6, momentum=0.5)
    >>> load_state(new, old.state_dict(), learning_rate_init=1e-6, momentum=0.5)
    >>> new.param_groups[0]["lr"], new.param_groups[0]["momentum"]
    (1e-06, 0.5)
    >>> p.grad = torch.ones(3); old.step()
    >>> load_state(new, old.state_dict(), learning_rate_init=0.01, momentum=0.0)
    >>> "momentum_buffer" in new.state[p]
    False
    """
    optimizer.load_state_dict(saved)
    for group in optimizer.param_groups:
        group["lr"] = learning_rate_init
        if "momentum" in group:
            if momentum == 0 or group["momentum"] != momentum:
                restart_momentum(optimizer)
            group["momentum"] = momentum


def restart_momentum(optimizer):
    """Forget SGD's velocity: the next step is a plain gradient step.

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._solvers import make_optimizer, restart_momentum
    >>> p = torch.ones(2, requires_grad=True)
    >>> sgd = make_optimizer("sgd", [p], learning_rate_init=0.1, momentum=0.9)
    >>> p.grad = torch.ones(2); sgd.step()
    >>> restart_momentum(sgd)
    >>> "momentum_buffer" in sgd.state[p]
    False
    """
    for state in optimizer.state.values():
        state.pop("momentum_buffer", None)


class stochastic_only:
    """Decorator: the method exists only while ``solver`` is Adam or SGD.

    As :func:`sklearn.utils.metaestimators.available_if` (``hasattr`` is
    False otherwise, so meta-estimators do not offer it), but the
    AttributeError names the solvers that have the method: "has no attribute"
    alone leaves a user guessing why. The solver is checked again when the
    method runs: a method taken from the class, or bound before
    ``set_params(solver="lbfgs")``, must not run one L-BFGS epoch. An invalid
    solver is left to parameter validation, which names the valid ones.
    """

    def __init__(self, method):
        self.method = method
        functools.update_wrapper(self, method)

        @functools.wraps(method)
        def checked(estimator, *args, **kwargs):
            self._check(estimator)
            return method(estimator, *args, **kwargs)

        self.checked = checked

    def _check(self, estimator):
        solver = estimator.solver
        if solver in SOLVERS and solver not in STOCHASTIC:
            raise AttributeError(
                f"{self.method.__name__} is only available with solver in "
                f"{STOCHASTIC}; this {type(estimator).__name__} has "
                f"solver={solver!r}, which needs the whole data set at once. "
                "Set solver='adam' or 'sgd' to learn from chunks."
            )

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.checked
        self._check(obj)
        return self.checked.__get__(obj, owner)
