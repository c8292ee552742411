"""scikit-learn's callback API (:mod:`sklearn.callback`) around one fit.

A fit is a root task with one subtask per iteration (epoch for
mini-batches), as in :class:`~sklearn.linear_model.LogisticRegression`.
Hooks receive the training data, the metadata (``sample_weight``) and, when
they ask for it, a ``fitted_estimator``: a copy of the estimator holding the
model as of that iteration. :class:`FitTasks` knows nothing of how the
model is trained: an estimator hands it a function that captures its model
as of now, so a second estimator reuses it unchanged.
:func:`linear_model_snapshot` is that function for a linear model trained
in the engine's preconditioned variables.
"""

import torch
from sklearn.callback import ProgressBar

from ._base import Start
from ._logistic import summing_to_zero


class FitTasks:
    """The callback tasks of one call of ``fit`` or ``partial_fit``.

    Creating it opens the root task (``setup`` and ``on_fit_task_begin`` of
    the callbacks); :meth:`iteration_hook` gives the engine its per-iteration
    hook; :meth:`end` closes the root task. ``teardown`` is left to
    scikit-learn's ``_fit_context``/``with_callbacks``, which call it even
    when the fit raises.

    Parameters
    ----------
    estimator : estimator with :class:`~sklearn.callback.CallbackSupportMixin`
    X, y : array-like
        The data as passed to fit, which hooks such as
        :class:`~sklearn.callback.ScoringMonitor` score on.
    sample_weight : array-like or None
    max_iter : int
        Most iterations this fit can run: the root task's subtask count.

    Examples
    --------
    >>> from skorch_lite import TorchLinearRegressor
    >>> from skorch_lite._callbacks import FitTasks
    >>> reg = TorchLinearRegressor()
    >>> tasks = FitTasks(reg, [[0.0], [1.0]], [0.0, 1.0], None, max_iter=5)
    >>> tasks.root.max_subtasks, tasks.iteration_hook(None) is None
    (5, True)
    """

    def __init__(self, estimator, X, y, sample_weight, max_iter):
        self.estimator = estimator
        self.data = dict(
            X=X, y=y,
            metadata=None if sample_weight is None else {"sample_weight": sample_weight},
        )
        self.root = _init_root_context(estimator, max_iter)
        self.root.call_on_fit_task_begin(estimator=estimator, **self.data)

    def iteration_hook(self, snapshot):
        """The engine's per-iteration hook, or None when no callback listens.

        Parameters
        ----------
        snapshot : callable
            ``snapshot(result)`` captures the model as of now, given the
            engine's result so far (None before the first iteration), and
            returns a function computing its fitted attributes (``coef_``,
            ``intercept_``, ``n_iter_``, ...). That function runs only when
            a hook asks for ``fitted_estimator``.

        Returns
        -------
        hook : callable or None
            ``hook(result)`` returns True when a callback asks to stop.
        """
        # No callback, no cost: the engine then runs exactly as without them.
        if not self.root._callbacks:
            return None
        # The engine calls back once an iteration is done, and decides only
        # afterwards whether another one follows. Opening each iteration's
        # task eagerly (as LogisticRegression does) would leave one task for
        # an iteration that never ran; instead each task opens when its
        # iteration reports, with the model as of its start.
        before = [_once(snapshot(None))]

        def hook(result):
            task = self.root.subcontext(task_name="iteration")
            task.call_on_fit_task_begin(
                estimator=self.estimator, reconstruction_attributes=before[0], **self.data
            )
            before[0] = _once(snapshot(result))
            return task.call_on_fit_task_end(
                estimator=self.estimator, reconstruction_attributes=before[0], **self.data
            )

        return hook

    def end(self):
        """Close the root task; its ``fitted_estimator`` is the fitted estimator."""
        self.root.call_on_fit_task_end(
            estimator=self.estimator, reconstruction_attributes={}, **self.data
        )


def _once(compute):
    # One snapshot ends an iteration and begins the next: compute it once.
    cache = []

    def attributes():
        if not cache:
            cache.append(compute())
        return dict(cache[0])

    return attributes


def _init_root_context(estimator, max_iter):
    """The root context, with ``verbose >= 2`` realised as a ProgressBar."""
    callbacks = getattr(estimator, "_skl_callbacks", None)
    if not _wants_verbose_bar(estimator, callbacks or []):
        return estimator._init_callback_context(max_subtasks=max_iter)
    # The bar must live only for this fit: the context keeps the list it
    # finds on the estimator (and tears the bar down with the fit), and the
    # estimator gets its own callbacks back, so that it pickles as before.
    estimator._skl_callbacks = [*(callbacks or []), ProgressBar()]
    try:
        return estimator._init_callback_context(max_subtasks=max_iter)
    finally:
        if callbacks is None:
            del estimator._skl_callbacks
        else:
            estimator._skl_callbacks = callbacks


def _wants_verbose_bar(estimator, callbacks):
    # Inside a meta-estimator the outer display (its own ProgressBar, set
    # once on it and propagated) governs; a second bar per fit would garble it.
    return (
        estimator.verbose >= 2
        and not hasattr(estimator, "_parent_callback_ctx")
        and not any(isinstance(callback, ProgressBar) for callback in callbacks)
    )


def loss_round_snapshot(estimator, precond, theta, gamma, *, models, target, done, y_ndim,
                        space):
    """Capture the model of one round of a loss's fit (see :func:`._newton.fit_loss`), for hooks.

    Targets are fitted one after another. The snapshot's model is ``models``
    (``coef`` (k, p) and ``intercept`` (k,) tensors: the final models of the
    targets already fitted, the null model of those not reached) with the
    row ``target`` taken from the round's variables.

    Parameters
    ----------
    estimator : TorchLinearRegressor
    precond : Preconditioner
        The round's change of variables.
    theta, gamma : Tensor
        The round's variables, which the engine updates in place.
    models : tuple of Tensor
    target : int
    done : TrainResult
        Iterations and objective values of the fit before this round, over
        the targets fitted so far and this target's earlier rounds.
    y_ndim : int
    space : ArraySpace

    Returns
    -------
    snapshot : callable
        As :func:`linear_model_snapshot`'s, with ``_fitted_link`` besides
        (the log link's predictions are ``exp`` of the linear predictor).
    """
    validating = estimator.early_stopping
    link = "log" if estimator.loss in ("poisson", "gamma") else "identity"
    n_iter_before, curve_before = done.n_iter, list(done.loss_curve)

    def snapshot(result):
        values = theta.detach().clone(), gamma.detach().clone()
        n_iter = n_iter_before + (0 if result is None else result.n_iter)
        curve = curve_before + ([] if result is None else list(result.loss_curve))
        scores = [] if result is None else list(result.validation_scores)

        def attributes():
            with torch.no_grad():
                coef_t, intercept_t = precond.coefficients(*values)
            coef, intercept = models[0].clone(), models[1].clone()
            coef[target], intercept[target] = coef_t[0], intercept_t[0]
            if y_ndim == 1:
                coef, intercept = coef[0], intercept[0]
            return {
                "coef_": space.put(coef),
                "intercept_": space.put(intercept) if estimator.fit_intercept else 0.0,
                "n_iter_": n_iter,
                "loss_curve_": curve,
                "validation_scores_": scores if validating else None,
                "best_validation_score_": max(scores) if validating and scores else None,
                "_fitted_link": link,
            }

        return attributes

    return snapshot


def linear_model_snapshot(estimator, precond, theta, gamma, *, y_ndim, space, start):
    """Capture a linear model trained in preconditioned variables, for hooks.

    Parameters
    ----------
    estimator : TorchLinearRegressor
        Being fitted; its attributes from a previous ``partial_fit`` are
        continued, as the fit itself continues them.
    precond : Preconditioner
    theta, gamma : Tensor
        The engine's variables, which it updates in place.
    y_ndim : int
        1 when ``y`` was 1-D (``coef_`` is then 1-D).
    space : ArraySpace
        Where fitted arrays live (numpy, or X's namespace).
    start : Start
        How the call began (:class:`._base.Start`): ``partial_fit``
        continuing a stream extends the previous counts and curve.

    Returns
    -------
    snapshot : callable
        ``snapshot(result)`` copies the variables (cheap: one coefficient
        matrix) and returns a function computing ``coef_``, ``intercept_``,
        ``n_iter_``, ``loss_curve_`` and ``validation_scores_`` from them.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch_lite import TorchLinearRegressor
    >>> from skorch_lite._base import Start
    >>> from skorch_lite._callbacks import linear_model_snapshot
    >>> from skorch_lite._engine import TrainResult
    >>> from skorch_lite._inputs import ArraySpace
    >>> from skorch_lite._precondition import fit_preconditioner
    >>> import torch
    >>> X = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)
    >>> Y = X * 2 + 1
    >>> pre = fit_preconditioner(X, Y, torch.ones(3, dtype=X.dtype), alpha=0.0,
    ...                          fit_intercept=True, sketch_size=3,
    ...                          generator=torch.Generator().manual_seed(0))
    >>> theta, gamma = pre.theta0.clone(), torch.zeros(1, dtype=X.dtype)
    >>> snapshot = linear_model_snapshot(
    ...     TorchLinearRegressor(), pre, theta, gamma, y_ndim=1,
    ...     space=ArraySpace.of(np.zeros(1)), start=Start.FRESH)
    >>> attributes = snapshot(TrainResult(n_iter=1, loss_curve=[0.0]))()
    >>> np.round(attributes["coef_"], 6), attributes["n_iter_"]
    (array([2.]), 1)
    """
    resume = start is Start.RESUME
    n_iter_before = estimator.n_iter_ if resume else 0
    curve_before = list(estimator.loss_curve_) if resume else []
    validating = estimator.early_stopping and not start.incremental

    def snapshot(result):
        values = theta.detach().clone(), gamma.detach().clone()
        n_iter = 0 if result is None else result.n_iter
        curve = [] if result is None else list(result.loss_curve)
        scores = [] if result is None else list(result.validation_scores)

        def attributes():
            with torch.no_grad():
                coef, intercept = precond.coefficients(*values)
            if y_ndim == 1:
                coef, intercept = coef[0], intercept[0]
            return {
                "coef_": space.put(coef),
                "intercept_": space.put(intercept) if estimator.fit_intercept else 0.0,
                "n_iter_": n_iter_before + n_iter,
                "loss_curve_": curve_before + curve,
                "validation_scores_": scores if validating else None,
                "best_validation_score_": max(scores) if validating and scores else None,
            }

        return attributes

    return snapshot


def classifier_round_snapshot(estimator, precond, theta, gamma, *, classes, done, space,
                              incremental=False):
    """Capture the model of one round of a classifier's fit, for hooks.

    The classifier trains in rounds, each in its own change of variables
    (:func:`._logistic.fit_logistic`; one round for ``partial_fit``); the
    snapshot's counts continue those of ``done``.

    Parameters
    ----------
    estimator : TorchLinearClassifier
    precond : MixedPreconditioner or Preconditioner
        The round's change of variables.
    theta, gamma : Tensor
        The round's variables, which the engine updates in place.
    classes : ndarray
        The classes of this fit (``classes_`` is not set before it ends).
    done : TrainResult
        Iterations, objective values and validation scores before this
        round: the fit's earlier rounds, or the earlier calls of
        ``partial_fit``.
    space : ArraySpace
    incremental : bool
        ``partial_fit`` (no validation scores).

    Returns
    -------
    snapshot : callable
        As :func:`linear_model_snapshot`'s, with ``classes_`` besides; the
        softmax model is the one whose rows sum to zero over the classes,
        as the fitted one.
    """
    validating = estimator.early_stopping and not incremental
    n_iter_before, curve_before = done.n_iter, list(done.loss_curve)
    scores_before = list(done.validation_scores)

    def snapshot(result):
        values = theta.detach().clone(), gamma.detach().clone()
        n_iter = n_iter_before + (0 if result is None else result.n_iter)
        curve = curve_before + ([] if result is None else list(result.loss_curve))
        scores = scores_before + ([] if result is None else list(result.validation_scores))

        def attributes():
            with torch.no_grad():
                coef, intercept = summing_to_zero(*precond.coefficients(*values))
            if not estimator.fit_intercept:
                intercept = torch.zeros_like(intercept)
            return {
                "classes_": classes,
                "coef_": space.put(coef),
                "intercept_": space.put(intercept),
                "n_iter_": n_iter,
                "loss_curve_": curve,
                "validation_scores_": scores if validating else None,
                "best_validation_score_": max(scores) if validating and scores else None,
            }

        return attributes

    return snapshot
