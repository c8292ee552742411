"""The losses (datafits) of TorchLinearRegressor other than squared error.

Each loss is elementwise: ``value(raw, Y, extra)`` is the (n, k) array of
per-row, per-target losses of the raw prediction ``raw = X @ W.T + b``. The
estimator weights, sums and penalizes them; gradients come from autograd.
Besides its value a loss gives what the engine needs around it, in the
spirit of skglm's datafits and scikit-learn's ``LinearModelLoss``:

* ``link``: ``"identity"`` or ``"log"`` (the mean is ``exp(raw)``);
* ``curvature(raw, Y, extra)``: positive per-row weights whose weighted
  Gram matrix bounds (or equals) the Hessian in ``raw``: the second
  derivative for smooth losses, the weight of a quadratic majorizer
  (iteratively reweighted least squares) where it vanishes or is undefined.
  The preconditioner is refreshed with them, so every row keeps a positive
  weight and X's row space is never lost;
* ``check_targets(Y)``: the values the loss is defined for (any rows: a
  stream's chunk or scored rows), and ``check_targets_sum(Y, w, reducer)``:
  conditions on the weighted sums over all the rows fitted;
* ``extra``: variables fitted jointly with the coefficients (Huber's scale).

Squared error is not here: its exact sketch start and identity Hessian live
in :mod:`._engine` and :mod:`._precondition`.
"""

import math

import torch

from ._reduce import LOCAL

def safe_exp(raw):
    """``exp(raw)``, continued beyond ``log(max) / 3`` by its second-order Taylor polynomial.

    A line search may try a step whose prediction overflows exp; a convex,
    finite continuation makes that trial point merely bad (rejected), not
    an infinite loss that ends the fit. A third of the exponent range
    leaves room for the polynomial and for the squares L-BFGS forms of the
    gradient (``exp(236)**2`` is ~1e205 in float64); at half the range a
    trial step of 1e4 made them overflow and the direction NaN. Callers
    centre ``raw`` on the data's scale, so the optimum never lies there:
    ``exp(236)``, or ``exp(29)`` in float32, times y's size.
    """
    top = math.log(torch.finfo(raw.dtype).max) / 3
    d = torch.clamp(raw - top, min=0)
    return torch.exp(torch.clamp(raw, max=top)) * (1 + d + d * d / 2)


LOSSES = ("squared_error", "huber", "absolute_error", "quantile", "poisson", "gamma")


class Datafit:
    """Base: an identity-link, smooth loss with no extra variables."""

    link = "identity"
    # Not smooth: minimized through a smoothing of width ``delta`` that a
    # continuation shrinks (see _newton.fit_loss).
    smooth = True
    # Newton steps in the coefficients alone converge quadratically: the
    # rounds (see _newton.fit_loss) polish the fit far below tol for the
    # price of one more round. False where other variables move with them.
    newton_quadratic = True
    name = "loss"

    def value(self, raw, Y, extra):
        raise NotImplementedError

    def curvature(self, raw, Y, extra):
        """Second derivative in ``raw`` by autograd, floored at 1e-3 of its largest.

        The floor keeps every row in the preconditioner (rows where a
        loss is flat, such as the tails of log-cosh, would otherwise drop
        out of the row space).
        """
        second = self.second_derivative(raw, Y, extra)
        if second is None:
            second = torch.zeros_like(raw)
        second = torch.nan_to_num(second.abs(), nan=0.0, posinf=0.0)
        top = second.amax(0, keepdim=True)
        floor = torch.where(top > 0, 1e-3 * top, torch.ones_like(top))
        return torch.maximum(second, floor)

    def second_derivative(self, raw, Y, extra):
        """The loss's second derivative in ``raw`` (signed, detached) by autograd; None where it has none.

        A loss linear in pieces has no second derivative to differentiate.
        """
        with torch.enable_grad():
            raw = raw.detach().requires_grad_(True)
            first = torch.autograd.grad(self.value(raw, Y, extra).sum(), raw, create_graph=True)[0]
            if not first.requires_grad:
                return None
            second = torch.autograd.grad(first.sum(), raw, allow_unused=True)[0]
        return None if second is None else second.detach()

    def term_magnitude(self, raw, Y, extra):
        """Per-row size of the terms ``value`` sums: the scale of its rounding.

        The loss itself where its terms do not cancel; deviances override it.
        """
        return self.value(raw, Y, extra).abs()

    def init_extra(self, residual_scale):
        """Extra variables at the start (none)."""
        return []

    def extra_values(self, extra):
        """Fitted values of the extra variables, for attributes (none)."""
        return {}

    def check_targets(self, Y):
        if not bool(torch.isfinite(Y).all()):
            raise ValueError("y contains NaN or infinity.")

    def check_targets_sum(self, Y, w, reducer, split=False):
        """Conditions on the weighted sums over the rows fitted (none here)."""

    def mean(self, raw):
        return raw.exp() if self.link == "log" else raw

    def null_raw(self, Y, w, reducer=LOCAL):
        """Raw intercept of the model predicting the weighted mean (of every shard's rows)."""
        mean = reducer.sum(w @ Y) / reducer.sum(w.sum())
        return mean.log() if self.link == "log" else mean


class Huber(Datafit):
    """HuberRegressor's loss, with its scale ``sigma`` fitted jointly.

    ``sigma + sigma * H(r / sigma)``, ``H(z) = z**2`` for ``|z| <= epsilon``,
    ``2 epsilon |z| - epsilon**2`` beyond (Owen, "A robust hybrid of lasso
    and ridge regression", 2007, as scikit-learn). The objective is jointly
    convex in the coefficients and ``sigma``. ``sigma`` is optimized as
    ``sigma0 * exp(v * sqrt(unit / sigma0))``: positive, and with a
    curvature in ``v`` of order 1, as the preconditioned coefficients have,
    in the objective standardized by ``unit`` (its null model's value).
    """

    name = "huber"
    unit = 1.0
    # The scale is held still by a round's Newton step, so rounds converge
    # only linearly (0.1 per round at 1000 x 100, 0.9 at 1000 x 500): taken
    # down to rounding, they were 108 SVDs and 30 s where 2 suffice for tol.
    newton_quadratic = False

    def __init__(self, epsilon):
        self.epsilon = float(epsilon)

    def init_extra(self, residual_scale):
        self.sigma0 = residual_scale.clamp_min(torch.finfo(residual_scale.dtype).tiny)
        return [torch.zeros_like(self.sigma0).requires_grad_(True)]

    def sigma(self, extra):
        # Floored (at sqrt(tiny) of sigma0, or tiny): a scale driven to 0
        # (rows fitted exactly, Adam's steps) would make |r| / sigma
        # infinite. Relative, so that y of 1e-200 keeps its scale. Continued past
        # exp's range (safe_exp): an Adam step of fixed length in v can ask
        # for exp(1e4) when sigma0 is tiny; that trial is then a large,
        # finite objective that the optimizer walks back from, not an
        # infinite loss that ends the fit.
        sigma = self.sigma0 * safe_exp(extra[0] * torch.sqrt(self.unit / self.sigma0))
        tiny = torch.finfo(sigma.dtype).tiny
        return torch.maximum(sigma, (self.sigma0 * tiny**0.5).clamp_min(tiny))

    def value(self, raw, Y, extra):
        return self.value_at_scale(raw, Y, self.sigma(extra))

    def value_at_scale(self, raw, Y, sigma):
        """``sigma (1 + H(r / sigma))``, without forming ``r / sigma`` beyond ``epsilon``.

        Beyond, the loss is ``sigma (1 - epsilon**2) + 2 epsilon |r|``; within,
        ``sigma + (a / sigma) a`` with ``a = min(|r|, epsilon sigma)``, so no
        branch, selected or not, overflows when sigma is tiny (y of 1e-200,
        rows fitted exactly), and autograd never meets ``0 * inf``.
        """
        eps = self.epsilon
        r = (Y - raw).abs()
        a = torch.minimum(r, eps * sigma)
        return torch.where(r <= eps * sigma, sigma + (a / sigma) * a,
                           sigma * (1 - eps * eps) + 2 * eps * r)

    def curvature(self, raw, Y, extra):
        # The majorizer of iteratively reweighted least squares: 2 / sigma
        # inside, 2 / sigma * epsilon * sigma / |r| beyond (positive everywhere).
        sigma = self.sigma(extra).detach()
        r = (Y - raw).abs()
        return 2 / sigma * torch.clamp(self.epsilon * sigma / r.clamp_min(1e-300), max=1.0)

    def extra_values(self, extra):
        return {"scale": self.sigma(extra).detach()}


class Pinball(Datafit):
    """The pinball (quantile) loss ``max(q r, (q - 1) r)``, ``r = y - raw``, times ``factor``.

    Not differentiable at ``r = 0``: minimized as ``factor * (rho(r) / 2 +
    (q - 1/2) r)`` with ``rho`` the absolute value smoothed to a parabola
    within ``delta`` of 0 (exact beyond; at most ``factor * delta / 4`` above
    the loss), ``delta`` shrunk by a continuation. ``absolute_error`` is
    ``q = 1/2``, ``factor = 2``.
    """

    smooth = False

    def __init__(self, quantile, factor=1.0, name="quantile"):
        self.quantile, self.factor, self.name = float(quantile), float(factor), name
        self.delta = None

    def value(self, raw, Y, extra):
        r = Y - raw
        a = r.abs()
        if self.delta is None:
            rho = a
        else:
            d = self.delta
            # (a / d) * a, not a * a / d: residuals of 1e-200 square to 0.
            rho = torch.where(a <= d, (a / d) * a / 2 + d / 2, a)
        return self.factor * (0.5 * rho + (self.quantile - 0.5) * r)

    def exact_value(self, raw, Y):
        r = Y - raw
        return self.factor * torch.maximum(self.quantile * r, (self.quantile - 1) * r)

    def curvature(self, raw, Y, extra):
        # The majorizer |r| <= r**2 / (2 |r0|) + |r0| / 2 (IRLS), capped at the
        # smoothing's own curvature 1 / delta.
        a = (Y - raw).abs()
        if self.delta is not None:
            floor = self.delta
        else:
            # Unsmoothed (Adam and SGD's preconditioner): a row the start
            # passes through has a residual of rounding size, and its
            # curvature of 1e299 made the change of variables depend on
            # that rounding (rank 0 for y, rank 1 for 10 y). Capped at 1e3
            # times the mean row's, as Datafit floors at 1e-3 of the top.
            mean = a.mean(0, keepdim=True)
            floor = torch.where(mean > 0, 1e-3 * mean, torch.ones_like(mean))
        return self.factor * 0.5 / torch.clamp(a, min=floor)

    def null_raw(self, Y, w, reducer=LOCAL):
        # The weighted quantile of each target, over every shard's rows.
        Y, w = reducer.cat(Y), reducer.cat(w)
        order = torch.argsort(Y, dim=0)
        out = []
        for t in range(Y.shape[1]):
            ys, ws = Y[order[:, t], t], w[order[:, t]]
            cum = torch.cumsum(ws, 0)
            k = int(torch.searchsorted(cum, self.quantile * cum[-1]).clamp(max=len(ys) - 1))
            out.append(ys[k])
        return torch.stack(out)


class Poisson(Datafit):
    """Poisson unit deviance ``2 (y log(y / mu) - y + mu)``, ``mu = exp(raw)``."""

    link = "log"
    name = "poisson"

    def value(self, raw, Y, extra):
        return 2 * (torch.xlogy(Y, Y) - Y * raw - Y + self._mean(raw, Y))

    def curvature(self, raw, Y, extra):
        return 2 * self._mean(raw.detach(), Y)

    def term_magnitude(self, raw, Y, extra):
        return 2 * ((torch.xlogy(Y, Y)).abs() + (Y * raw).abs() + Y + self._mean(raw, Y))

    @staticmethod
    def _mean(raw, Y):
        # exp(raw) as exp(c) exp(raw - c), c the log of y's largest value
        # (at least 0): counts of 1e150 put the optimum at raw 345, beyond
        # safe_exp's exact range, though raw - c is of order 1 there.
        c = Y.amax(0).clamp_min(1.0).log().detach()
        return c.exp() * safe_exp(raw - c)

    def check_targets(self, Y):
        # Any rows may be all zero (a stream's chunk, scored rows); the
        # positive sum over the rows fitted is check_targets_sum's.
        super().check_targets(Y)
        if bool((Y < 0).any()):
            raise ValueError(
                "loss='poisson' needs y >= 0 (counts or rates); some values are negative."
            )

    def check_targets_sum(self, Y, w, reducer, split=False):
        """A positive weighted sum of every target over the rows fitted, in every process."""
        if not bool((reducer.sum(w @ Y) > 0).all()):
            where = (" over the training rows of the early-stopping split (change "
                     "random_state or validation_fraction)" if split else "")
            raise ValueError(
                "loss='poisson' needs y with a positive weighted sum for every target"
                f"{where}; a target is all zero (or weighted 0) there: the optimum is at "
                "a mean of 0, which the log link cannot reach."
            )


class Gamma(Datafit):
    """Gamma unit deviance ``2 (log(mu / y) + y / mu - 1)``, ``mu = exp(raw)``."""

    link = "log"
    name = "gamma"

    # y / mu as exp(log y - raw): for y of 1e-200 the optimum has raw near
    # -460, where exp(-raw) alone overflows though the ratio is of order 1.
    def value(self, raw, Y, extra):
        log_y = Y.log()
        return 2 * (raw - log_y + safe_exp(log_y - raw) - 1)

    def curvature(self, raw, Y, extra):
        return 2 * safe_exp(Y.log() - raw.detach())

    def term_magnitude(self, raw, Y, extra):
        log_y = Y.log()
        return 2 * (raw.abs() + log_y.abs() + safe_exp(log_y - raw) + 1)

    def check_targets(self, Y):
        super().check_targets(Y)
        if bool((Y <= 0).any()):
            raise ValueError("loss='gamma' needs y > 0; some values are zero or negative.")


class Callable(Datafit):
    """A user's elementwise loss ``loss(y_pred, y_true) -> Tensor (n_samples, n_targets)``."""

    name = "callable"

    def __init__(self, function):
        self.function = function

    def value(self, raw, Y, extra):
        # A copy of the targets: a callable that changes y_true in place
        # would otherwise change the caller's y (a view of it).
        y_true = Y.clone()
        version = y_true._version
        try:
            out = self.function(raw, y_true)
        except RuntimeError as error:
            # Say what the callable did wrong instead of torch's message.
            if "numpy" in str(error):
                # numpy (np.abs(y_pred), .numpy()) cannot take a tensor that
                # autograd follows.
                raise TypeError(
                    "The loss callable converted y_pred to numpy; gradients come from "
                    "autograd, so compute the losses with torch operations (torch.abs, "
                    "not np.abs)."
                ) from error
            if "in-place" in str(error) or "memory location" in str(error):
                raise ValueError(
                    "The loss callable changed y_pred in place; it must not (autograd "
                    "needs it): compute with out-of-place operations (p + 1, not p.add_(1))."
                ) from error
            raise
        if y_true._version != version:
            raise ValueError(
                "The loss callable changed y_true in place; it must not (it would "
                "train on altered targets): compute with out-of-place operations."
            )
        if not isinstance(out, torch.Tensor):
            raise TypeError(
                f"The loss callable returned {type(out).__name__}; it must return a torch "
                f"Tensor of elementwise losses of shape {tuple(Y.shape)}."
            )
        if out.shape != Y.shape:
            raise ValueError(
                f"The loss callable returned a tensor of shape {tuple(out.shape)}; it must "
                f"return elementwise losses of shape {tuple(Y.shape)} (n_samples, n_targets), "
                "not their sum or mean: the estimator applies the weights and the mean."
            )
        if not out.is_floating_point():
            raise TypeError(
                f"The loss callable returned a tensor of dtype {out.dtype}; it must return "
                "floating-point losses computed from y_pred with torch operations."
            )
        if raw.requires_grad and not out.requires_grad:
            raise TypeError(
                "The loss callable returned a tensor that does not depend on y_pred "
                "(detached, or built outside torch): gradients come from autograd, so "
                "compute the losses from y_pred with torch operations."
            )
        return out.to(raw.dtype)


def make_datafit(loss, *, epsilon, quantile):
    """The :class:`Datafit` of an estimator's ``loss`` parameter (not squared error)."""
    if isinstance(loss, type):
        # loss=torch.nn.MSELoss, the class: calling it builds a module.
        raise TypeError(
            f"loss={loss.__name__} is a class; pass a function of (y_pred, y_true), or an "
            f"instance with elementwise losses, e.g. {loss.__name__}(reduction='none')."
        )
    if getattr(loss, "reduction", "none") != "none" and isinstance(loss, torch.nn.Module):
        raise ValueError(
            f"loss={loss!r} reduces its losses (reduction={loss.reduction!r}); the "
            "estimator applies the weights and the mean itself: pass reduction='none'."
        )
    if callable(loss):
        return Callable(loss)
    if loss == "huber":
        return Huber(epsilon)
    if loss == "quantile":
        return Pinball(quantile)
    if loss == "absolute_error":
        return Pinball(0.5, factor=2.0, name="absolute_error")
    if loss == "poisson":
        return Poisson()
    if loss == "gamma":
        return Gamma()
    raise ValueError(f"loss must be one of {LOSSES} or a callable, got {loss!r}.")


def check_finite_loss(values, name):
    """Non-finite losses are the callable's (or the data's) fault: say so."""
    if not bool(torch.isfinite(values).all()):
        raise ValueError(
            f"The loss {name!r} is not finite at the model's predictions (NaN or "
            f"infinity); {finiteness_hint(name)}"
        )


def finiteness_hint(name):
    """What a non-finite loss of this kind asks of the user."""
    if name == "callable":
        return "a callable loss must be finite for every prediction."
    if name in ("poisson", "gamma"):
        return "log-link losses need predictions that exp() can hold: rescale X or y."
    return "rescale y or X."

