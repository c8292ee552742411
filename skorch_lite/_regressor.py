"""The scikit-learn face of the engine: parameters, validation, fitted attributes."""

import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
import torch
from sklearn import get_config
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.callback import CallbackSupportMixin, with_callbacks
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._array_api import check_same_namespace
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    fit_generator,
    ParamNamesOnce,
    ParamsValidatedOnce,
    TRAINING_CONSTRAINTS,
    record_training,
    NothingCompleted,
    Start,
    atomic_fit,
    decide_start,
    scaled_weights,
    sketch_size,
    training_schedule,
    validation_split,
    warn_about,
)
from ._callbacks import FitTasks, linear_model_snapshot, loss_round_snapshot
from ._devices import fit_threads, resolve_device
from ._engine import Schedule, TrainResult, train
from ._inputs import (
    ArraySpace,
    FitInputs,
    check_tensor_X,
    device_of,
    fit_inputs,
    takes_torch_path,
    to_numpy,
    to_torch,
)
from ._losses import LOSSES, make_datafit
from ._newton import DatafitObjective, fit_loss, fraction_explained, stream_preconditioner
from ._penalty import L2
from ._precondition import fit_preconditioner
from ._progress import Progress, RoundsProgress
from ._reduce import LOCAL
from ._solvers import stochastic_only
from ._squared_error import Objective, r2_from_sums
from ._state import tensors_from_numpy, tensors_to_numpy
from ._stopping import objective_value
from ._stream import update_stream


class TorchLinearRegressor(ParamNamesOnce, ParamsValidatedOnce, CallbackSupportMixin, RegressorMixin,
                           BaseEstimator):
    """Linear regression trained by PyTorch autograd: least squares, robust, quantile and GLM losses.

    The model is ``y = X @ coef_.T + intercept_``. Fitting minimizes the
    weighted ridge objective

    .. math::

        \\frac{1}{k \\sum_i s_i} \\Big( \\sum_i s_i \\lVert y_i - x_i W^\\top - b \\rVert^2
        + \\alpha \\lVert W \\rVert_F^2 \\Big)

    over the coefficients ``W`` and intercept ``b`` (not penalized), where
    ``s`` are the sample weights and ``k`` the number of targets. The
    minimizer is that of :class:`sklearn.linear_model.Ridge` with the same
    ``alpha`` and ``sample_weight`` (ordinary least squares for ``alpha=0``,
    the minimum-norm solution when it is not unique). The value, reported in
    ``loss_curve_``, is the (weighted) mean squared error plus the penalty.

    Training runs a :mod:`torch.optim` optimizer on gradients from autograd,
    in preconditioned variables: X is never copied, centred or scaled, but the
    optimizer sees a problem whose Hessian is (close to) the identity, so
    the default L-BFGS reaches the exact optimum in a few passes over X and
    Adam and SGD learn at their default rates on unscaled data.

    With another ``loss`` the squared residual is replaced by that loss of
    the prediction (see :doc:`/user_guide/losses` for each objective and its
    scikit-learn counterpart).

    Parameters
    ----------
    loss : {"squared_error", "huber", "absolute_error", "quantile", "poisson", \
            "gamma"} or callable, default="squared_error"
        The loss of each prediction. ``"huber"`` is
        :class:`~sklearn.linear_model.HuberRegressor`'s (with its scale fitted
        jointly, ``scale_``), ``"quantile"`` the pinball loss of
        :class:`~sklearn.linear_model.QuantileRegressor`, ``"absolute_error"``
        its median case (twice the pinball loss at 0.5); ``"poisson"`` and
        ``"gamma"`` are the unit deviances of
        :class:`~sklearn.linear_model.PoissonRegressor` and
        :class:`~sklearn.linear_model.GammaRegressor`, with a log link
        (``predict`` returns ``exp(X @ coef_.T + intercept_)``, :meth:`score`
        is D^2). A callable ``loss(y_pred, y_true)`` returns the elementwise
        losses, a float tensor of shape (n_samples, n_targets), computed with
        torch operations from ``y_pred`` (identity link). Losses other than
        squared error are fitted target by target.
    epsilon : float, default=1.35
        ``"huber"`` only: residuals beyond ``epsilon * scale_`` count
        linearly. At least 1.
    quantile : float, default=0.5
        ``"quantile"`` only: the quantile predicted, in (0, 1).
    fit_intercept : bool, default=True
        Whether to fit an (unpenalized) intercept.
    alpha : float, default=0.0
        L2 penalty on ``coef_``, as in :class:`~sklearn.linear_model.Ridge`.
    solver : {"lbfgs", "adam", "sgd"}, default="lbfgs"
        The :mod:`torch.optim` optimizer. ``"lbfgs"`` (full batch, strong
        Wolfe line search) converges to the exact optimum; ``"adam"`` and
        ``"sgd"`` also train on mini-batches and support :meth:`partial_fit`.
        :meth:`fit` starts each from the least-squares solution on a row
        sketch (the exact optimum below 2000 rows; for ``"lbfgs"`` on dense
        X of fewer than 2**20 values, refined by conjugate gradients over
        every row to within ``tol``); a start that already meets the
        stopping rule ends the fit after one iteration, with no step.
    learning_rate_init : float, default=0.01
        Step size of ``"adam"`` and ``"sgd"``, in the preconditioned
        variables (so it does not depend on the scale of X or y).
    momentum : float, default=0.9
        Momentum of ``"sgd"``, in ``[0, 1)``.
    batch_size : int, default=None
        Rows per mini-batch for ``"adam"`` and ``"sgd"``; None is the full
        batch. ``"lbfgs"`` always uses the full batch. :meth:`fit` on
        mini-batches keeps the best model by the objective over all rows
        among the start and the ends of epochs (a constant step leaves a
        noise floor, so the last epoch is not always the best), and counts
        as converged only if that model meets the full-batch stopping rule
        (one more pass over the rows); otherwise a ConvergenceWarning gives
        its estimated excess and what to change.
    max_iter : int, default=200
        Maximum iterations (full batch) or epochs (mini-batches).
    tol : float, default=1e-8
        Relative tolerance of the stopping rule (free of the data's units).
        Training stops when, on the full batch, half the squared gradient
        norm in the preconditioned variables (an estimate of how far the
        objective is above its minimum) is at most ``tol`` times the
        objective (for L-BFGS not below ``2 * eps * log2(n_samples)`` of the
        dtype, what its line search can resolve) or below its own rounding
        noise (a zero-loss fit), or when
        the objective (the validation R^2 with ``early_stopping``) has not
        improved by a fraction ``tol`` for ``n_iter_no_change`` consecutive
        iterations. On the full batch only the first rule means converged:
        L-BFGS stopping without it (no decrease found, or stalled) warns.
        Full-batch Adam and SGD only use the first rule.
    n_iter_no_change : int, default=10
        Patience of the second stopping rule.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their R^2
        stops improving, and keep the best model seen.
    validation_fraction : float, default=0.1
        Share of rows held out when ``early_stopping`` is True.
    shuffle : bool, default=True
        Reshuffle rows every epoch of mini-batch training.
    random_state : int, RandomState instance or None, default=None
        Seeds the row sketch, the shuffling and the validation split; the same
        value gives bit-identical results on the same device.
    warm_start : bool, default=False
        Start :meth:`fit` from the previous solution, or from the sketch's
        least-squares solution where that has the lower objective (after
        ``set_params(alpha=...)`` or on other rows the previous model may be
        the worse start; one evaluation of each decides). Its features and
        targets must have the counts of the previous fit (a ValueError names
        both otherwise; set ``warm_start=False`` to fit another shape).
    device : str or torch.device, default="cpu"
        Where to train: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``,
        ``"auto"`` (the best available) or a :class:`torch.device`. Fitted
        attributes are numpy arrays whatever the device.
    verbose : int, default=0
        1 prints the objective (mean squared error plus penalty, in squared
        units of y) at each iteration; 2 or more shows
        :class:`sklearn.callback.ProgressBar` (drawn by rich) for the fit.
        Both end with a one-line summary. The same bar, and any other
        callback, can be set with :meth:`set_callbacks`, also on a
        meta-estimator (see :doc:`/user_guide/callbacks`).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients; 1-D when ``y`` was 1-D, as in
        :class:`~sklearn.linear_model.LinearRegression`.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept (0.0 when ``fit_intercept=False``).
    scale_ : float or ndarray of shape (n_targets,)
        ``loss="huber"`` only: the scale of the residuals fitted jointly
        with the coefficients, as :class:`~sklearn.linear_model.HuberRegressor`'s.
    n_iter_ : int
        Iterations (epochs for mini-batches) run by the last fit.
    loss_curve_ : list of float
        The objective at the accepted point of each iteration (epoch),
        ``len(loss_curve_) == n_iter_``. With full batches the last value is
        the objective of the fitted model; with mini-batches the fitted model
        is the best seen (see ``batch_size``).
    validation_scores_ : list of float or None
        Score on the held-out rows at each iteration (``early_stopping``
        only): R^2 for squared error; for the other losses D^2 of the loss
        itself (the fraction of its intercept-only model's loss explained;
        Huber's at the current scale), and for a callable loss minus its
        weighted mean on those rows.
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    sklearn.linear_model.Ridge : The same objective, solved directly.
    sklearn.linear_model.SGDRegressor : Linear regression by stochastic gradient descent.
    sklearn.neural_network.MLPRegressor : Where the parameter names come from.

    Notes
    -----
    A call to :meth:`fit` or :meth:`partial_fit` that raises leaves every
    fitted attribute as it was. A KeyboardInterrupt (Ctrl-C) during training
    keeps the best model reached: for :meth:`fit`, the best by the objective
    among the start and the completed iterations (on the validation rows
    with ``early_stopping``); for :meth:`partial_fit`, the completed epoch.
    It warns with a :class:`FitInterruptedWarning`. An interrupt before the
    first iteration completed keeps nothing: the estimator is exactly as
    before the call (unfitted if it was).

    Training diverges (a ValueError, the estimator unchanged) when the
    objective exceeds a hundred times the larger of that of predicting the
    mean and its value at the start of the call.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skorch_lite import TorchLinearRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = TorchLinearRegressor().fit(X, y)
    >>> round(reg.score(X, y), 4)
    0.5177
    >>> reg.coef_.shape
    (10,)
    >>> counts = TorchLinearRegressor(loss="poisson").fit(X, y.round())
    >>> bool((counts.predict(X) > 0).all())
    True
    """

    _doc_link_module = "skorch_lite"
    _doc_link_template = (
        "https://skorch-lite.readthedocs.io/en/latest/generated/"
        "{estimator_module}.{estimator_name}.html"
    )

    _parameter_constraints = {
        "loss": [StrOptions(set(LOSSES)), callable],
        "epsilon": [Interval(Real, 1, None, closed="left")],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
        **TRAINING_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        loss="squared_error",
        epsilon=1.35,
        quantile=0.5,
        fit_intercept=True,
        alpha=0.0,
        solver="lbfgs",
        learning_rate_init=0.01,
        momentum=0.9,
        batch_size=None,
        max_iter=200,
        tol=1e-8,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        device="cpu",
        verbose=0,
    ):
        self.loss = loss
        self.epsilon = epsilon
        self.quantile = quantile
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.device = device
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by gradient-based training from scratch (or warm start).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 input trains in float32, anything else
            numeric in float64.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; None gives every row weight 1.

        Returns
        -------
        self : TorchLinearRegressor
            The fitted estimator.

        Raises
        ------
        ValueError
            For invalid inputs (NaN, mismatched lengths, negative weights),
            targets the loss is not defined for (``y < 0`` or all zero for
            ``"poisson"``, ``y <= 0`` for ``"gamma"``), a callable loss that
            returns another shape or non-finite values, a change of shape
            under ``warm_start``, or training that diverged. The estimator
            is then left as it was.
        TypeError
            When a callable loss returns something other than a float
            tensor computed from ``y_pred``.

        Examples
        --------
        >>> import numpy as np
        >>> from skorch_lite import TorchLinearRegressor
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> reg = TorchLinearRegressor().fit(X, [1.0, 3.0, 5.0])
        >>> np.round(reg.coef_, 6), round(float(reg.intercept_), 6)
        (array([2.]), 1.0)
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @stochastic_only
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current model.

        Only for ``solver="adam"`` and ``"sgd"`` (otherwise the method does
        not exist, and calling it raises an AttributeError naming them).
        Running means and variances of the columns, updated with every
        chunk, centre and scale the problem, so a first chunk that does not
        vary in some direction (one row, a constant column) freezes
        nothing; the optimizer's state carries over between calls, so that
        a stream of chunks trains like epochs over one data set (SGD's
        velocity only while ``momentum`` stays the same and non-zero). The
        first call fixes the number of features and targets; a later chunk
        with other counts raises a ValueError and changes nothing. Each
        chunk's objective is normalized by its total weight, so its weights
        may have any scale (1e-320 to 1e307); in the running means they
        weigh against other chunks'.

        Each call minimizes :meth:`fit`'s objective on its chunk, the
        penalty ``alpha ||W||^2`` counted once per call (as
        :class:`~sklearn.linear_model.Ridge` fitted on the chunk): over
        ``k`` chunks of equal total weight the stream approaches
        :meth:`fit`'s model with ``alpha * k``. Pass ``alpha / k`` to match
        :meth:`fit` on the whole data. See the user guide's "partial_fit
        and warm_start" page.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : TorchLinearRegressor

        Examples
        --------
        >>> import numpy as np
        >>> from skorch_lite import TorchLinearRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 2)); y = X @ [1.0, -2.0]
        >>> reg = TorchLinearRegressor(solver="sgd", random_state=0)
        >>> for _ in range(3):
        ...     reg = reg.partial_fit(X, y)
        >>> reg.n_iter_
        3
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict with the linear model.

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features)
            A torch tensor is used where it lives (CPU or GPU), without a
            round trip through numpy.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Same number of dimensions as the ``y`` seen in fit. A numpy
            array, or, under ``sklearn.set_config(array_api_dispatch=True)``,
            an array of X's namespace on X's device.

        Examples
        --------
        >>> from skorch_lite import TorchLinearRegressor
        >>> reg = TorchLinearRegressor().fit([[0.0], [1.0]], [0.0, 2.0])
        >>> reg.predict([[3.0]]).round(6)
        array([6.])
        """
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="coef_", method="predict")
        if not takes_torch_path(X):
            X = validate_data(
                self, X, reset=False, dtype=[np.float64, np.float32],
                accept_sparse=("csr", "csc", "coo"),
            )
            raw = X @ to_numpy(self.coef_).T + to_numpy(self.intercept_)
            return np.exp(raw) if self._log_link else raw
        return ArraySpace.of(X).put(self._predict_tensor(X))

    @property
    def _log_link(self):
        # The link of the fitted model (a loss set since does not change
        # predictions until the next fit), else of the loss parameter.
        return getattr(self, "_fitted_link", None) == "log" if hasattr(self, "coef_") else (
            self.loss in ("poisson", "gamma"))

    def _predict_tensor(self, X):
        X = check_tensor_X(self, to_torch(X, device_of(X)), reset=False)
        coef = to_torch(self.coef_, X.device).to(X.dtype)
        intercept = to_torch(self.intercept_, X.device).to(X.dtype)
        raw = X @ (coef.T if coef.ndim == 2 else coef) + intercept
        return raw.exp() if self._log_link else raw

    def score(self, X, y, sample_weight=None):
        """R^2 of the predictions, averaged uniformly over the targets.

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features)
        y : array-like or tensor of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like or tensor of shape (n_samples,), default=None

        Returns
        -------
        score : float

        Examples
        --------
        >>> import torch
        >>> from skorch_lite import TorchLinearRegressor
        >>> X = torch.tensor([[0.0], [1.0], [2.0]]); y = torch.tensor([1.0, 3.0, 5.0])
        >>> TorchLinearRegressor().fit(X, y).score(X, y)
        1.0
        """
        if self._log_link:
            return self._deviance_explained(X, y, sample_weight)
        if get_config()["array_api_dispatch"]:
            return super().score(X, y, sample_weight)
        if not isinstance(X, torch.Tensor):
            # r2_score reads a tensor y through numpy, which refuses one that
            # requires grad: cross_val_score then scored nan.
            return super().score(X, to_numpy(y), to_numpy(sample_weight))
        # A tensor (possibly on a GPU) is scored where it lives.
        check_is_fitted(self)
        pred = self._predict_tensor(X)
        y = to_torch(y, pred.device).to(pred.dtype).reshape(pred.shape[0], -1)
        pred = pred.reshape(y.shape)
        w = torch.ones(y.shape[0], dtype=y.dtype, device=y.device)
        if sample_weight is not None:
            w = to_torch(sample_weight, y.device).to(y.dtype)
        y_mean = (w @ y) / w.sum()
        return float(r2_from_sums(w @ (y - pred) ** 2, w @ (y - y_mean) ** 2).mean())

    def _deviance_explained(self, X, y, sample_weight):
        """D^2: the fraction of the loss's deviance explained, as PoissonRegressor.score."""
        check_is_fitted(self)
        pred = to_torch(self.predict(X), "cpu").to(torch.float64)
        pred = pred.reshape(pred.shape[0], -1)
        Y = to_torch(to_numpy(y) if not isinstance(y, torch.Tensor) else y.detach().cpu(),
                     "cpu").to(torch.float64).reshape(pred.shape)
        w = torch.ones(Y.shape[0], dtype=torch.float64)
        if sample_weight is not None:
            w = to_torch(to_numpy(sample_weight) if not isinstance(sample_weight, torch.Tensor)
                         else sample_weight.detach().cpu(), "cpu").to(torch.float64).reshape(-1)
        # Models pickled before _fitted_log_loss existed: the loss parameter.
        loss = getattr(self, "_fitted_log_loss", None) or self.loss
        datafit = make_datafit(loss, epsilon=self.epsilon, quantile=self.quantile)
        datafit.check_targets(Y)
        return float(fraction_explained(datafit, pred.log(), Y, w).mean())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        log_link = self.loss in ("poisson", "gamma")
        if log_link:
            tags.target_tags.positive_only = True
        # Log-link losses fit several targets too, but scikit-learn's
        # multi-output check feeds them negative targets, which no such loss
        # is defined for.
        tags.target_tags.multi_output = not log_link
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags

    # ------------------------------------------------------------------ fit

    # with_callbacks tears the callbacks down also when _fit is called
    # directly (skorch_lite.distributed.fit), not through fit's _fit_context.
    @with_callbacks
    def _fit(self, X, y, sample_weight, incremental, reducer=None):
        # A fit is atomic: whatever goes wrong (bad input, divergence, a
        # change of shape, an interrupt outside the training loop), the
        # estimator is left exactly as it was before the call.
        return atomic_fit(self, self._fit_unguarded, X, y, sample_weight, incremental, reducer)

    def _fit_unguarded(self, X, y, sample_weight, incremental, reducer):
        start = decide_start(self, incremental)
        space = ArraySpace.of(X)
        data = fit_inputs(
            self, X, y, sample_weight, reset=start is not Start.RESUME,
            resolve_device=lambda where: resolve_device(self.device, data_device=where),
        )
        if start.continues:
            self._check_same_shape(data, start)
        # Small fits on one thread: under load, two threads on tiny tensors
        # made a diabetes fit 16-29 ms instead of 2.5-3.8 ms (issue 13).
        with fit_threads(data.X):
            call = self._prepare(X, y, sample_weight, data, start, reducer, space)
            if call.datafit is not None and not start.incremental:
                return self._fit_datafit(call)
            return self._fit_jointly(call)

    def _prepare(self, X, y, sample_weight, data, start, reducer, space):
        """What the call trains with: schedule, penalty, weights and split, the loss."""
        schedule = training_schedule(self, start)
        max_iter = schedule.max_iter
        if self.loss != "squared_error" and not start.incremental:
            # Other losses fit their targets one after another, each for up
            # to max_iter iterations: each iteration is a task.
            max_iter *= data.Y.shape[1]
        tasks = FitTasks(self, X, y, sample_weight, max_iter=max_iter)
        generator = fit_generator(self.random_state)
        # Weights scaled to at most 1, and alpha alike, give the same
        # objective (fit's, or one chunk's, each normalized by its own total
        # weight) and loss_curve_; sums of weights of 1e-320 or 1e300 do not.
        # The stream's moments get the caller's weights (update_stream counts
        # them in units of the largest seen): chunks keep their relative weights.
        weights, alpha, coef_factor = scaled_weights(
            data.w, self.alpha, reducer, None if start.incremental else data.X)
        w_train, w_val, train_rows = self._split(weights, start, generator)
        datafit = None
        if self.loss != "squared_error":
            datafit = make_datafit(self.loss, epsilon=self.epsilon, quantile=self.quantile)
            # A chunk of a stream may be all zero counts; a data set may not,
            # nor the training rows of an early-stopping split (over every
            # process's rows: a shard may be all zero).
            datafit.check_targets(data.Y)
            if not start.incremental:
                datafit.check_targets_sum(data.Y, w_train, reducer or LOCAL,
                                          split=w_val is not None)
        return _Call(data, start, schedule, L2(alpha), datafit, w_train, w_val, train_rows,
                     generator, reducer, space, tasks, coef_factor)

    def _fit_jointly(self, call):
        """Every target at once: squared error's fit, or one epoch of ``partial_fit``."""
        data, start, datafit = call.data, call.start, call.datafit
        precond, stream, optimizer_state, extra = self._change_of_variables(call)
        if datafit is None:
            objective = Objective(data.X, data.Y, call.w_train, precond, call.penalty,
                                  w_val=call.w_val, reducer=call.reducer,
                                  # A private knob: tests make small X take the blocked path.
                                  block_rows=getattr(self, "_block_rows", None))
        else:
            objective = DatafitObjective(data.X, data.Y, call.w_train, precond, call.penalty,
                                         datafit, extra, w_val=call.w_val, reducer=call.reducer)
        theta, gamma = self._initial_variables(objective, start)
        result = train(
            objective, theta, gamma, call.schedule,
            generator=call.generator,
            progress=Progress(self.verbose, call.schedule.max_iter),
            train_rows=call.train_rows,
            optimizer_state=optimizer_state,
            stop_early=not start.incremental,
            callback=call.tasks.iteration_hook(linear_model_snapshot(
                self, precond, theta, gamma, y_ndim=data.y_ndim, space=call.space, start=start,
            )),
        )
        self._set_fitted(precond, theta, gamma, data.y_ndim, result, start, call.space, stream,
                         call.coef_factor)
        if datafit is not None:
            self._set_extra(datafit.extra_values(objective.extra_params), data.y_ndim)
        self._warn_about(result, start)
        call.tasks.end()
        return self

    def _change_of_variables(self, call):
        """``(preconditioner, stream, optimizer state, loss variables)`` of the joint fit.

        ``fit`` builds the preconditioner from the data; ``partial_fit``
        updates the stream's running one with the chunk.
        """
        data, start, datafit = call.data, call.start, call.datafit
        X_t, Y_t = data.X, data.Y
        stream, optimizer_state, extra = None, None, None
        if start.incremental:
            stream = update_stream(
                # Models pickled by 0.1.0 have no stream statistics: start them.
                getattr(self, "_stream", None) if start is Start.RESUME else None,
                X_t, Y_t, data.w, fit_intercept=self.fit_intercept,
            )
            precond = stream.basis.preconditioner(self.fit_intercept, X_t.dtype, X_t.device)
            if datafit is not None:
                extra = datafit.init_extra(self._stream_scale(precond, start))
                precond = stream_preconditioner(precond, datafit, Y_t, data.w, extra)
            # A rebuilt change of variables makes the optimizer's history
            # (steps in the old variables) meaningless.
            if start is Start.RESUME and not stream.rebuilt:
                optimizer_state = self._optimizer_state_for(X_t.device)
            return precond, stream, optimizer_state, extra
        # (fit with another loss goes through _fit_datafit.)
        # On small data above the sketch size, L-BFGS starts at the optimum
        # over every row: from the normal equations (narrow, well-conditioned
        # X) or the sketch's solution refined, and then only certifies it (4
        # iterations fewer on 20,000 x 20); Adam and SGD keep the sketch's.
        # A private knob: tests of L-BFGS's iterations turn both off.
        exact_start = self.solver == "lbfgs" and getattr(self, "_refine_start", True)
        precond = fit_preconditioner(
            X_t, Y_t, call.w_train, alpha=call.penalty.ridge(2),
            fit_intercept=self.fit_intercept,
            # A private knob: tests make small problems take the sketch path.
            sketch_size=getattr(self, "_sketch_rows", None) or sketch_size(X_t.shape[1]),
            generator=call.generator, reducer=call.reducer,
            refine=self.tol if exact_start else None,
            gram=True,
            # A private knob: tests make small problems take the sketch path
            # rather than the normal equations.
            normal_equations=exact_start and getattr(self, "_normal_equations", True),
        )
        return precond, stream, optimizer_state, extra

    def _warn_about(self, result, start):
        warn_about(self, result, start)

    def _fit_datafit(self, call):
        """Fit a loss other than squared error, one target at a time (see :mod:`._newton`)."""
        data, w_train = call.data, call.w_train
        X_t, Y_t = data.X, data.Y
        datafit = make_datafit(self.loss, epsilon=self.epsilon, quantile=self.quantile)
        n_targets = Y_t.shape[1]
        sketch_rows = getattr(self, "_sketch_rows", None) or sketch_size(X_t.shape[1])
        # Targets not reached (yet, in a hook's view, or because a callback
        # asked to stop) hold the null model: the intercept alone.
        coef = torch.zeros(n_targets, X_t.shape[1], dtype=X_t.dtype, device=X_t.device)
        intercept = (datafit.null_raw(Y_t, w_train, call.reducer or LOCAL).to(X_t.dtype)
                     .reshape(-1) if self.fit_intercept
                     else torch.zeros(n_targets, dtype=X_t.dtype, device=X_t.device))
        fits, done = [], TrainResult()
        for t in range(n_targets):
            start, start_scale = self._previous_target(call, t)

            def round_hook(precond, theta, gamma, rounds, t=t):
                before = TrainResult(n_iter=done.n_iter + rounds.n_iter,
                                     loss_curve=done.loss_curve + rounds.loss_curve)
                return call.tasks.iteration_hook(loss_round_snapshot(
                    self, precond, theta, gamma, models=(coef, intercept), target=t,
                    done=before, y_ndim=data.y_ndim, space=call.space))

            # Each target's rounds are reported as one run of iterations.
            progress = RoundsProgress(
                self.verbose, self.max_iter,
                header=f"Loss: mean {datafit.name} loss + penalty, in the loss's units.",
                score_name="D^2" if datafit.name != "callable" else "-loss")
            fit = fit_loss(
                X_t, Y_t[:, t : t + 1], w_train, datafit=datafit, penalty=call.penalty,
                fit_intercept=self.fit_intercept, start=start, sketch_size=sketch_rows,
                generator=call.generator, schedule=call.schedule, progress=progress,
                w_val=call.w_val, train_rows=call.train_rows, reducer=call.reducer,
                round_hook=round_hook, start_scale=start_scale,
            )
            progress.finish(fit.result.n_iter, fit.result.converged, fit.result.interrupted,
                            fit.result.stalled_above_tol)
            fits.append(fit)
            coef[t], intercept[t] = fit.coef[0], fit.intercept[0]
            done.n_iter += fit.result.n_iter
            done.loss_curve += fit.result.loss_curve
            if fit.result.stopped_by_callback:
                break
        self._set_datafit_fits(call, fits, coef, intercept)
        call.tasks.end()
        return self

    def _previous_target(self, call, t):
        """``((coef, intercept), scale)`` of target ``t`` in the previous model, to start from.

        ``(None, None)`` unless the call continues; the scale is None unless
        the previous fit was Huber's (another loss's fit deletes ``scale_``).
        """
        if not call.start.continues:
            return None, None
        X_t = call.data.X
        n_targets = call.data.Y.shape[1]
        previous = to_torch(self.coef_, X_t.device).to(X_t.dtype).reshape(n_targets, -1)
        offset = to_torch(self.intercept_, X_t.device).to(X_t.dtype)
        start = (previous[t : t + 1], offset.expand(n_targets)[t : t + 1].clone())
        scale = (torch.as_tensor(np.atleast_1d(self.scale_)[t : t + 1])
                 if hasattr(self, "scale_") else None)
        return start, scale

    def _set_datafit_fits(self, call, fits, coef, intercept):
        """Fitted attributes and warnings of the targets' fits (``fits`` may stop short)."""
        data, w_train = call.data, call.w_train
        result = _combine([f.result for f in fits])
        if not self.fit_intercept:
            intercept = torch.zeros_like(intercept)
        self._set_fitted_values(coef * call.coef_factor, intercept, data.y_ndim, result,
                                call.start, call.space, None)
        if fits[0].extra:
            scales = [f.extra["scale"].reshape(-1) for f in fits]
            # Targets a callback's stop left unreached: their null model's
            # scale, the root mean square of y about the intercept.
            for t in range(len(fits), data.Y.shape[1]):
                spread = (data.Y[:, t] - intercept[t]) ** 2
                scales.append(torch.sqrt(w_train @ spread / w_train.sum()).reshape(-1))
            self._set_extra({"scale": torch.cat(scales)}, data.y_ndim)
        if any(f.scale_vanished for f in fits):
            warnings.warn(
                "loss='huber': scale_ went to 0: the objective still decreases towards "
                "scale 0, where it has no minimum (epsilon**2 times the share of rows "
                "not fitted exactly is below 1: rows fitted exactly, or epsilon near 1), "
                "and the model stops short of that limit. Fit loss='absolute_error' (the "
                "limit's objective), or a larger epsilon.",
                ConvergenceWarning,
            )
        else:
            # A vanishing scale is why such a fit stops: one warning says so.
            self._warn_about(result, call.start)
        downward = next((f.downward for f in fits if f.downward is not None), None)
        if downward is not None:
            where = downward if isinstance(downward, str) else f"feature {downward}"
            warnings.warn(
                f"The loss callable is not convex at the fitted model: the objective curves "
                f"downward along {where}, so the model is not a minimum (a maximum or a "
                "saddle point, where the gradient also vanishes). A callable loss must be "
                "convex for the fit to reach its minimum.",
                ConvergenceWarning,
            )

    def _set_extra(self, values, y_ndim):
        """Fitted values of a loss's own variables (Huber's ``scale_``)."""
        if "scale" in values:
            scale = values["scale"].reshape(-1)
            self.scale_ = float(scale[0]) if y_ndim == 1 else to_numpy(scale)

    def _stream_scale(self, precond, start):
        """Huber's scale to continue a stream from: the fitted one, else y's spread."""
        if start is Start.RESUME and hasattr(self, "scale_"):
            scale = torch.as_tensor(np.atleast_1d(self.scale_))
            return scale.to(dtype=precond.y_scale.dtype, device=precond.y_scale.device)
        return precond.y_scale.clone()

    def _check_same_shape(self, data, start):
        """Continuing from ``coef_`` needs the features and targets it was fitted on."""
        coef_shape = self.coef_.shape
        n_targets = 1 if len(coef_shape) == 1 else coef_shape[0]
        how = (
            "partial_fit continues from the current model; call fit to start anew."
            if start.incremental
            else "warm_start=True continues from the previous coef_; set "
            "warm_start=False to fit from scratch."
        )
        if data.X.shape[1] != coef_shape[-1]:
            raise ValueError(
                f"X has {data.X.shape[1]} features, but {type(self).__name__} was "
                f"fitted with {coef_shape[-1]} features: {how}"
            )
        if data.Y.shape[1] != n_targets:
            raise ValueError(
                f"y has {data.Y.shape[1]} target(s), but {type(self).__name__} was "
                f"fitted with {n_targets} target(s): {how}"
            )
        link = "log" if self.loss in ("poisson", "gamma") else "identity"
        fitted_link = getattr(self, "_fitted_link", "identity")
        if start.incremental and link != fitted_link:
            # fit's warm start compares the previous model with the default
            # start; a stream would carry log-scale coefficients into an
            # identity-link model (predictions of 1e66), or the reverse.
            raise ValueError(
                f"loss={self.loss!r} has the {link} link, but the current model was "
                f"fitted with the {fitted_link} link (loss changed by set_params): {how}"
            )

    def _split(self, w, start, generator):
        """Weights of the training and validation rows (validation: early stopping)."""
        if not self.early_stopping or start.incremental:
            return w, None, None
        return validation_split(w, self.validation_fraction, generator)

    def _initial_variables(self, objective, start):
        """Where training starts: the previous model, or the sketch's least-squares solution.

        ``partial_fit`` continues from the previous model. A warm start takes
        whichever of the two has the lower objective (one evaluation each):
        after ``set_params(alpha=...)`` or on other rows the previous model
        may be far worse than the sketch's solution, which below the sketch
        size is the exact optimum.
        """
        sketched = self._start_variables(objective.precond, None)
        if not start.continues:
            return tuple(v.requires_grad_(True) for v in sketched)
        previous = self._start_variables(objective.precond, (self.coef_, self.intercept_))
        if start is Start.WARM and objective_value(objective, sketched) < objective_value(
            objective, previous
        ):
            previous = sketched
        return tuple(v.requires_grad_(True) for v in previous)

    def _start_variables(self, precond, model):
        """``(theta, gamma)`` of ``model`` (``(coef, intercept)``), or the sketch's start for None."""
        like = dict(dtype=precond.transform.dtype, device=precond.transform.device)
        n_targets = precond.y_mean.shape[0]
        if model is None:
            theta, gamma = precond.theta0.clone(), torch.zeros(n_targets, **like)
        else:
            coef = to_torch(model[0], like["device"]).to(like["dtype"]).reshape(n_targets, -1)
            intercept = to_torch(model[1], like["device"]).to(like["dtype"])
            theta, gamma = precond.variables(coef, intercept.expand(n_targets).clone())
        if not self.fit_intercept:
            gamma = torch.zeros(n_targets, **like)
        return theta, gamma

    def _optimizer_state_for(self, device):
        saved = getattr(self, "_optimizer_state", None)
        # Another solver's state has other entries (Adam's moments, SGD's
        # velocity): a solver changed with set_params starts afresh. (So does
        # the state of a model pickled by 0.1.0, which did not name its solver.)
        if (not isinstance(saved, dict) or saved.get("solver") != self.solver
                or saved.get("loss", "squared_error") != _loss_key(self.loss)):
            return None
        return tensors_from_numpy(saved["state"], device)

    def _set_fitted(self, precond, theta, gamma, y_ndim, result, start, space, stream,
                    coef_factor=1.0):
        with torch.no_grad():
            coef, intercept = precond.coefficients(theta, gamma)
        if coef_factor != 1.0:
            coef = coef * coef_factor
        self._set_fitted_values(coef, intercept, y_ndim, result, start, space, stream)

    def _set_fitted_values(self, coef, intercept, y_ndim, result, start, space, stream):
        if result.interrupted and result.n_iter == 0:
            raise NothingCompleted
        self._fitted_link = "log" if self.loss in ("poisson", "gamma") else "identity"
        # score's deviance is the fitted loss's, whatever set_params did since.
        self._fitted_log_loss = self.loss if self._fitted_link == "log" else None
        if self.loss != "huber" and hasattr(self, "scale_"):
            del self.scale_  # another loss's scale describes no model now
        if not bool(torch.isfinite(coef).all() and torch.isfinite(intercept).all()):
            raise ValueError(
                f"The fitted coefficients are not finite in {str(coef.dtype)[6:]}: the "
                "data's magnitudes exceed what it can hold; rescale X or y, or pass "
                "float64 data."
            )
        if y_ndim == 1:
            coef, intercept = coef[0], intercept[0]
        # numpy by default: a model trained on a GPU unpickles anywhere.
        self.coef_ = space.put(coef)
        self.intercept_ = space.put(intercept) if self.fit_intercept else 0.0
        record_training(self, result, start)
        if stream is not None:
            self._stream = {"moments": stream.moments.to_dict(), "basis": stream.basis.to_dict()}
            self._optimizer_state = {
                "solver": self.solver, "loss": _loss_key(self.loss),
                "state": tensors_to_numpy(result.optimizer_state),
            }
        else:
            self._stream = None
            self._optimizer_state = None


@dataclass
class _Call:
    """What one call of ``fit`` or ``partial_fit`` trains with, settled before training."""

    data: FitInputs
    start: Start
    schedule: Schedule
    penalty: L2
    datafit: object  # None for squared error
    w_train: torch.Tensor
    w_val: object  # Tensor of the validation rows' weights, or None
    train_rows: object  # Tensor of indices, or None
    generator: torch.Generator
    reducer: object
    space: ArraySpace
    tasks: FitTasks
    # Multiplies the fitted coefficients: the penalty was capped (see scaled_weights).
    coef_factor: float = 1.0


def _combine(results):
    """One result for targets fitted one by one: the mean objective, curves padded by their end."""
    if len(results) == 1:
        return results[0]
    n_iter = max(r.n_iter for r in results)
    curves = [r.loss_curve + r.loss_curve[-1:] * (n_iter - r.n_iter) for r in results]
    combined = TrainResult(
        n_iter=n_iter,
        loss_curve=[sum(values) / len(values) for values in zip(*curves)],
        converged=all(r.converged for r in results),
        interrupted=any(r.interrupted for r in results),
        stopped_by_callback=any(r.stopped_by_callback for r in results),
        stalled_above_tol=any(r.stalled_above_tol for r in results),
    )
    if all(r.validation_scores for r in results):
        scores = [r.validation_scores + r.validation_scores[-1:] * (n_iter - r.n_iter)
                  for r in results]
        combined.validation_scores = [sum(v) / len(v) for v in zip(*scores)]
    return combined


def _loss_key(loss):
    # Another loss has other variables (Huber's scale): its optimizer state
    # does not carry over.
    return "callable" if callable(loss) else loss
