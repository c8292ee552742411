"""The three solvers, each a :mod:`torch.optim` optimizer."""

import torch

SOLVERS = ("lbfgs", "adam", "sgd")


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
