"""Plot a fit's history: the objective per iteration and the validation score."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted


class LossCurveDisplay:
    """The objective per iteration of a fit, with the validation R^2 if any.

    Build it with :meth:`from_estimator`; the constructor only stores the
    numbers. Like scikit-learn's displays (e.g.
    :class:`~sklearn.metrics.PredictionErrorDisplay`), :meth:`plot` draws
    on an Axes and keeps what it drew in the ``*_`` attributes.

    Parameters
    ----------
    loss_curve : list of float
        The objective (mean squared error plus penalty, in squared units of
        y) after each iteration, as in ``loss_curve_``.
    validation_scores : list of float, default=None
        R^2 on the held-out rows after each iteration (``early_stopping``).
    estimator_name : str, default=None
        Used in the title.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The objective.
    validation_line_ : matplotlib Line2D or None
        The validation R^2, on a second y-axis; None without early stopping.
    ax_ : matplotlib Axes
        The axes of the objective.
    validation_ax_ : matplotlib Axes or None
        The twin axes of the validation R^2.
    figure_ : matplotlib Figure

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against training-set size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from skorch_lite import LossCurveDisplay, TorchLinearRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = TorchLinearRegressor(solver="adam", early_stopping=True,
    ...                            max_iter=300, random_state=0).fit(X, y)
    >>> display = LossCurveDisplay.from_estimator(reg)
    >>> len(display.line_.get_ydata()) == reg.n_iter_
    True
    >>> display.validation_line_ is not None
    True

    The objective here falls from the variance of y to about half of it,
    less than a factor of ten, so the scale stays linear:

    >>> display.ax_.get_yscale()
    'linear'
    """

    def __init__(self, *, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, log_scale="auto"):
        """Plot the loss curve of a fitted estimator.

        Parameters
        ----------
        estimator : fitted estimator with ``loss_curve_``
            Such as :class:`~skorch_lite.TorchLinearRegressor`;
            ``validation_scores_`` is drawn too when it is not None.
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        log_scale : bool or "auto", default="auto"
            Log scale for the objective; "auto" uses it when the curve
            spans more than a factor of ten, where a linear scale would
            flatten everything after the first iterations.

        Returns
        -------
        display : LossCurveDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skorch_lite import LossCurveDisplay
        >>> from skorch_lite import TorchLinearRegressor
        >>> reg = TorchLinearRegressor().fit([[0.0], [1.0], [2.0]], [0, 1, 2.5])
        >>> display = LossCurveDisplay.from_estimator(reg)
        >>> display.line_.get_marker()  # few points: drawn as markers
        'o'
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator, "loss_curve_")
        display = cls(
            loss_curve=estimator.loss_curve_,
            validation_scores=getattr(estimator, "validation_scores_", None),
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, log_scale=log_scale)

    def plot(self, ax=None, *, log_scale="auto"):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        log_scale : bool or "auto", default="auto"
            As in :meth:`from_estimator`.

        Returns
        -------
        display : LossCurveDisplay
            This display, with ``line_``, ``ax_`` and ``figure_`` set.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skorch_lite import LossCurveDisplay
        >>> display = LossCurveDisplay(loss_curve=[5.0, 2.0, 1.9]).plot()
        >>> display.ax_.get_yscale(), display.validation_ax_ is None
        ('linear', True)
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            _, ax = plt.subplots()
        loss = np.asarray(self.loss_curve, dtype=float)
        iterations = np.arange(1, len(loss) + 1)
        # A few points (L-BFGS often needs one or two) vanish without markers.
        marker = "o" if len(loss) <= 30 else None
        (self.line_,) = ax.plot(iterations, loss, marker=marker, color="C0",
                                label="objective (training rows)")
        if _use_log(loss, log_scale):
            ax.set_yscale("log")
        ax.set_xlabel("iteration (epoch with mini-batches)")
        ax.set_ylabel("mean squared error + penalty (units of y²)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        lines = [self.line_]

        self.validation_ax_ = self.validation_line_ = None
        if self.validation_scores is not None:
            self.validation_ax_ = ax.twinx()
            (self.validation_line_,) = self.validation_ax_.plot(
                iterations, self.validation_scores, marker=marker, color="C1",
                linestyle="--", label="validation R²",
            )
            self.validation_ax_.set_ylabel("validation R²")
            lines.append(self.validation_line_)

        if self.estimator_name:
            ax.set_title(f"{self.estimator_name}: {len(loss)} iteration(s)")
        ax.legend(lines, [line.get_label() for line in lines], loc="best")
        self.ax_, self.figure_ = ax, ax.figure
        return self


def _use_log(loss, log_scale):
    if log_scale != "auto":
        return bool(log_scale)
    positive = loss[np.isfinite(loss) & (loss > 0)]
    return len(positive) == len(loss) > 1 and positive.max() > 10 * positive.min()
