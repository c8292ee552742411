"""Logistic (binary) and softmax (multinomial) regression on the preconditioned engine.

The objective, normalized by the total weight, is

    J(W, b) = ( sum_i s_i log_loss(y_i, x_i W^T + b) + alpha ||W||^2 ) / sum_i s_i,

with one column of ``W`` for two classes (the log-odds of the second
class) and one per class otherwise (the softmax model). Its Hessian in the
raw prediction of row ``i`` is ``diag(p_i) - p_i p_i^T`` (``p(1 - p)`` for
two classes), so, as for the losses of :mod:`._newton`, the fit runs in
*rounds*. Each builds a change of variables in which the Hessian at the
current model is about the identity (:func:`curvature_preconditioner`: the
least-squares preconditioner of :mod:`._precondition` from the rows
weighted by their curvature, the classes mixed by the inverse square root
of their coupling), takes a truncated Newton step when it gains more than
``tol`` (:func:`_round_start`), and runs the solver on the true objective
in those variables. Rounds continue until a round's start, with its
curvature refreshed, already meets the stopping rule of
:func:`._engine.train` (half the squared preconditioned gradient at most
``tol`` times the objective) and the Newton step from it gains less.

The softmax model is invariant to adding one vector to every class's
coefficients (and one number to every intercept); the estimator keeps the
representative whose coefficients and intercepts sum to zero over the
classes, as scikit-learn's :class:`~sklearn.linear_model.LogisticRegression`
(its L-BFGS, started at zero, never leaves that subspace; with a penalty
the coefficients of the optimum sum to zero anyway).
"""

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from ._data import affine, take_rows
from ._engine import TrainResult
from ._precondition import MAX_SKETCH_VALUES, fit_preconditioner
from ._reduce import LOCAL
from ._rounds import Rounds

# Curvature weights are floored at this fraction of their largest, so that
# rows the model already fits with certainty stay in the preconditioner's
# row space.
CURVATURE_FLOOR = 1e-3
# Most Newton steps of the start of Adam and SGD.
NEWTON_STEPS = 30
# Lengths of the Newton step tried, in turn, at the start of a round.
NEWTON_DAMPING = (1.0, 0.5, 0.25, 0.125)
# Most Hessian-vector products of one Newton step.
CG_ITERATIONS = 50
# A curvature preconditioner is reused while every row's curvature stays
# within this factor of the one it was built for (see CurvatureMemo).
REUSE_RATIO = 1.1


def row_losses(raw, target, binary):
    """Log loss of each row: ``raw`` (n, 1) logits for two classes, (n, K) otherwise.

    ``target`` is a float 0/1 vector (binary) or the class indices (long).
    Both are torch's numerically stable forms (no ``exp`` overflow for any
    logit).
    """
    if binary:
        return F.binary_cross_entropy_with_logits(raw[:, 0], target, reduction="none")
    return F.cross_entropy(raw, target, reduction="none")


def probabilities(raw, binary):
    """Class probabilities (n, K) of the raw prediction (two columns for a binary model)."""
    if binary:
        p = torch.sigmoid(raw[:, 0])
        return torch.stack([1 - p, p], dim=1)
    return torch.softmax(raw, dim=1)


def log_probabilities(raw, binary):
    """Logarithms of :func:`probabilities`, without their round-off (``log(0)``)."""
    if binary:
        return torch.stack([F.logsigmoid(-raw[:, 0]), F.logsigmoid(raw[:, 0])], dim=1)
    return torch.log_softmax(raw, dim=1)


class LogLossObjective:
    """The penalized log loss normalized by the total weight, for :func:`._engine.train`.

    The same interface as :class:`._squared_error.Objective`: ``forward`` returns
    the objective (a 1-element tensor) and the raw predictions,
    ``validation_score`` the weighted accuracy on the validation rows.
    """

    extra_params = ()

    def __init__(self, X, target, w, precond, penalty, binary, w_val=None, reducer=None):
        self.X, self.target, self.w, self.w_val = X, target, w, w_val
        self.precond, self.binary = precond, binary
        self.reducer = reducer or LOCAL
        self.penalty = penalty.share(self.reducer)
        self.norm = 1.0 / self.reducer.sum(w.sum())
        self.report_scale = torch.ones(1, dtype=X.dtype, device=X.device)
        self.unit_weights = bool((w == 1).all())
        self.diverged_above = math.inf

    def raw(self, theta, gamma, rows=None):
        coef, intercept = self.precond.coefficients(theta, gamma)
        X = self.X if rows is None else take_rows(self.X, rows)
        return affine(X, coef.T, intercept), coef

    def forward(self, params, rows=None, scale=1.0):
        theta, gamma = params
        raw, coef = self.raw(theta, gamma, rows)
        target = self.target if rows is None else self.target[rows]
        values = row_losses(raw, target, self.binary)
        if self.unit_weights:
            data = values.sum()
        else:
            data = values @ (self.w if rows is None else self.w[rows])
        terms = self.norm * scale * data
        if not self.penalty.vanishes:
            terms = terms + self.penalty.terms(coef, None, factor=self.norm)
        return terms.reshape(1), raw

    def validation_score(self, raw):
        """Weighted accuracy on the validation rows."""
        return accuracy(raw, self.target, self.w_val, self.binary)


def accuracy(raw, target, w, binary):
    predicted = (raw[:, 0] > 0).to(target.dtype) if binary else raw.argmax(1)
    return (w @ (predicted == target).to(w.dtype)) / w.sum()


@dataclass
class LogisticFit:
    """What :func:`fit_logistic` produced."""

    coef: torch.Tensor
    intercept: torch.Tensor
    result: TrainResult


def summing_to_zero(coef, intercept):
    """The softmax model equal to ``(coef, intercept)`` whose rows sum to zero over the classes.

    A binary model (one row) is returned as it is.
    """
    if coef.shape[0] == 1:
        return coef, intercept
    return coef - coef.mean(0, keepdim=True), intercept - intercept.mean()


def encode_targets(codes, n_classes, dtype):
    """The target of :func:`row_losses` from class indices (a long tensor)."""
    if n_classes == 2:
        return codes.to(dtype)
    return codes


def null_model(target, w, n_classes, n_features, fit_intercept, reducer=LOCAL):
    """``(coef, intercept)`` of the model predicting the weighted class frequencies."""
    like = dict(dtype=w.dtype, device=w.device)
    width = 1 if n_classes == 2 else n_classes
    coef = torch.zeros(width, n_features, **like)
    if not fit_intercept:
        return coef, torch.zeros(width, **like)
    codes = target.long()
    counts = reducer.sum(torch.zeros(n_classes, **like).index_add_(0, codes, w))
    tiny = torch.finfo(w.dtype).eps * counts.sum()
    log_freq = torch.log(counts.clamp_min(tiny))
    if n_classes == 2:
        return coef, (log_freq[1] - log_freq[0]).reshape(1)
    return coef, log_freq - log_freq.mean()


def objective_at(X, target, w, penalty, coef, intercept, binary, reducer=LOCAL):
    """The objective of a model (no gradient), for choosing a start."""
    with torch.no_grad():
        raw = affine(X, coef.T, intercept)
        value = reducer.sum(row_losses(raw, target, binary) @ w) + penalty.value(coef)
        value = float(value / reducer.sum(w.sum()))
    return value if math.isfinite(value) else math.inf


def fit_logistic(X, target, w, *, n_classes, penalty, fit_intercept, start, sketch_size,
                 generator, schedule, progress, w_val=None, train_rows=None, reducer=None,
                 round_hook=None):
    """Minimize the penalized log loss (see the module's docstring).

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
    target : Tensor of shape (n_samples,)
        :func:`encode_targets` of the class indices.
    w : Tensor of shape (n_samples,)
        Training weights (zero on validation rows), at most 1.
    penalty : L2
        The penalty of :mod:`._penalty`.
    start : tuple of Tensor or None
        ``(coef, intercept)`` to start from (warm start) when its objective
        is not above the default start's (the class frequencies).
    schedule : Schedule
        The :class:`._engine.Schedule` of :func:`._engine.train`; its
        ``max_iter`` is the total over rounds.
    progress : Progress
        Reports every round's iterations.
    round_hook : callable or None
        ``round_hook(precond, theta, gamma, done)`` gives each round's
        per-iteration callback for :func:`._engine.train` (None for none),
        given the round's variables, which train updates in place, and
        ``done``, the :class:`._engine.TrainResult` of the earlier rounds
        (as :func:`._newton.fit_loss`'s).

    Returns
    -------
    LogisticFit
    """
    reducer = reducer or LOCAL
    binary = n_classes == 2
    options = dict(fit_intercept=fit_intercept, sketch_size=sketch_size, generator=generator,
                   reducer=reducer, memo=CurvatureMemo())
    coef, intercept = null_model(target, w, n_classes, X.shape[1], fit_intercept, reducer)
    if start is not None and objective_at(X, target, w, penalty, *start, binary, reducer) <= (
            objective_at(X, target, w, penalty, coef, intercept, binary, reducer)):
        coef, intercept = start
    lbfgs = schedule.line_search
    if not lbfgs:
        # Adam and SGD start at the Newton (IRLS) iterates, taken while they
        # gain more than the sum's rounding: below the sketch size they
        # reach the optimum (as the regressor's exact start), and training
        # then checks it in one iteration.
        for _ in range(NEWTON_STEPS):
            precond = curvature_preconditioner(X, target, w, penalty, coef, intercept, binary,
                                               options)
            objective = LogLossObjective(X, target, w, precond, penalty, binary, reducer=reducer)
            theta, gamma, jumped = _round_start(objective, precond, coef, intercept,
                                                fit_intercept, 0.0)
            if not jumped:
                break
            with torch.no_grad():
                coef, intercept = precond.coefficients(theta, gamma)
    rounds = Rounds(schedule, validating=w_val is not None)
    while rounds.left:
        precond = curvature_preconditioner(X, target, w, penalty, coef, intercept, binary, options)
        objective = LogLossObjective(X, target, w, precond, penalty, binary, w_val=w_val,
                                     reducer=reducer)
        theta, gamma, jumped = _round_start(objective, precond, coef, intercept, fit_intercept,
                                            schedule.tol)
        # No finite value is divergence: the log loss grows at most linearly
        # in the coefficients, and Adam's and SGD's steps are bounded, so a
        # large value is an overshoot (separable classes, tiny alpha) that
        # the next steps come back from; non-finite values still raise.
        objective.diverged_above = math.inf
        result, coef, intercept = rounds.train(
            objective, precond, theta, gamma, generator=generator, progress=progress,
            train_rows=train_rows, round_hook=round_hook)
        # Converged when the round's start met the rule and the Newton step
        # from it gains less than tol.
        if rounds.ends(result, (coef.clone(), intercept.clone())) or rounds.converged(
                result, jumped):
            break
    if rounds.best is not None:
        _, coef, intercept = rounds.best
    return LogisticFit(coef.detach(), intercept.detach(), rounds.total)


@dataclass
class MixedPreconditioner:
    """A :class:`._precondition.Preconditioner` whose variables also mix the classes.

    ``coefficients(theta, gamma)`` is the base's of ``(theta @ mix, gamma @
    mix)``; the other attributes are the base's.
    """

    base: object
    mix: torch.Tensor
    unmix: torch.Tensor

    def __getattr__(self, name):
        return getattr(self.base, name)

    def coefficients(self, theta, gamma):
        return self.base.coefficients(theta @ self.mix, gamma @ self.mix)

    def variables(self, coef, intercept):
        theta, gamma = self.base.variables(coef, intercept)
        return theta @ self.unmix, gamma @ self.unmix


def curvature_preconditioner(X, target, w, penalty, coef, intercept, binary, options):
    """A change of variables in which the log loss's Hessian at ``(coef, intercept)`` is ~I.

    The Hessian of the (normalized) objective is ``sum_i w_i (diag(p_i) -
    p_i p_i^T) (x) x_i x_i^T / sum(w)`` plus the penalty. It is approximated
    by the Kronecker product ``A (x) (X' W h X + 2 alpha I) / sum(w)``, with
    ``h_i = mean_k p_ik (1 - p_ik)`` each row's mean curvature and ``A =
    sum_i w_i (diag(p_i) - p_i p_i^T) / sum_i w_i h_i`` the classes'
    coupling (1 for two classes, where the product is exact): the
    least-squares preconditioner of :mod:`._precondition`, built with the
    weights ``w h``, whitens the second factor, and ``A^(-1/2)`` mixes the
    classes (K-FAC's factorization of a softmax layer's curvature: Martens
    & Grosse, "Optimizing neural networks with Kronecker-factored
    approximate curvature", ICML 2015). A unit gradient step in these
    variables is then the (approximate) Newton step.
    """
    reducer = options["reducer"]
    with torch.no_grad():
        raw = affine(X, coef.T, intercept)
        if binary:
            # p (1 - p) without the cancellation of 1 - p near p = 1.
            h = torch.sigmoid(raw) * torch.sigmoid(-raw)
            coupling = reducer.sum(w @ h).reshape(1, 1)
        else:
            p = torch.softmax(raw, dim=1)
            h = p * (1 - p)
            coupling = reducer.sum(torch.diag(w @ p) - (p * w[:, None]).T @ p)
        top = h.amax()
        tiny = torch.finfo(h.dtype).tiny
        h_mean = torch.maximum(h.mean(1), CURVATURE_FLOOR * top).clamp_min(tiny)
        weights = w * h_mean
    memo = options.get("memo")
    if memo is not None and memo.holds(weights, coupling, reducer):
        return memo.precond
    n_columns = raw.shape[1]
    zeros = torch.zeros_like(raw)
    base = fit_preconditioner(X, zeros, weights, alpha=penalty.ridge(1),
                              **_decomposition_options(X, options, memo))
    # The preconditioner makes the Hessian of sum_k sum_i w_i h_i (raw_ik)^2
    # / (K sum(w h)) the identity; the second factor above, (X' W h X + 2
    # alpha I) / sum(w), is K sum(w h) / (2 sum(w)) times that.
    total_h = reducer.sum(weights.sum())
    common = torch.sqrt(n_columns * total_h / (2 * reducer.sum(w.sum())))
    base = replace(base, transform=base.transform / common,
                   intercept_scale=base.intercept_scale / float(common))
    A = coupling / total_h
    if not binary:
        # The softmax is unchanged by adding one vector to every class: A's
        # null direction, where the penalty alone curves the objective.
        A = A + A.diagonal().mean() / n_columns
    values, vectors = torch.linalg.eigh(A)
    values = values.clamp_min(CURVATURE_FLOOR * values.max()).clamp_min(tiny)
    mix = (vectors * values.rsqrt()) @ vectors.T
    unmix = (vectors * values.sqrt()) @ vectors.T
    precond = MixedPreconditioner(base, mix, unmix)
    if memo is not None:
        memo.keep(weights, coupling, precond)
    return precond


@dataclass
class CurvatureMemo:
    """The last curvature preconditioner of a fit, and the curvature it was built for.

    Near the optimum a round moves the model too little to change the
    curvature, yet each refresh decomposed the rows anew (one SVD of a
    dense n x p matrix, most of a fit's time on sparse one-hot designs).
    While every row's weight ``w h`` and the classes' coupling stay within
    :data:`REUSE_RATIO` of those the preconditioner was built for, the
    Hessian in its variables stays within that ratio of the identity, so
    the stopping rule's estimate of the excess stays within it too; the
    Newton steps, solved on the true Hessian, do not depend on it.
    """

    weights: torch.Tensor = None
    coupling: torch.Tensor = None
    precond: object = None
    # The centred columns were found dependent (rank below the column count).
    dependent: bool = False

    def holds(self, weights, coupling, reducer):
        """Whether the kept preconditioner serves the curvature ``weights``, ``coupling``."""
        if self.precond is None:
            return False
        with torch.no_grad():
            kept = self.weights > 0
            local = torch.ones(2, dtype=weights.dtype, device=weights.device)
            if not torch.equal(kept, weights > 0):
                local[0] = math.inf
            elif kept.any():
                ratio = weights[kept] / self.weights[kept]
                local = torch.stack([ratio.max(), 1 / ratio.min()])
            # Every process takes the same decision (the largest ratio of
            # all), and each joins the collective: one returning early hung.
            worst = float(reducer.cat(local).max())
            drift = float((coupling - self.coupling).abs().max() / self.coupling.abs().max())
        return worst <= REUSE_RATIO and drift <= REUSE_RATIO - 1

    def keep(self, weights, coupling, precond):
        self.weights, self.coupling, self.precond = weights, coupling, precond
        # X's rank: with a penalty the transform may span every column even
        # when they are dependent (see fit_preconditioner).
        rank = getattr(precond, "rank", None)
        columns = precond.transform.shape[0]
        self.dependent = (precond.transform.shape[1] if rank is None else rank) < columns


def _decomposition_options(X, options, memo):
    """``fit_preconditioner``'s options: every row decomposed where that is cheaper than a sketch.

    A sketch of ``sketch_size`` rows costs one pass over X and a
    decomposition of that many rows; a design whose centred columns are
    dependent (one-hot blocks beside an intercept) has its rows sketched a
    second time into twice as many (:func:`._precondition.fit_preconditioner`
    cannot tell dependent columns from rows lost to collisions): three times
    the decomposition. Every row is then cheaper below twice the sketch
    size once a refresh of this fit has found the design dependent, and at
    once below 1.1 times it, where the sketch hardly shrinks the rows
    (measured on dense independent columns, every row of 1.5 times the
    sketch size cost 1.45 times the sketch).
    """
    options = {name: value for name, value in options.items() if name != "memo"}
    n_total = int(options["reducer"].sum(torch.tensor(X.shape[0], device=X.device)))
    reach = 2.0 if memo is not None and memo.dependent else 1.1
    if (options["sketch_size"] < n_total <= reach * options["sketch_size"]
            and n_total * X.shape[1] <= MAX_SKETCH_VALUES):
        options["sketch_size"] = n_total
    return options


def _round_start(objective, precond, coef, intercept, fit_intercept, tol):
    """The round's start: the current model, or the Newton point when it is lower.

    The Newton step is solved by conjugate gradients on Hessian-vector
    products (truncated Newton: Dembo & Steihaug, "Truncated-Newton
    algorithms for large-scale unconstrained optimization", Math. Program.
    1983), which in these variables, where the Hessian is about the
    identity, take a few products; the residual is cut to ``min(1/2,
    sqrt(|g|))`` of the gradient, so the steps converge superlinearly. A
    step is taken when it gains more than ``tol`` of the objective (and
    more than the sum's rounding), halved up to three times where the full
    step does not gain. Where the two values tie at their rounding (float32
    near the optimum), the gradients decide (:func:`_gradient_judges_lower`).
    """
    theta, gamma = precond.variables(coef, intercept)
    if not fit_intercept:
        gamma = torch.zeros_like(gamma)
    n_rows = objective.X.shape[0]
    threshold = max(4 * torch.finfo(objective.X.dtype).eps * math.log2(n_rows + 2), tol)
    total = objective.reducer.sum
    theta, gamma = theta.detach().requires_grad_(True), gamma.detach().requires_grad_(True)
    with torch.enable_grad():
        value = objective.forward([theta, gamma])[0].sum()
        grads = torch.autograd.grad(value, [theta, gamma], create_graph=True)
    here = float(total(value.detach()))

    def hessian_times(vector):
        dot = sum((g * v).sum() for g, v in zip(grads, vector))
        product = torch.autograd.grad(dot, [theta, gamma], retain_graph=True)
        return _masked([total(h) for h in product], fit_intercept)

    with torch.enable_grad():
        direction = _conjugate_gradients(
            hessian_times, _masked([-total(g.detach()) for g in grads], fit_intercept))
    jumped = False
    with torch.no_grad():
        for step in NEWTON_DAMPING:
            newton_theta = theta + step * direction[0]
            newton_gamma = gamma + step * direction[1]
            there = float(total(objective.forward([newton_theta, newton_gamma])[0].sum()))
            if math.isfinite(there) and there < here - threshold * abs(here):
                theta, gamma, jumped = newton_theta, newton_gamma, True
                break
            if step == 1 and abs(there - here) <= threshold * abs(here):
                # The values tie at their rounding: let the gradient judge.
                if _gradient_judges_lower(objective, [g.detach() for g in grads], here, tol,
                                          newton_theta, newton_gamma, fit_intercept):
                    theta, gamma, jumped = newton_theta, newton_gamma, True
                break
    return (theta.detach().clone().requires_grad_(True),
            gamma.detach().clone().requires_grad_(True), jumped)


def _gradient_judges_lower(objective, grads, value, tol, theta, gamma, fit_intercept):
    """Whether a Newton point whose value ties with the start's is nearer the optimum.

    A sum over n rows resolves the objective only to ~eps log2(n) of it
    (2e-6 in float32 on 500 rows), so near the optimum the values of two
    points tie while their gradients, resolved far better, still tell them
    apart: in float32 the fit stopped where the values tied, with
    coefficients 1e-3 (relative) from the optimum. The Newton point is taken
    while the start is outside the stopping rule (half the squared gradient
    above ``tol`` times the objective: in these variables it estimates the
    excess) and the step at least halves the gradient, as a Newton step
    does near the optimum; once the gradient is at its rounding floor it no
    longer halves, and the rounds end.
    """
    total = objective.reducer.sum
    before = _masked([total(g) for g in grads], fit_intercept)
    half_squared = 0.5 * sum(float((g**2).sum()) for g in before)
    if half_squared <= tol * abs(value):
        return False
    theta, gamma = theta.detach().requires_grad_(True), gamma.detach().requires_grad_(True)
    with torch.enable_grad():
        there = objective.forward([theta, gamma])[0].sum()
        after = torch.autograd.grad(there, [theta, gamma])
    after = _masked([total(g) for g in after], fit_intercept)
    return 0.5 * sum(float((g**2).sum()) for g in after) <= half_squared / 4


def _masked(pair, fit_intercept):
    """``(theta part, gamma part)``, the gamma part zero without an intercept."""
    return pair if fit_intercept else [pair[0], torch.zeros_like(pair[1])]


def _conjugate_gradients(hessian_times, b):
    """An approximate solution of ``H x = b`` (pairs of tensors), from 0."""
    x = [torch.zeros_like(v) for v in b]
    r = [v.clone() for v in b]
    p = [v.clone() for v in r]
    rs = sum(float((v * v).sum()) for v in r)
    b_norm = math.sqrt(rs)
    forcing = min(0.5, math.sqrt(b_norm)) * b_norm
    for _ in range(CG_ITERATIONS):
        if math.sqrt(rs) <= forcing or rs == 0:
            break
        Hp = [h.detach() for h in hessian_times(p)]
        curvature = sum(float((a * c).sum()) for a, c in zip(p, Hp))
        if not curvature > 0:
            break
        step = rs / curvature
        x = [a + step * c for a, c in zip(x, p)]
        r = [a - step * c for a, c in zip(r, Hp)]
        rs_new = sum(float((v * v).sum()) for v in r)
        p = [a + (rs_new / rs) * c for a, c in zip(r, p)]
        rs = rs_new
    return x
