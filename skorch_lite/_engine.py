"""The training engine: pure torch, no scikit-learn.

It minimizes an objective of the standardized problem in the preconditioned
variables of :mod:`._precondition` (squared error's in :mod:`._squared_error`,
other losses' in :mod:`._newton`, the log loss's in :mod:`._logistic`): 1 at
the model predicting the mean, its Hessian (close to) the identity, so one
stopping rule and one set of learning rates serve every data set. The loop
reads top to bottom: step, evaluate the accepted point, record, decide
whether to stop (the rules are in :mod:`._stopping`).
"""

from dataclasses import dataclass, field, replace

import torch

from ._solvers import load_state, make_optimizer, restart_momentum
from ._stopping import BestSeen, Certificate, Divergence, Stopper


@dataclass
class _Evaluation:
    values: list
    grads: list
    loss: torch.Tensor
    terms: torch.Tensor
    val_score: torch.Tensor = None
    # The variables' version counters when they last held ``values``.
    versions: tuple = None
    # The run's watched value of this point (see _Run.watched), once computed.
    watched: float = None


class _MemoClosure:
    """The closure ``optimizer.step`` calls, remembering its last evaluations.

    torch's L-BFGS re-evaluates, at the start of every step, the point its
    line search accepted in the previous one; Adam and SGD evaluate where this
    engine already evaluated to record the loss. Looking those up instead makes
    an iteration cost one pass over X.
    """

    def __init__(self, objective, params, size=4):
        self.objective = objective
        self.params = params
        self.size = size
        self.cache = []

    def __call__(self):
        entry = self.current()
        for p, g in zip(self.params, entry.grads):
            p.grad = g.clone()
        return entry.loss

    def current(self):
        # Every in-place change of a tensor (an optimizer's step, a copy)
        # bumps its version counter: unchanged counters are unchanged values,
        # found without comparing (a start's check looks five times).
        versions = tuple(p._version for p in self.params)
        for entry in self.cache:
            if entry.versions == versions or all(
                    torch.equal(p, v) for p, v in zip(self.params, entry.values)):
                entry.versions = versions
                return entry
        entry = self._evaluate()
        entry.versions = versions
        self.cache = [entry] + self.cache[: self.size - 1]
        return entry

    def _evaluate(self):
        for p in self.params:
            p.grad = None
        closed_form = getattr(self.objective, "value_and_grad", None)
        if closed_form is not None:
            terms, outputs, grads = closed_form(self.params)  # new tensors: no copies
        else:
            with torch.enable_grad():
                terms, outputs = self.objective.forward(self.params)
                terms.sum().backward()
            grads = [p.grad.clone() for p in self.params]
        val_score = None
        if self.objective.w_val is not None:
            val_score = self.objective.validation_score(outputs.detach())
        # Every process then sees the same totals, so takes the same step.
        reduce = self.objective.reducer.sum
        terms = reduce(terms.detach())
        return _Evaluation(
            values=[p.detach().clone() for p in self.params],
            grads=[reduce(g) for g in grads],
            loss=terms.sum(),
            terms=terms,
            val_score=val_score,
        )


@dataclass
class TrainResult:
    """What one call of :func:`train` produced."""

    n_iter: int = 0
    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    converged: bool = False
    interrupted: bool = False
    # A callback asked to stop: the model is consistent, max_iter is not to blame.
    stopped_by_callback: bool = False
    optimizer_state: dict = None
    # Full batch: progress stopped (L-BFGS's line search found no decrease
    # twice, its memory cleared in between, or no relative improvement for
    # n_iter_no_change iterations) while the gradient was above the certificate.
    # Mini-batches: the patience rule stopped a model that fails the certificate.
    stalled_above_tol: bool = False
    # Estimated relative excess of the kept mini-batch model, when it fails
    # the certificate.
    excess: float = None


@dataclass(frozen=True)
class Schedule:
    """How :func:`train` steps and when it stops: the estimators' training parameters.

    Built once per fit (:func:`._base.training_schedule`); the fits in
    rounds (:mod:`._newton`, :mod:`._logistic`) give each round its share of
    ``max_iter`` with :meth:`limited`.

    Attributes
    ----------
    solver : {"lbfgs", "adam", "sgd"}
    learning_rate_init : float
        Adam's and SGD's step, in the preconditioned variables.
    momentum : float
        SGD's momentum.
    batch_size : int or None
        Rows per mini-batch of Adam and SGD; None is the full batch.
    max_iter : int
        Iterations (full batch) or epochs (mini-batches) of one call.
    tol : float
        Relative tolerance of the stopping rules.
    n_iter_no_change : int
        Patience of the no-improvement rule.
    shuffle : bool
        Reshuffle the rows every epoch of mini-batch training.
    """

    solver: str
    learning_rate_init: float
    momentum: float
    batch_size: object
    max_iter: int
    tol: float
    n_iter_no_change: int
    shuffle: bool

    @property
    def line_search(self):
        """L-BFGS: its steps are accepted by a line search on objective values."""
        return self.solver == "lbfgs"

    def full_batch(self, n_rows):
        """Whether one iteration is one step on all ``n_rows`` (else an epoch of batches)."""
        # L-BFGS needs the full batch: its line search compares objective values.
        return self.line_search or self.batch_size is None or self.batch_size >= n_rows

    def limited(self, max_iter):
        """This schedule for at most ``max_iter`` iterations."""
        return replace(self, max_iter=max_iter)


def train(objective, theta, gamma, schedule, *, generator, progress, train_rows=None,
          optimizer_state=None, stop_early=True, callback=None):
    """Minimize ``objective`` over ``theta`` and ``gamma`` in place.

    One iteration is an optimizer step on the full batch, or an epoch of
    mini-batches when ``schedule.batch_size`` is smaller than the training
    rows. Training stops, converged, when either

    * (full batch) half the squared gradient norm, which in these
      variables estimates how far the objective is above its minimum, is at
      most ``tol`` times the objective, or below the rounding noise of the
      gradient itself (:func:`._stopping.gradient_noise`, so that a
      zero-loss optimum is recognised); for L-BFGS, whose line search
      compares objective values, ``tol`` is at least ``2 * eps * log2(n)``,
      the precision of a sum over ``n`` rows in the dtype; or
    * (L-BFGS) a step leaves the variables unchanged: its line search found
      no decrease at this precision; or
    * the objective (minus the validation R^2 when the objective has
      validation weights) has not improved by a fraction ``tol`` for
      ``n_iter_no_change`` consecutive iterations: mini-batch epochs, early
      stopping, and L-BFGS at the floor of floating-point precision.

    With early stopping the model kept is the best on the validation rows;
    with Adam and SGD, the best by the objective over all rows among the
    starting point and the iterations (ends of epochs with mini-batches:
    neither a constant step nor momentum decreases the objective at every
    iteration), unless a full-batch iterate met the rule; it counts as
    converged only if it meets the full-batch rule (else, with
    mini-batches, ``stalled_above_tol``, and ``excess`` says how far it
    stopped). An interrupt (KeyboardInterrupt) keeps the best
    model among the start and the completed iterations.

    The objective is that of the standardized problem, so both rules are
    free of the data's units. ``stop_early=False`` runs exactly
    ``max_iter`` iterations (``partial_fit``). ``callback(result)``, when
    given, is called after each recorded iteration; a True return stops
    training there (``result.stopped_by_callback``).

    Parameters
    ----------
    objective : Objective, DatafitObjective or LogLossObjective
    theta, gamma : Tensor
        The variables, updated in place (with ``objective.extra_params``).
    schedule : Schedule
    generator : torch.Generator
        Shuffles the mini-batches.
    progress : Progress
        Reports each iteration (``verbose``).
    train_rows : Tensor or None
        The rows mini-batches are drawn from (None: every row).
    optimizer_state : dict or None
        A ``state_dict`` to resume the optimizer from (``partial_fit``).

    Returns
    -------
    TrainResult
    """
    run = _Run(objective, [theta, gamma, *objective.extra_params], schedule, generator,
               train_rows, optimizer_state, stop_early)
    try:
        for iteration in range(1, schedule.max_iter + 1):
            entry = run.step(iteration)
            run.record(iteration, entry, progress)
            if callback is not None and callback(run.result):
                run.result.stopped_by_callback = True
                break
            if stop_early and run.stops(entry):
                break
    except KeyboardInterrupt:
        # Ctrl-C (or an interrupt raised by a callback) ends training like a
        # stopping rule, at the last completed iteration.
        run.back_to_last()
    return run.finish(progress)


class _Run:
    """The state of one call of :func:`train`, and its stages: start, step, record, stop, finish."""

    def __init__(self, objective, params, schedule, generator, train_rows, optimizer_state,
                 stop_early):
        self.objective, self.params, self.schedule = objective, params, schedule
        self.generator, self.train_rows, self.stop_early = generator, train_rows, stop_early
        self.optimizer = make_optimizer(schedule.solver, params,
                                        learning_rate_init=schedule.learning_rate_init,
                                        momentum=schedule.momentum)
        if optimizer_state is not None:
            load_state(self.optimizer, optimizer_state,
                       learning_rate_init=schedule.learning_rate_init, momentum=schedule.momentum)
        self.optimizer_state = optimizer_state
        self.n_rows = objective.X.shape[0] if train_rows is None else len(train_rows)
        self.full_batch = schedule.full_batch(self.n_rows)
        self.memo = _MemoClosure(objective, params)
        self.stopper = Stopper(schedule.tol, schedule.n_iter_no_change)
        self.certificate = Certificate(objective, self.optimizer, params, schedule.tol,
                                       rows_in_every_process(
                                           objective.reducer, self.n_rows, objective.w))
        self.divergence = Divergence(objective, params, schedule.solver,
                                     schedule.learning_rate_init)
        self.result = TrainResult()
        self.y_var = objective.report_scale
        self.validating = objective.w_val is not None
        # The best model seen (on the validation rows with early stopping):
        # the one kept by Adam and SGD and early stopping, and by a fit that
        # is interrupted. Full-batch Adam and SGD do not decrease the
        # objective monotonically either: from a good start in float32 (a
        # tiny alpha on separable classes), SGD's last iterate was 1e5 times
        # worse than its start.
        self.best = BestSeen()
        self.keep_best = stop_early and (self.validating or not schedule.line_search)
        self.start_is_optimal = self._check_start()
        self.unmoved = self.restarted = False
        # (iteration, values) of the last completed iteration, one assignment so
        # that an interrupt never finds the pair half-updated.
        self.last = (0, self.divergence.start)  # the start's own copy, which no one changes
        self.previous_loss = float("inf")

    def watched(self, entry):
        """The value the patience rule and the best model go by: lower is better."""
        # Compared in y's units, as loss_curve_ reports the objective: with
        # several targets of different variances, the standardized sum ranks
        # points otherwise.
        if entry.watched is None:
            entry.watched = (-float(entry.val_score) if self.validating
                             else float(entry.terms @ self.y_var))
        return entry.watched

    def _check_start(self):
        """Offer the start as the best model; whether it already meets the stopping rule."""
        memo = self.memo
        # The start is a candidate (it is evaluated anyway, by the first
        # full-batch step or for the mini-batch patience).
        if self.stop_early and not self.validating:
            start = self.watched(memo.current())
            self.best.offer(start, memo.current().values)
            if not self.full_batch:
                # A constant step leaves mini-batch training at a noise floor:
                # the last epoch is not always the best, and may even be worse
                # than the start, from which patience counts.
                self.stopper.update(start)
        if self.schedule.line_search:
            _relative_tolerance_change(self.optimizer, float(memo.current().loss))
        # The start (the exact solution on every row below the sketch size) may
        # already be optimal; then a step could only leave it. Adam's first steps
        # in particular have length learning_rate_init whatever the gradient (m /
        # sqrt(v) is its sign): from the optimum it walked away and took hundreds
        # of iterations to come back. The first iteration is then the check of
        # the start, with no step.
        return self.stop_early and not self.validating and self.certificate.holds(memo.current())

    def step(self, iteration):
        """One iteration: a step (or an epoch, or none from an optimal start), evaluated."""
        params, optimizer = self.params, self.optimizer
        if self.start_is_optimal:
            pass
        elif self.full_batch:
            before = [p.detach().clone() for p in params]
            optimizer.step(self.memo)
            # L-BFGS leaves the point unchanged when its line search finds
            # no decrease: at the floor of precision, or lost (see stops).
            self.unmoved = self.schedule.line_search and all(
                torch.equal(p, b) for p, b in zip(params, before)
            )
        else:
            _run_epoch(self.objective, optimizer, params, self.schedule, self.n_rows,
                       self.train_rows, self.generator,
                       lambda loss: self.divergence.check(loss, iteration))
        entry = self.memo.current()
        self.divergence.check(entry.loss, iteration)
        if self.full_batch and self.schedule.solver == "sgd" and entry.loss > self.previous_loss:
            # Heavy ball at a small step spirals into the optimum. Forgetting
            # the velocity when the objective rises (adaptive restart,
            # O'Donoghue and Candes 2015) damps the spiral: at the defaults,
            # 63 iterations instead of 130 on diabetes. (Adam, tried the
            # same way by zeroing its first moment, gained nothing at 0.01
            # and lost at larger steps.)
            restart_momentum(optimizer)
        self.previous_loss = entry.loss
        # The evaluation's own copy of the point (entry.values is never changed).
        self.last = (iteration, entry.values)
        return entry

    def record(self, iteration, entry, progress):
        """The iteration's objective (and validation score) in the result, and reported."""
        result = self.result
        result.n_iter = iteration
        result.loss_curve.append(float(entry.terms @ self.y_var))
        if self.validating:
            result.validation_scores.append(float(entry.val_score))
        if self.stop_early:
            self.best.offer(self.watched(entry), entry.values)
        progress.update(iteration, result.loss_curve[-1],
                        result.validation_scores[-1] if self.validating else None)

    def stops(self, entry):
        """Whether training stops after this iteration (the result then says how)."""
        full_batch, line_search = self.full_batch, self.schedule.line_search
        if line_search:
            _relative_tolerance_change(self.optimizer, float(entry.loss))
        certified = self.start_is_optimal or full_batch and self.certificate.holds(entry)
        stalled = self.stopper.update(self.watched(entry))
        # Full-batch Adam and SGD (with momentum) do not decrease the objective
        # monotonically: a pause in improvement is not convergence for them.
        if full_batch and not line_search and not self.validating:
            stalled = False
        if full_batch and not self.validating and (self.unmoved or stalled) and not certified:
            # On the full batch only the certificate means converged: a line
            # search that finds no decrease, or slow progress, can happen on a
            # badly sketched problem with the excess well above tol. Retry a
            # failed line search once from steepest descent (L-BFGS's memory
            # cleared), then stop and say so.
            if self.unmoved and not self.restarted:
                self.optimizer.state.clear()
                self.restarted = True
                return False
            self.result.stalled_above_tol = True
            return True
        self.restarted = False
        if certified or stalled:
            self.result.converged = True
            return True
        return False

    def back_to_last(self):
        """After an interrupt: the last completed iteration, and the best model offered."""
        # A step or line search cut short leaves the variables at an
        # unchecked trial point.
        result, (n_iter, values) = self.result, self.last
        result.interrupted = True
        result.n_iter = n_iter
        del result.loss_curve[n_iter:], result.validation_scores[n_iter:]
        _assign(self.params, values)
        if self.stop_early and n_iter > 0:
            # The interrupt may have come before the last completed
            # iteration was offered (evaluated already: a cache hit).
            entry = self.memo.current()
            self.best.offer(self.watched(entry), entry.values)

    def finish(self, progress):
        """The model kept (the best, where that rule applies), judged and reported."""
        result = self.result
        # A full-batch iterate that met the certificate is kept as it is.
        keep_best = self.keep_best and not (self.full_batch and result.converged
                                            and not self.validating)
        if (keep_best or result.interrupted) and self.best.values is not None:
            _assign(self.params, self.best.values)
        if (keep_best and not self.validating
                and not (result.interrupted or result.stopped_by_callback)):
            _judge_kept(result, self.certificate, self.memo.current())
        progress.close(result.n_iter, result.converged, result.interrupted,
                       result.stalled_above_tol)
        if result.interrupted and result.n_iter == 0:
            # Nothing completed: the optimizer's state is the one it started from.
            result.optimizer_state = self.optimizer_state
        else:
            result.optimizer_state = self.optimizer.state_dict()
        return result


def _assign(params, values):
    with torch.no_grad():
        for p, value in zip(params, values):
            p.copy_(value)


def _judge_kept(result, certificate, entry):
    """Adam and SGD converged only where the model kept meets the full-batch rule.

    One evaluation over every row. The patience rule stops a constant step
    at its noise floor, which may be well above ``tol`` (at the defaults,
    3000 x 5 rows in batches of 32 kept the sketch's start, 2e-3 above the
    optimum); a model at the optimum converged even when it was reached
    only by ``max_iter``.
    """
    if certificate.holds(entry):
        result.converged = True
        return
    result.excess = certificate.excess(entry)
    if result.converged:
        result.converged = False
        result.stalled_above_tol = True


def _relative_tolerance_change(optimizer, loss):
    """Keep torch's L-BFGS tolerance on the directional derivative relative to the loss.

    torch gives up when that derivative is above ``-tolerance_change``, an
    absolute number: with eps there, a problem whose loss is far below eps
    (rows of weight 1e20 fitted exactly beside rows of weight 1) stopped
    before its first step.
    """
    group = optimizer.param_groups[0]
    dtype = group["params"][0].dtype
    group["tolerance_change"] = max(torch.finfo(dtype).eps * loss, torch.finfo(dtype).tiny)


def rows_in_every_process(reducer, n_rows, like):
    """``n_rows`` summed over the processes of a data-parallel fit (``like``: a tensor on its device).

    Precision floors grow with the number of rows a sum runs over; computed
    from each process's own shard they differed, so one process stopped
    while another went on to a collective that never came (a hang).
    """
    if reducer.world_size == 1:
        return n_rows
    return int(reducer.sum(like.new_tensor([float(n_rows)])).item())


def _run_epoch(objective, optimizer, params, schedule, n_rows, train_rows, generator, check):
    if schedule.shuffle:
        order = torch.randperm(n_rows, generator=generator)
    else:
        order = torch.arange(n_rows)
    if train_rows is not None:
        order = train_rows[order]
    order = order.to(objective.X.device)
    batch_size = schedule.batch_size
    for start in range(0, n_rows, batch_size):
        rows = order[start : start + batch_size]
        # Scale the batch so that its loss is an unbiased estimate of the whole.
        scale = n_rows / len(rows)

        def closure():
            optimizer.zero_grad()
            loss = objective.forward(params, rows, scale)[0].sum()
            loss.backward()
            return loss

        loss = optimizer.step(closure)
        check(loss.detach())
