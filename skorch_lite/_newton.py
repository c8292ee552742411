"""Fitting the losses of :mod:`._losses`: a preconditioner refreshed with the curvature.

Squared error has a Hessian that does not depend on the model, so one
change of variables serves the whole fit. For any other loss the Hessian
in the raw prediction is ``X.T diag(w h) X``, with ``h`` the curvature of
the loss at the current model. Each *round* here

1. computes ``h`` (the second derivative, or the weight of a quadratic
   majorizer where it vanishes: :meth:`Datafit.curvature`) and the working
   response ``z = raw - loss'(raw) / h`` at the current model;
2. fits the least-squares preconditioner of :mod:`._precondition` to
   ``(X, z)`` with weights ``w h`` (every row decomposed below the sketch
   size, a CountSketch above), rescaled so that the loss's Hessian in the
   new variables is the identity at the current model; its least-squares
   solution is the Newton (IRLS) step, taken when it lowers the objective;
3. runs the solver (:func:`._engine.train`) on the true objective in those
   variables. For L-BFGS, half the squared gradient is then the Newton
   decrement: the stopping rule measures how far the objective is above
   its minimum, relative to it, as for squared error.

L-BFGS rounds continue until a round's start already meets the stopping
rule (the decrement at a freshly refreshed curvature). Losses that are not
smooth (pinball, absolute) are smoothed within ``delta`` of their kink,
``delta`` shrinking by 10 each round until the smoothing can move the
objective by less than ``tol`` relative (Nesterov, "Smooth minimization of
non-smooth functions", Math. Program. 2005; the majorizer weights are those
of iteratively reweighted least squares, Holland & Welsch 1977).
"""

import math
from dataclasses import dataclass, field, replace

import torch

from ._convexity import downward_curvature, unbounded_below
from ._data import affine, take_rows
from ._engine import TrainResult, rows_in_every_process
from ._losses import check_finite_loss, finiteness_hint
from ._precondition import fit_preconditioner
from ._reduce import LOCAL
from ._rounds import Rounds
from ._squared_error import r2_from_sums

# Smoothing continuation: each round divides delta by this.
DELTA_SHRINK = 10.0


class DatafitObjective:
    """``(sum_i w_i sum_t loss(y_it, raw_it) + alpha ||W||^2) / (k unit sum_i w_i)``.

    The same interface as :class:`._squared_error.Objective` (``forward``,
    ``report_scale``, ``extra_params``, ``validation_score``). ``unit``
    standardizes it as squared error's objective is (the null model scores
    about 1): the stopping rule's floors, the divergence limit and Adam's
    step length are in those units, whatever y's. ``loss_curve_`` reports
    it times ``unit``, in the loss's own units.
    """

    def __init__(self, X, Y, w, precond, penalty, datafit, extra, w_val=None, reducer=None,
                 unit=1.0):
        self.X, self.Y, self.w, self.w_val = X, Y, w, w_val
        self.precond, self.datafit = precond, datafit
        self.reducer = reducer or LOCAL
        self.penalty = penalty.share(self.reducer)
        self.norm = 1.0 / (Y.shape[1] * self.reducer.sum(w.sum()) * unit)
        self.extra_params = list(extra)
        self.report_scale = torch.full((Y.shape[1],), float(unit), dtype=Y.dtype, device=Y.device)
        self.unit_weights = bool((w == 1).all())
        self.diverged_above = float("inf")
        # Size of the summed terms (standardized), which sets the precision
        # of the objective's value; fit_loss sets it each round.
        self.term_magnitude = 0.0

    def raw(self, theta, gamma, rows=None):
        coef, intercept = self.precond.coefficients(theta, gamma)
        X = self.X if rows is None else take_rows(self.X, rows)
        return affine(X, coef.T, intercept), coef

    def forward(self, params, rows=None, scale=1.0, check=True):
        theta, gamma, *extra = params
        raw, coef = self.raw(theta, gamma, rows)
        Y = self.Y if rows is None else self.Y[rows]
        w = self.w if rows is None else self.w[rows]
        values = self.datafit.value(raw, Y, extra)
        if check:
            check_finite_loss(values.detach(), self.datafit.name)
        data = values.sum(0) if self.unit_weights else (values * w[:, None]).sum(0)
        terms = self.norm * scale * data
        if not self.penalty.vanishes:
            terms = terms + self.penalty.terms(coef, 1, factor=self.norm)
        return terms, raw

    def validation_score(self, raw):
        """Mean over targets of the loss's score on the validation rows (see :func:`validation_score`)."""
        return validation_score(self.datafit, raw, self.Y, self.w_val, self.extra_params).mean()


def validation_score(datafit, raw, Y, w, extra):
    """Early stopping's score of a loss, per target: higher is better, judged by the loss itself.

    D^2 of the loss fitted (the fraction of its null model's loss
    explained: deviance for the log link, pinball for the quantile losses,
    Huber's loss at the current scale), or, for a callable, whose values
    may be negative, minus its weighted mean. R^2 judged Huber by squared
    error, which prefers the least-squares start: early stopping kept a
    model 31% above the robust optimum.
    """
    with torch.no_grad():
        extra = [e.detach() for e in extra]
        if datafit.name == "callable":
            return -(w @ datafit.value(raw, Y, extra)) / w.sum()
        if datafit.name == "huber":
            null = datafit.null_raw(Y, w).expand_as(Y)
            return r2_from_sums(w @ datafit.value(raw, Y, extra),
                                w @ datafit.value(null, Y, extra))
    return fraction_explained(datafit, raw, Y, w)


def fraction_explained(datafit, raw, Y, w):
    """R^2 (identity link) or the fraction of deviance explained, D^2 (log link), per target."""
    if hasattr(datafit, "exact_value"):
        # The pinball losses: d2_pinball_score, against the best constant quantile.
        null = datafit.null_raw(Y, w).expand_as(Y)
        return r2_from_sums(w @ datafit.exact_value(raw, Y), w @ datafit.exact_value(null, Y))
    if datafit.link == "identity":
        mean = (w @ Y) / w.sum()
        return r2_from_sums(w @ (Y - raw) ** 2, w @ (Y - mean) ** 2)
    null = datafit.null_raw(Y, w).expand_as(Y)
    return r2_from_sums(w @ datafit.value(raw, Y, []), w @ datafit.value(null, Y, []))


@dataclass
class LossFit:
    """What :func:`fit_loss` produced for one target."""

    coef: torch.Tensor
    intercept: torch.Tensor
    result: TrainResult
    extra: dict = field(default_factory=dict)
    # Huber's scale went to 0 (rows fitted exactly): the infimum is at the
    # boundary, approached but not reached.
    scale_vanished: bool = False
    # A callable's objective curves downward here (see _convexity): "the
    # intercept", a feature's index, or None.
    downward: object = None


def fit_loss(X, Y, w, *, datafit, penalty, fit_intercept, start, sketch_size, generator,
             schedule, progress, w_val=None, train_rows=None, reducer=None, round_hook=None,
             start_scale=None):
    """Minimize ``datafit``'s penalized objective for one target column ``Y`` (n, 1).

    Parameters
    ----------
    penalty : L2
        The penalty of :mod:`._penalty`.
    start : tuple of Tensor or None
        ``(coef (1, p), intercept (1,))`` to start from (warm start), or None
        for the default start: the least-squares fit (identity link) or the
        intercept-only model (log link).
    schedule : Schedule
        The :class:`._engine.Schedule` of :func:`._engine.train`; its
        ``max_iter`` is the total over rounds.
    progress : Progress
        Reports every round's iterations.
    start_scale : Tensor of shape (1,) or None
        Huber's scale of the previous fit, where a warm start taken from it
        begins (else at the start's residual size): a refit on the same data
        then starts at the optimum and converges at once.
    round_hook : callable or None
        ``round_hook(precond, theta, gamma, done)`` gives each round's
        per-iteration callback for :func:`._engine.train` (None for none),
        given the round's variables, which train updates in place, and
        ``done``, the :class:`TrainResult` of the earlier rounds.

    Returns
    -------
    LossFit
    """
    reducer = reducer or LOCAL
    precond_options = dict(fit_intercept=fit_intercept, sketch_size=sketch_size,
                           generator=generator, reducer=reducer)
    coef, intercept, residual_scale, warm = _first_model(
        X, Y, w, datafit, penalty, start, start_scale, precond_options)
    extra = datafit.init_extra(residual_scale)
    unit = _objective_unit(Y, w, datafit, extra, fit_intercept, reducer)
    datafit.unit = unit
    lbfgs = schedule.line_search
    tol = schedule.tol
    if not datafit.smooth:
        # Start smoothing at the size of the residuals; stop when the
        # smoothing moves the objective (by at most delta / 4 per unit of
        # weight, times the loss's factor) by less than tol of it. Adam and
        # SGD take sign-like steps anyway and run one round: they minimize
        # the loss itself, by its subgradient.
        datafit.delta = (float(residual_scale.max()) or 1.0) if lbfgs else None
        if lbfgs and warm:
            # The previous model minimized the finest smoothing its loss asked
            # for: a refit begins there (a continuation from the residuals'
            # size took 53 iterations to come back to it).
            loss = _exact_loss(X, Y, w, datafit, coef, intercept, reducer)
            if loss > 0:
                datafit.delta = min(datafit.delta, _final_delta(datafit, loss, tol, Y.dtype))
    rounds = Rounds(schedule, validating=w_val is not None)
    lowest = None
    while rounds.left:
        precond, newton = _curvature_preconditioner(
            X, Y, w, datafit, penalty, coef, intercept, extra, precond_options, unit)
        objective = DatafitObjective(X, Y, w, precond, penalty, datafit, extra,
                                     w_val=w_val, reducer=reducer, unit=unit)
        objective.term_magnitude = _term_magnitude(objective, coef, intercept)
        theta, gamma, jumped = _round_start(objective, precond, coef, intercept, newton,
                                            fit_intercept, tol)
        null = _null_objective(objective, fit_intercept)
        # 100 (null + 1) for a loss's usual non-negative null value; a
        # callable's may be negative (a shifted log-cosh, torch's Poisson
        # NLL), and 100 times a negative value was below every objective.
        objective.diverged_above = null + 99 * abs(null) + 100
        result, coef, intercept = rounds.train(
            objective, precond, theta, gamma, generator=generator, progress=progress,
            train_rows=train_rows, round_hook=round_hook)
        if rounds.ends(result, (coef.clone(), intercept.clone(),
                                [e.detach().clone() for e in extra])):
            break
        if not datafit.smooth:
            loss = _exact_loss(X, Y, w, datafit, coef, intercept, reducer)
            # The continuation keeps the model of the lowest pinball loss: a
            # smoothing finer than the data's precision (float32, tol 1e-12)
            # can make a later round worse.
            if lowest is None or loss < lowest[0]:
                lowest = (loss, coef.clone(), intercept.clone())
            # A zero loss (every row fitted) needs no finer smoothing.
            if loss > 0 and datafit.delta > _final_delta(datafit, loss, tol, Y.dtype):
                datafit.delta /= DELTA_SHRINK
                continue
        if rounds.converged(result, jumped):
            break
    total, best = rounds.total, rounds.best
    if lowest is not None and best is None:
        coef, intercept = _lowest_smoothed(X, Y, w, datafit, penalty, coef, intercept, lowest,
                                           total, tol, reducer)
    if best is not None:
        _, coef, intercept, kept = best
        with torch.no_grad():
            for variable, value in zip(extra, kept):
                variable.copy_(value)
    values = datafit.extra_values(extra)
    # Only a converged L-BFGS fit is at the objective's infimum to judge (an
    # early-stopped one is where the validation rows preferred it).
    # A stall, or max_iter, may be the scale's boundary too: y of zeros, or
    # exactly linear, warned "stopped decreasing" or "increase max_iter".
    at_optimum = (lbfgs and w_val is None
                  and not (total.interrupted or total.stopped_by_callback))
    vanished = at_optimum and "scale" in values and _scale_vanishes(
        X, Y, w, datafit, coef, intercept, extra, tol, reducer)
    if vanished:
        # Its own warning says why: the infimum is at scale 0.
        total.stalled_above_tol = False
    downward = None
    if datafit.name == "callable" and not (total.interrupted or total.stopped_by_callback):
        _check_bounded(X, Y, w, datafit, penalty, coef, intercept, fit_intercept, reducer)
        downward = downward_curvature(X, Y, w, datafit, coef, intercept, penalty.alpha,
                                      fit_intercept, reducer)
    return LossFit(coef.detach(), intercept.detach(), total, values, vanished, downward)


def _check_bounded(X, Y, w, datafit, penalty, coef, intercept, fit_intercept, reducer):
    """Raise a ValueError when a callable's fit fell as a loss with no minimum does."""
    total_weight = float(reducer.sum(w.sum()))

    def mean(values):
        return float(reducer.sum((values * w[:, None]).sum())) / total_weight

    with torch.no_grad():
        null = (datafit.null_raw(Y, w, reducer).expand_as(Y) if fit_intercept
                else torch.zeros_like(Y))
        at_null = datafit.value(null, Y, [])
        start, size = mean(at_null), mean(at_null.abs())
        end = mean(datafit.value(_raw(X, coef, intercept)[0], Y, [])) + (
            penalty.value(coef) / total_weight)
    if unbounded_below(end, start, size):
        raise ValueError(
            f"The loss callable seems unbounded below: the objective fell to {end:.3g} "
            f"from {start:.3g} at the intercept-only model, with coefficients up to "
            f"{float(torch.cat([coef.abs().ravel(), intercept.abs().ravel()]).max()):.3g}. "
            "A loss must have a minimum (one linear in y_pred, or concave, has none)."
        )


def _first_model(X, Y, w, datafit, penalty, start, start_scale, precond_options):
    """``(coef, intercept, residual scale, warm)`` where the first round starts.

    A warm start begins at the previous model (and Huber's scale at the
    previous ``start_scale``) unless the default start is better (after
    set_params(alpha=...), or on other rows); ``warm`` says whether it does.
    """
    reducer = precond_options["reducer"]
    coef, intercept = _default_start(X, Y, w, datafit, penalty.alpha, precond_options)
    if datafit.name == "callable":
        # A callable may not be a least-squares-like loss: the start is the
        # lowest of least squares, the intercept-only model and zero (torch's
        # Poisson NLL of log rates: least squares put exp() at 1e37 and Adam
        # never moved; log-cosh with a large alpha: least squares paid the
        # penalty of squared error's coefficients).
        zeros = torch.zeros_like(coef)
        null = datafit.null_raw(Y, w, reducer).to(intercept)
        candidates = [(coef, intercept), (zeros, null), (zeros, torch.zeros_like(intercept))]
        if not precond_options["fit_intercept"]:
            candidates.pop(1)
        coef, intercept = min(candidates, key=lambda model: _start_objective(
            X, Y, w, datafit, penalty, *model, reducer))
    if start is not None and _start_objective(X, Y, w, datafit, penalty, *start, reducer) <= (
            _start_objective(X, Y, w, datafit, penalty, coef, intercept, reducer)):
        coef, intercept = start
        warm = True
    else:
        start_scale, warm = None, False
    residual_scale = _residual_scale(X, Y, w, datafit, coef, intercept, reducer)
    if start_scale is not None:
        residual_scale = start_scale.to(residual_scale)
    return coef, intercept, residual_scale, warm


def _lowest_smoothed(X, Y, w, datafit, penalty, coef, intercept, lowest, total, tol, reducer):
    """The model kept by the smoothing continuation: the last, unless one before had a lower loss.

    ``lowest`` is ``(loss, coef, intercept)`` of the lowest exact loss over
    the rounds; it replaces the last model when lower by more than the
    loss's rounding, and ``total.loss_curve`` then ends at its objective.
    """
    loss = _exact_loss(X, Y, w, datafit, coef, intercept, reducer)
    eps = torch.finfo(Y.dtype).eps
    if lowest[0] < loss - 4 * max(tol, eps) * abs(loss):
        _, coef, intercept = lowest
        # loss_curve_ ends at the objective of the model kept.
        if total.loss_curve:
            total.loss_curve[-1] = lowest[0] + penalty.value(coef) / float(
                reducer.sum(w.sum()))
    return coef, intercept


def _scale_vanishes(X, Y, w, datafit, coef, intercept, extra, tol, reducer):
    """Huber's objective still falls, by more than tol of it, as its scale goes to 0.

    When rows are fitted exactly the objective is nearly linear in sigma
    near 0, ``J0 + c sigma``: the infimum is at sigma = 0, where the
    parametrization cannot go, and its gradient in ``u = log sigma``,
    ``c sigma``, looks small against the certificate. So does its
    curvature: the Newton decrement in ``u``, ``J_u**2 / (2 J_uu)``, is
    ``c sigma / 2``, what is left to gain; at an interior optimum it is
    within the certificate.
    """
    sigma = datafit.sigma(extra).detach()
    if bool((sigma <= 2 * torch.finfo(sigma.dtype).tiny).any()):
        # At the floor of the dtype (y of zeros, fitted exactly): the slope
        # and curvature underflow, and the scale is 0 as far as it can be.
        return True
    with torch.enable_grad():
        u = sigma.log().requires_grad_(True)
        sigma = u.exp()
        raw, _ = _raw(X, coef, intercept)
        values = datafit.value_at_scale(raw.detach(), Y, sigma)
        local = (values * w[:, None]).sum()
        (slope,) = torch.autograd.grad(local, u, create_graph=True)
        (curvature,) = torch.autograd.grad(slope.sum(), u)
    # Each process differentiates its own rows' sum, then the sums are
    # summed: autograd does not run through the collective (it passed each
    # process its own slope, and each judged differently).
    total = reducer.sum(w.sum())
    J, slope, curvature = (reducer.sum(t.detach()) / total for t in (local, slope, curvature))
    decrement = slope.detach() ** 2 / (2 * curvature.clamp_min(torch.finfo(u.dtype).tiny))
    falling = slope.detach() > 0
    # Not below what the dtype resolves of a sum over the rows: float32 fits
    # at an interior optimum passed a decrement of 4 tol J and warned.
    n_rows = rows_in_every_process(reducer, Y.shape[0], w)
    resolved = max(tol, 2 * torch.finfo(Y.dtype).eps * math.log2(n_rows + 2))
    return bool((falling & (decrement > 4 * resolved * J)).any())


def _residual_scale(X, Y, w, datafit, coef, intercept, reducer):
    """Root weighted mean square of the residuals (in y's units) of a model.

    Floored at sqrt(eps) of y's mean magnitude: Huber's scale starts
    there and moves as ``sigma0 * exp(v * sqrt(unit / sigma0))``.
    Residuals at rounding level (rows fitted exactly) would make that
    factor ~1e8, and one Adam step of length 1e-3 in v a factor exp(1e5)
    in sigma.
    """
    with torch.no_grad():
        raw, _ = _raw(X, coef, intercept)
        # In float64: squares of float32 residuals of 1e19 overflow.
        w64, residual = w.double()[:, None], (Y - datafit.mean(raw)).double()
        total = reducer.sum(w64.sum())
        rms = torch.sqrt(reducer.sum((w64 * residual**2).sum(0)) / total)
        size = reducer.sum((w64 * Y.double().abs()).sum(0)) / total
        scale = torch.maximum(rms, torch.finfo(Y.dtype).eps ** 0.5 * size)
        return scale.clamp_max(torch.finfo(Y.dtype).max).to(Y.dtype)


def _start_objective(X, Y, w, datafit, penalty, coef, intercept, reducer):
    """The objective of a candidate start (Huber's scale at its residuals' size)."""
    with torch.no_grad():
        extra = datafit.init_extra(_residual_scale(X, Y, w, datafit, coef, intercept, reducer))
        raw, _ = _raw(X, coef, intercept)
        values = datafit.value(raw, Y, [e.detach() for e in extra])
        total = reducer.sum((values * w[:, None]).sum()) + penalty.value(coef)
        value = float(total / reducer.sum(w.sum()))
    return value if math.isfinite(value) else math.inf


def _final_delta(datafit, loss, tol, dtype=torch.float64):
    # Smoothing adds at most factor * delta / 4 per unit weight. Finer than
    # the dtype's precision of the loss, a smoothing only adds rounding.
    floor = max(1e-12, torch.finfo(dtype).eps)
    return 4 * max(tol, floor) * abs(loss) / datafit.factor


def _exact_loss(X, Y, w, datafit, coef, intercept, reducer):
    """The pinball objective's data term, unsmoothed (0 when every row is fitted)."""
    with torch.no_grad():
        raw, _ = _raw(X, coef, intercept)
        return float(reducer.sum((datafit.exact_value(raw, Y) * w[:, None]).sum())
                     / reducer.sum(w.sum()))


def _raw(X, coef, intercept):
    return affine(X, coef.T, intercept), coef


def _default_start(X, Y, w, datafit, alpha, precond_options):
    n_features = X.shape[1]
    zeros = dict(dtype=X.dtype, device=X.device)
    if datafit.link == "log":
        coef = torch.zeros(1, n_features, **zeros)
        if precond_options["fit_intercept"]:
            intercept = datafit.null_raw(Y, w, precond_options["reducer"]).to(**zeros)
        else:
            intercept = torch.zeros(1, **zeros)
        return coef, intercept
    # Identity link: the (sketched) least-squares fit, robust losses' usual start.
    precond = fit_preconditioner(X, Y, w, alpha=alpha, **precond_options)
    with torch.no_grad():
        return precond.coefficients(precond.theta0, torch.zeros(1, **zeros))


def _curvature_preconditioner(X, Y, w, datafit, penalty, coef, intercept, extra, options,
                              unit=1.0):
    """The least-squares preconditioner of the loss's quadratic model at ``(coef, intercept)``."""
    reducer = options["reducer"]
    with torch.no_grad():
        raw, _ = _raw(X, coef, intercept)
    h = datafit.curvature(raw, Y, extra).detach()[:, 0]
    with torch.enable_grad():
        raw_ = raw.detach().requires_grad_(True)
        slope = torch.autograd.grad(datafit.value(raw_, Y, extra).sum(), raw_)[0][:, 0]
    weights = w * h
    # Rows of zero weight take no part; their working response (a huge
    # slope over a tiny curvature, far out) would only overflow y's moments.
    step = -slope / h
    if datafit.link == "log":
        # A Newton step in log units beyond exp's range means nothing, and
        # y spanning 1e-80..1e80 (Gamma: y / mu of 1e160) made the working
        # response's squares overflow.
        reach = math.log(torch.finfo(raw.dtype).max)
        step = step.clamp(-reach, reach)
    z = torch.where(weights > 0, raw[:, 0] + step, raw[:, 0]).detach()[:, None]
    if not bool(torch.isfinite(z).all() and torch.isfinite(weights).all()):
        raise ValueError(
            f"The loss {datafit.name!r} has a non-finite slope or curvature at the model's "
            f"predictions; {finiteness_hint(datafit.name)}"
        )
    # Weighted by the curvature itself: the penalty adds 2 alpha to X' W H X.
    precond = fit_preconditioner(X, z, weights, alpha=penalty.ridge(1), **options)
    # The preconditioner makes the Hessian of the least-squares objective
    # sum(w h (raw - z)^2) / y_scale^2 / sum(w h) the identity; the loss's
    # Hessian, (X' W H X + 2 alpha I) / (unit sum(w)), is
    # y_scale^2 sum(w h) / (2 unit sum(w)) times that.
    # Factored so that y of 1e-200 (y_scale**2 underflows) or a curvature
    # of 1e200 (its ratio to unit overflows) leaves each factor in range.
    mean_h = reducer.sum(weights.sum()) / reducer.sum(w.sum())
    s = torch.sqrt(mean_h / 2) * (precond.y_scale / math.sqrt(unit))
    precond = replace(
        precond,
        transform=precond.transform / s,
        theta0=precond.theta0 * s,
        intercept_scale=precond.intercept_scale / float(s),
    )
    return precond, precond.theta0


def _round_start(objective, precond, coef, intercept, newton, fit_intercept, tol):
    theta, gamma = precond.variables(coef, intercept)
    if not fit_intercept:
        gamma = torch.zeros_like(gamma)
    # The Newton (IRLS) point, when it is lower by more than the sum's
    # rounding (at the optimum rounding alone makes it "lower" half of the
    # time): a smooth loss converges quadratically this way, so far below
    # tol at the cost of one more round. An IRLS step of a smoothed loss
    # improves only linearly: it is taken while it gains more than tol.
    n_rows = rows_in_every_process(objective.reducer, objective.Y.shape[0], objective.w)
    eps = torch.finfo(objective.Y.dtype).eps
    polish = objective.datafit.smooth and objective.datafit.newton_quadratic
    threshold = 4 * eps * math.log2(n_rows + 2) if polish else tol
    with torch.no_grad():
        # Summed over every process's rows: all take the same decision.
        total = objective.reducer.sum
        here = total(objective.forward([theta, gamma, *objective.extra_params])[0].sum())
        # In these variables the least-squares solution has gamma = 0 (z centred).
        newton_gamma = torch.zeros_like(gamma)
        # A Newton step may leave the loss's finite range (cosh of a
        # residual of 1000): then it is not taken.
        there = total(objective.forward([newton, newton_gamma, *objective.extra_params],
                                        check=False)[0].sum())
    # A deviance near 0 cancels: its value is resolved to eps of its terms.
    resolved = max(threshold * abs(float(here)), 4 * eps * objective.term_magnitude)
    jumped = bool(torch.isfinite(there)) and bool(there < here - resolved)
    if jumped:
        theta, gamma = newton, newton_gamma
    return theta.clone().requires_grad_(True), gamma.clone().requires_grad_(True), jumped


def _objective_unit(Y, w, datafit, extra, fit_intercept, reducer):
    """The loss of the null model (intercept only, or raw 0), per unit weight: 1 when not positive.

    Dividing the objective by it makes the stopping rule, the divergence
    limit and Adam's steps free of y's units (Huber on y of 1e-30 stopped on
    an absolute rounding floor; Adam's steps of 1e-3 did not move a model
    of size 1e-15).
    """
    with torch.no_grad():
        raw = (datafit.null_raw(Y, w, reducer).expand_as(Y) if fit_intercept
               else torch.zeros_like(Y))
        values = datafit.value(raw, Y, [e.detach() for e in extra])
        unit = float(reducer.sum((values * w[:, None]).sum()) / reducer.sum(w.sum()))
    return unit if math.isfinite(unit) and unit > 0 else 1.0


def _term_magnitude(objective, coef, intercept):
    """The standardized sum of the loss's terms' sizes at a round's start (see Certificate).

    Near the optimum the terms keep their size while a deviance cancels
    towards 0: L-BFGS resolves the objective to eps times this, not to eps
    times the objective (Poisson and Gamma fits of exactly log-linear data
    stalled at a zero objective and warned).
    """
    with torch.no_grad():
        raw, _ = _raw(objective.X, coef, intercept)
        terms = objective.datafit.term_magnitude(raw, objective.Y, objective.extra_params)
        local = (terms * objective.w[:, None]).sum()
        return float(objective.norm * objective.reducer.sum(local))


def _null_objective(objective, fit_intercept):
    """Objective of the model predicting the null raw value, a scale for divergence."""
    Y, w, reducer = objective.Y, objective.w, objective.reducer
    with torch.no_grad():
        raw = (objective.datafit.null_raw(Y, w, reducer).expand_as(Y) if fit_intercept
               else torch.zeros_like(Y))
        values = objective.datafit.value(raw, Y, objective.extra_params)
        return float(objective.norm * reducer.sum((values * w[:, None]).sum()))


def stream_preconditioner(precond, datafit, Y, w, extra):
    """Adapt ``partial_fit``'s running-moment preconditioner to a loss's raw prediction.

    The stream's preconditioner standardizes y for squared error, whose
    objective it divides by ``y_scale**2``; a loss's objective is in its
    own units. So the raw prediction's scale is chosen so that the loss's
    typical curvature at the start, ``median(h) / 2``, plays the part of
    ``1 / y_scale**2``: otherwise SGD's steps grew with y's units (Huber on
    1000 y overshot by 1000). For a log link the intercept starts at the
    log of y's running mean.
    """
    raw = precond.y_mean
    if datafit.link == "log":
        # Chunks of zero counts so far: start at a mean of 1 (raw 0), not log 0.
        raw = torch.where(raw > 0, raw.clamp_min(torch.finfo(raw.dtype).tiny).log(),
                          torch.zeros_like(raw))
    h = datafit.curvature(raw.expand_as(Y), Y, extra).median(dim=0).values
    h = torch.where(torch.isfinite(h) & (h > 0), h, torch.ones_like(h))
    return replace(precond, y_mean=raw, y_scale=torch.rsqrt(h / 2))
