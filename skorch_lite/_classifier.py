"""TorchLinearClassifier: logistic and softmax regression trained on the engine."""


import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.callback import CallbackSupportMixin, with_callbacks
from sklearn.utils._array_api import check_same_namespace
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

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
from ._callbacks import FitTasks, classifier_round_snapshot
from ._class_weight import per_class_weights
from ._devices import fit_threads, resolve_device
from ._engine import TrainResult, train
from ._inputs import ArraySpace, check_tensor_X, device_of, fit_inputs, takes_torch_path, \
    to_numpy, to_torch
from ._logistic import (
    LogLossObjective,
    encode_targets,
    fit_logistic,
    log_probabilities,
    probabilities,
    summing_to_zero,
)
from ._penalty import L2
from ._progress import Progress, RoundsProgress
from ._reduce import LOCAL
from ._separable import warn_if_separable
from ._solvers import stochastic_only
from ._state import tensors_from_numpy, tensors_to_numpy
from ._stream import update_stream


PROGRESS_HEADER = "Loss: log loss + penalty, per unit of sample weight."


class TorchLinearClassifier(ParamNamesOnce, ParamsValidatedOnce, CallbackSupportMixin, ClassifierMixin,
                            BaseEstimator):
    """Logistic (two classes) and softmax (more classes) regression trained by PyTorch.

    Fitting minimizes the weighted, L2-penalized log loss

    .. math::

        \\frac{1}{\\sum_i s_i} \\Big( \\sum_i s_i \\, \\ell(y_i, x_i W^\\top + b)
        + \\alpha \\lVert W \\rVert_F^2 \\Big)

    where ``s`` are the sample weights (times the class weights), ``ℓ`` the
    log loss (cross-entropy) of the predicted probabilities and the intercept
    ``b`` is not penalized. With two classes ``W`` has one row, the
    log-odds of ``classes_[1]`` (the sigmoid model); with more, one row per
    class (the multinomial, softmax model). The minimizer is that of
    :class:`sklearn.linear_model.LogisticRegression` with ``C = 1 / (2 *
    alpha)``: the default ``alpha=0.5`` is its default ``C=1.0``. See
    :doc:`/user_guide/classification`.

    Training runs in the preconditioned variables of the engine: the
    curvature of the log loss at the current model weights the rows of the
    change of variables, refreshed in rounds, so unscaled features reach the
    optimum at the defaults and the stopping rule is relative and free of
    the data's units.

    Parameters
    ----------
    loss : {"log_loss"}, default="log_loss"
        The loss; only the log loss (cross-entropy) is implemented.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalized) intercept.
    alpha : float, default=0.5
        L2 penalty on ``coef_``; ``C = 1 / (2 * alpha)`` of
        :class:`~sklearn.linear_model.LogisticRegression`. With ``alpha=0``
        data whose classes are separable have no finite optimum: the fit
        then ends with a ConvergenceWarning that says so, whatever the
        solver (and so does a fit that does not converge with a tiny
        ``alpha`` on separable classes).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplying ``sample_weight``: a dict
        ``{label: weight}``, or ``"balanced"``, ``n_samples / (n_classes *
        counts)`` with the (weighted) counts of the classes in ``y``, as
        :func:`sklearn.utils.class_weight.compute_class_weight`. Not
        ``"balanced"`` with :meth:`partial_fit` (the counts of a stream are
        not known in advance).
    solver : {"lbfgs", "adam", "sgd"}, default="lbfgs"
        The :mod:`torch.optim` optimizer. ``"lbfgs"`` (full batch) converges
        to the optimum; ``"adam"`` and ``"sgd"`` also train on mini-batches
        and support :meth:`partial_fit`. :meth:`fit` starts them at the
        Newton (IRLS) iterates of the preconditioner, which below 2000 rows
        reach the optimum: training then stops after one iteration.
    learning_rate_init : float, default=0.01
        Step size of ``"adam"`` and ``"sgd"`` in the preconditioned variables.
    momentum : float, default=0.9
        Momentum of ``"sgd"``, in ``[0, 1)``.
    batch_size : int, default=None
        Rows per mini-batch for ``"adam"`` and ``"sgd"``; None is the full batch.
    max_iter : int, default=200
        Maximum iterations (epochs for mini-batches), over all rounds.
    tol : float, default=1e-12
        Relative tolerance: training stops when half the squared gradient in
        the preconditioned variables (an estimate of the objective's excess
        over its minimum) is at most ``tol`` times the objective, at a
        freshly refreshed curvature, and a Newton step gains less. The log
        loss is flat along some directions of nearly separable data: an
        excess of 1e-10 of the objective left coefficients 1e-3 (relative)
        from the optimum on standardized wine at ``alpha=0.05``, 1e-12 at
        most 2e-4; hence the default (each round of Newton steps gains
        digits quickly, so it costs a few iterations).
    n_iter_no_change : int, default=10
        Patience of the no-improvement rule (mini-batches, early stopping).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their
        (weighted) accuracy stops improving, and keep the best model seen.
    validation_fraction : float, default=0.1
        Share of rows held out when ``early_stopping`` is True.
    shuffle : bool, default=True
        Reshuffle rows every epoch of mini-batch training.
    random_state : int, RandomState instance or None, default=None
        Seeds the row sketch, the shuffling and the validation split.
    warm_start : bool, default=False
        Start :meth:`fit` from the previous solution (when its objective is
        not above the default start's). The features and classes must be
        those of the previous fit.
    device : str or torch.device, default="cpu"
        Where to train (``"cpu"``, ``"cuda"``, ``"mps"``, ``"auto"``...).
        Fitted attributes are numpy arrays whatever the device.
    verbose : int, default=0
        1 prints the objective at each iteration, and a summary.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (any sortable labels: strings, integers, booleans).
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        One row for two classes (the log-odds of ``classes_[1]``), one per
        class otherwise; the rows sum to zero over the classes.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``); they sum to zero
        over the classes of a softmax model.
    n_iter_ : int
        Iterations (epochs for mini-batches) run by the last fit.
    loss_curve_ : list of float
        The objective at each iteration.
    validation_scores_ : list of float or None
        Accuracy on the held-out rows at each iteration (``early_stopping``).
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same objective, solved by scipy.
    TorchLinearRegressor : The regressor on the same engine.

    Notes
    -----
    A call to :meth:`fit` or :meth:`partial_fit` that raises leaves every
    fitted attribute as it was. Multilabel or multi-output targets are not
    supported (a ValueError); wrap the estimator in
    :class:`~sklearn.multioutput.MultiOutputClassifier` for them.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skorch_lite import TorchLinearClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = TorchLinearClassifier().fit(X, y)
    >>> clf.coef_.shape
    (3, 4)
    >>> round(clf.score(X, y), 3)
    0.973
    """

    _parameter_constraints = {
        "loss": [StrOptions({"log_loss"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        **TRAINING_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        loss="log_loss",
        fit_intercept=True,
        alpha=0.5,
        class_weight=None,
        solver="lbfgs",
        learning_rate_init=0.01,
        momentum=0.9,
        batch_size=None,
        max_iter=200,
        tol=1e-12,
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
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.class_weight = class_weight
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
        """Fit the model from scratch (or from the previous one with ``warm_start``).

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features)
            Training data. float32 input trains in float32, anything else
            numeric in float64.
        y : array-like of shape (n_samples,)
            Class labels, at least two distinct ones.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; None gives every row weight 1.

        Returns
        -------
        self : TorchLinearClassifier

        Raises
        ------
        ValueError
            For a single class (or a single class of positive weight), NaN
            or continuous labels, multilabel or multi-output ``y``, invalid
            X or weights, or a change of features or classes under
            ``warm_start``. The estimator and the inputs are left as they were.

        Examples
        --------
        >>> from skorch_lite import TorchLinearClassifier
        >>> clf = TorchLinearClassifier().fit([[0.0], [1.0], [2.0], [3.0]], ["a", "a", "b", "b"])
        >>> clf.predict([[0.5], [2.5]])
        array(['a', 'b'], dtype='<U1')
        """
        return self._fit(X, y, sample_weight, False)

    @stochastic_only
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current model.

        Only for ``solver="adam"`` and ``"sgd"``. As for the regressor,
        running means and variances of the columns centre and scale the
        problem, and the optimizer's state carries over between calls.

        Each call minimizes :meth:`fit`'s objective on its chunk, the
        penalty ``alpha ||W||^2`` counted once per call and the objective
        divided by the chunk's total weight: over ``k`` chunks of equal
        total weight the stream approaches :meth:`fit`'s model with ``alpha
        * k`` (:class:`~sklearn.linear_model.LogisticRegression` with ``C =
        1 / (2 * k * alpha)``). Pass ``alpha / k`` to match :meth:`fit` on
        the whole data. See the user guide's "partial_fit and warm_start" page.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every class of the stream; required on the first call, and, if
            given later, equal to ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : TorchLinearClassifier

        Raises
        ------
        ValueError
            When ``classes`` is missing on the first call or differs from
            ``classes_``, when ``y`` holds labels not in ``classes``, or
            with ``class_weight="balanced"``. The estimator is unchanged.

        Examples
        --------
        >>> from skorch_lite import TorchLinearClassifier
        >>> clf = TorchLinearClassifier(solver="sgd", random_state=0)
        >>> clf = clf.partial_fit([[0.0], [1.0]], [0, 1], classes=[0, 1])
        >>> clf = clf.partial_fit([[2.0], [3.0]], [1, 1])
        >>> clf.n_iter_
        2
        """
        return self._fit(X, y, sample_weight, True, classes=classes)

    # ------------------------------------------------------------ predict

    def decision_function(self, X):
        """Raw scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the log-odds of ``classes_[1]`` (1-D).

        Examples
        --------
        >>> from skorch_lite import TorchLinearClassifier
        >>> clf = TorchLinearClassifier().fit([[-1.0], [1.0]], [0, 1])
        >>> clf.decision_function([[-1.0], [1.0]]).round(4)
        array([-0.6748,  0.6748])
        """
        raw, space = self._raw(X, "decision_function")
        return space.put(raw[:, 0] if raw.shape[1] == 1 else raw)

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.

        Examples
        --------
        >>> from skorch_lite import TorchLinearClassifier
        >>> clf = TorchLinearClassifier().fit([[-1.0], [1.0]], [0, 1])
        >>> clf.predict_proba([[0.0]])
        array([[0.5, 0.5]])
        """
        raw, space = self._raw(X, "predict_proba")
        return space.put(probabilities(raw, raw.shape[1] == 1))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably (no ``log(0)``).

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)

        Examples
        --------
        >>> from skorch_lite import TorchLinearClassifier
        >>> clf = TorchLinearClassifier().fit([[-1.0], [1.0]], [0, 1])
        >>> clf.predict_log_proba([[0.0]]).round(4)
        array([[-0.6931, -0.6931]])
        """
        raw, space = self._raw(X, "predict_log_proba")
        return space.put(log_probabilities(raw, raw.shape[1] == 1))

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Labels from ``classes_``: a numpy array, or, under
            ``sklearn.set_config(array_api_dispatch=True)`` with numeric
            labels, an array of X's namespace on X's device.

        Examples
        --------
        >>> from skorch_lite import TorchLinearClassifier
        >>> clf = TorchLinearClassifier().fit([[-1.0], [1.0]], ["no", "yes"])
        >>> clf.predict([[-3.0], [3.0]])
        array(['no', 'yes'], dtype='<U3')
        """
        raw, space = self._raw(X, "predict")
        index = (raw[:, 0] > 0).long() if raw.shape[1] == 1 else raw.argmax(1)
        if space.xp is not None and self.classes_.dtype.kind in "biuf":
            # Under array-API dispatch numeric labels follow X's namespace and device.
            return space.put(torch.as_tensor(self.classes_, device=index.device)[index])
        return self.classes_[index.cpu().numpy()]

    def score(self, X, y, sample_weight=None):
        """Accuracy of :meth:`predict` (weighted by ``sample_weight``).

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features)
        y : array-like or tensor of shape (n_samples,)
        sample_weight : array-like or tensor of shape (n_samples,), default=None

        Returns
        -------
        score : float

        Examples
        --------
        >>> from skorch_lite import TorchLinearClassifier
        >>> X, y = [[-1.0], [1.0]], [0, 1]
        >>> TorchLinearClassifier().fit(X, y).score(X, y)
        1.0
        """
        return super().score(X, to_numpy(y), to_numpy(sample_weight))

    def _raw(self, X, method):
        """Raw predictions as a tensor (on X's device for a tensor X), and X's space."""
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="coef_", method=method)
        space = ArraySpace.of(X)
        if takes_torch_path(X):
            X = check_tensor_X(self, to_torch(X, device_of(X)), reset=False)
        else:
            X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                              accept_sparse=("csr", "csc", "coo"))
            raw = X @ self.coef_.T.astype(X.dtype, copy=False) + self.intercept_
            return torch.from_numpy(np.asarray(raw)), space
        coef = to_torch(self.coef_, X.device).to(X.dtype)
        intercept = to_torch(self.intercept_, X.device).to(X.dtype)
        return X @ coef.T + intercept, space

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = False
        tags.array_api_support = True
        return tags

    # ---------------------------------------------------------------- fit

    # with_callbacks tears the callbacks down also when _fit is called
    # directly (skorch_lite.distributed.fit), not through fit's _fit_context.
    @with_callbacks
    def _fit(self, X, y, sample_weight, incremental, reducer=None, classes=None):
        # reducer: skorch_lite.distributed.fit's, whose processes each hold a
        # shard of the rows (full batch). Whatever fails, the estimator is
        # left as it was.
        return atomic_fit(self, self._fit_unguarded, X, y, sample_weight, incremental,
                          reducer, classes)

    def _fit_unguarded(self, X, y, sample_weight, incremental, reducer, classes):
        start = decide_start(self, incremental)
        labels, codes, class_list = self._labels(y, classes, start, reducer)
        data = fit_inputs(
            self, X, codes, sample_weight, reset=start is not Start.RESUME,
            resolve_device=lambda where: resolve_device(self.device, data_device=where),
        )
        w, class_factors = self._class_weighted(data.w, labels, class_list, start, reducer)
        n_classes = len(class_list)
        if start.continues:
            self._check_continues(data.X.shape[1], class_list, start)
        target = encode_targets(data.Y[:, 0].round().long(), n_classes, data.X.dtype)
        schedule = training_schedule(self, start)
        # One task per iteration, as the regressor's: each round of the fit
        # hands the hooks its own variables (see classifier_round_snapshot).
        tasks = FitTasks(self, X, y, sample_weight, max_iter=schedule.max_iter)
        space = ArraySpace.of(X)
        with fit_threads(data.X):
            generator = fit_generator(self.random_state)
            # The class weights multiply the sample weights scaled to at most
            # 1: times subnormal ones (1e-320) they kept 5 digits.
            weights, alpha, factor = scaled_weights(
                data.w, self.alpha, reducer, None if start.incremental else data.X,
                row_factors=class_factors)
            penalty = L2(alpha)
            watch = dict(tasks=tasks, classes=class_list, space=space)
            if start.incremental:
                coef, intercept, result, stream = self._stream_epoch(
                    data.X, target, weights, data.w, penalty, n_classes, start, schedule,
                    generator, watch)
            else:
                coef, intercept, result = self._fit_all(
                    data.X, target, weights, penalty, n_classes, start, schedule, generator,
                    reducer, watch)
                stream = None
        self._set_fitted(coef * factor, intercept, result, start, class_list, space, stream)
        if start.incremental or not warn_if_separable(self, result, data.X, target, w, reducer):
            warn_about(self, result, start)
        tasks.end()
        return self

    def _shard_targets(self, y):
        """Class indices of one shard's checked labels (for distributed.fit's checks)."""
        return np.unique(self._checked_labels(y), return_inverse=True)[1].astype(np.float64)

    def _checked_labels(self, y):
        """``y`` as a 1-D numpy array of labels; clear errors for labels of no class."""
        y = to_numpy(y)
        if hasattr(y, "shape") and len(getattr(y, "shape", ())) == 2 and y.shape[1] > 1:
            raise ValueError(
                f"{type(self).__name__} takes one label per row; y has shape {y.shape} "
                f"({type_of_target(y)}). Multilabel and multi-output targets are not "
                "supported: wrap it in sklearn.multioutput.MultiOutputClassifier."
            )
        y = column_or_1d(y, warn=True)
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        if y.dtype.kind == "O" and any(v is None or v != v for v in y):
            raise ValueError("Input y contains NaN or None labels.")
        check_classification_targets(y)
        return y

    def _labels(self, y, classes, start, reducer=None):
        """``(labels, class indices as float, classes)``; clear errors for bad labels."""
        y = self._checked_labels(y)
        resume = start is Start.RESUME
        if start.incremental:
            if classes is None and not resume:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit (every "
                    "label of the stream; later chunks may lack some)."
                )
            if classes is not None:
                classes = np.unique(column_or_1d(to_numpy(classes)))
                if resume and not np.array_equal(classes, self.classes_):
                    raise ValueError(
                        f"classes={classes.tolist()} differs from classes_="
                        f"{self.classes_.tolist()} of the previous calls to partial_fit."
                    )
            class_list = self.classes_ if resume else classes
            unseen = np.setdiff1d(np.unique(y), class_list)
            if unseen.size:
                raise ValueError(
                    f"y holds labels {unseen.tolist()} that are not in classes="
                    f"{class_list.tolist()}; pass every label of the stream to the first "
                    "call of partial_fit."
                )
        elif reducer is None:
            class_list = np.unique(y)
        else:
            # Every shard's labels: a shard may lack some classes.
            class_list = np.unique(np.concatenate(reducer.gather_objects(np.unique(y))))
        if len(class_list) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, "
                f"but the data contains only one class: {class_list.tolist()}."
            )
        return y, np.searchsorted(class_list, y).astype(np.float64), class_list

    def _class_weighted(self, w, labels, class_list, start, reducer=None):
        """``(sample weights times class weights, each row's class weight or None)``.

        At least two classes must have positive weight.
        """
        incremental = start.incremental
        if not incremental:
            self._check_two_classes(w, labels, class_list, reducer)
        if self.class_weight is None:
            return w, None
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit (as in "
                "SGDClassifier): a stream's class counts are not known in advance. "
                "Estimate them from a large enough sample of the targets, "
                "weights = compute_class_weight('balanced', classes=classes, y=y_sample) "
                "(sklearn.utils.class_weight), and pass "
                "class_weight=dict(zip(classes, weights))."
            )
        codes = torch.as_tensor(np.searchsorted(class_list, labels), device=w.device)
        all_codes, all_w = (codes, w) if reducer is None else (reducer.cat(codes), reducer.cat(w))
        all_codes = all_codes.cpu().numpy()
        # The classes present (in every shard's rows), as compute_class_weight wants.
        per_class = per_class_weights(self.class_weight, class_list, np.unique(all_codes),
                                      class_list[all_codes], all_w.cpu().numpy())
        factors = torch.as_tensor(per_class, dtype=w.dtype, device=w.device)[codes]
        w = w * factors
        if not bool(torch.isfinite((reducer or LOCAL).cat(w.max().reshape(1))).all()):
            raise ValueError(
                f"class_weight={self.class_weight!r} times sample_weight overflows "
                f"{str(w.dtype)[6:]}; scale the class weights or sample_weight down (only "
                "their ratios matter, with alpha scaled alike)."
            )
        if not incremental:
            self._check_two_classes(w, labels, class_list, reducer)
        return w, factors

    def _check_two_classes(self, w, labels, class_list, reducer):
        codes = torch.as_tensor(np.searchsorted(class_list, labels), device=w.device)
        totals = torch.zeros(len(class_list), dtype=w.dtype, device=w.device).index_add_(
            0, codes, w)
        positive = ((reducer or LOCAL).sum(totals) > 0).cpu().numpy()
        if positive.sum() < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes with positive "
                f"sample_weight, got {int(positive.sum())} class "
                f"({class_list[positive].tolist()})."
            )

    def _check_continues(self, n_features, class_list, start):
        how = ("partial_fit continues from the current model; call fit to start anew."
               if start.incremental else "warm_start=True continues from the previous coef_; "
               "set warm_start=False to fit from scratch.")
        if n_features != self.coef_.shape[1]:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} was fitted "
                f"with {self.coef_.shape[1]} features: {how}"
            )
        if not np.array_equal(class_list, self.classes_):
            raise ValueError(
                f"y has classes {class_list.tolist()}, but {type(self).__name__} was "
                f"fitted with classes {self.classes_.tolist()}: {how}"
            )

    def _previous(self, like):
        coef = to_torch(self.coef_, like.device).to(like.dtype)
        intercept = to_torch(self.intercept_, like.device).to(like.dtype)
        return coef, intercept.expand(coef.shape[0]).clone()

    def _fit_all(self, X, target, w, penalty, n_classes, start, schedule, generator, reducer,
                 watch):
        w_train, w_val, train_rows = w, None, None
        if self.early_stopping:
            w_train, w_val, train_rows = validation_split(w, self.validation_fraction, generator)
        # The rounds' iterations are reported as one run, as n_iter_ counts them.
        progress = self._progress(schedule.max_iter, RoundsProgress)

        def round_hook(precond, theta, gamma, done):
            return watch["tasks"].iteration_hook(classifier_round_snapshot(
                self, precond, theta, gamma, classes=watch["classes"], done=done,
                space=watch["space"]))

        fit = fit_logistic(
            X, target, w_train, n_classes=n_classes, penalty=penalty,
            fit_intercept=self.fit_intercept,
            start=self._previous(X) if start.continues else None,
            sketch_size=getattr(self, "_sketch_rows", None) or sketch_size(X.shape[1]),
            generator=generator, schedule=schedule, progress=progress, w_val=w_val,
            train_rows=train_rows, reducer=reducer, round_hook=round_hook,
        )
        result = fit.result
        progress.finish(result.n_iter, result.converged, result.interrupted,
                        result.stalled_above_tol)
        return fit.coef, fit.intercept, result

    def _progress(self, max_iter, kind=Progress):
        return kind(self.verbose, max_iter, header=PROGRESS_HEADER, score_name="accuracy")

    def _stream_epoch(self, X, target, w, w_caller, penalty, n_classes, start, schedule,
                      generator, watch):
        """One epoch of ``partial_fit`` in the stream's running change of variables."""
        resume = start is Start.RESUME
        width = 1 if n_classes == 2 else n_classes
        zeros = torch.zeros(X.shape[0], width, dtype=X.dtype, device=X.device)
        stream = update_stream(getattr(self, "_stream", None) if resume else None,
                               X, zeros, w_caller, fit_intercept=self.fit_intercept)
        precond = stream.basis.preconditioner(self.fit_intercept, X.dtype, X.device)
        # The log loss's curvature at the uniform prediction, p (1 - p) with
        # p = 1 / n_classes, plays the part of the standardized targets' 1.
        p = 1.0 / n_classes
        scale = (2.0 / (width * p * (1 - p))) ** 0.5
        precond.y_mean = torch.zeros(width, dtype=X.dtype, device=X.device)
        precond.y_scale = torch.full((width,), scale, dtype=X.dtype, device=X.device)
        optimizer_state = None
        if resume:
            theta, gamma = precond.variables(*self._previous(X))
            if not stream.rebuilt:
                saved = self._optimizer_state
                if saved.get("solver") == self.solver:
                    optimizer_state = tensors_from_numpy(saved["state"], X.device)
        else:
            theta = torch.zeros(X.shape[1], width, dtype=X.dtype, device=X.device)
            gamma = torch.zeros(width, dtype=X.dtype, device=X.device)
        if not self.fit_intercept:
            gamma = torch.zeros_like(gamma)
        theta, gamma = theta.requires_grad_(True), gamma.requires_grad_(True)
        objective = LogLossObjective(X, target, w, precond, penalty, n_classes == 2)
        done = (TrainResult(n_iter=self.n_iter_, loss_curve=list(self.loss_curve_)) if resume
                else TrainResult())
        snapshot = classifier_round_snapshot(self, precond, theta, gamma, classes=watch["classes"],
                                             done=done, space=watch["space"], incremental=True)
        result = train(objective, theta, gamma, schedule, generator=generator,
                       progress=self._progress(schedule.max_iter),
                       optimizer_state=optimizer_state, stop_early=False,
                       callback=watch["tasks"].iteration_hook(snapshot))
        with torch.no_grad():
            coef, intercept = precond.coefficients(theta, gamma)
        return coef, intercept, result, stream

    def _set_fitted(self, coef, intercept, result, start, class_list, space, stream):
        if result.interrupted and result.n_iter == 0:
            raise NothingCompleted
        if not bool(torch.isfinite(coef).all() and torch.isfinite(intercept).all()):
            raise ValueError(
                f"The fitted coefficients are not finite in {str(coef.dtype)[6:]}; rescale "
                "X, raise alpha, or pass float64 data."
            )
        # Of the equal softmax models, the one summing to zero over the
        # classes (see skorch_lite._logistic).
        coef, intercept = summing_to_zero(coef, intercept)
        self.classes_ = class_list
        self.coef_ = space.put(coef)
        self.intercept_ = space.put(intercept if self.fit_intercept else torch.zeros_like(intercept))
        record_training(self, result, start)
        if stream is not None:
            self._stream = {"moments": stream.moments.to_dict(), "basis": stream.basis.to_dict()}
            self._optimizer_state = {"solver": self.solver,
                                     "state": tensors_to_numpy(result.optimizer_state)}
        else:
            self._stream = None
            self._optimizer_state = None
