"""What every estimator of the package shares: parameters, atomic fits, weights, splits."""

import collections
import enum
import functools
import math
import threading
import warnings
import weakref
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._engine import Schedule
from ._reduce import LOCAL
from ._solvers import SOLVERS
from ._state import fitted_state, restore_fitted


class FitInterruptedWarning(UserWarning):
    """Training was interrupted (KeyboardInterrupt) and kept the best model it had reached.

    The estimator is fitted and consistent; the warning's message gives the
    number of iterations this call completed. An interrupt before the first
    iteration completed leaves the estimator exactly as it was before the
    call (unfitted if it was). Turn the warning into an error with
    :func:`warnings.simplefilter` to stop a script instead.
    """


class ParamNamesOnce:
    """Read each constructor's parameter names once, not at every ``get_params``.

    scikit-learn's ``BaseEstimator._get_param_names`` inspects the
    signature of ``__init__`` on every call, and every ``fit`` (parameter
    validation), ``clone`` and ``repr`` calls it: 36 of the 79 us of a
    diabetes fit's parameter validation. The names are remembered per
    ``__init__`` function, so a subclass with its own constructor gets its
    own, and a constructor replaced at run time is read again.
    """

    _names_by_init = weakref.WeakKeyDictionary()

    @classmethod
    def _get_param_names(cls):
        init = cls.__init__
        names = ParamNamesOnce._names_by_init.get(init)
        if names is None:
            names = ParamNamesOnce._names_by_init[init] = tuple(super()._get_param_names())
        return list(names)


class ParamsValidatedOnce:
    """Validate parameters against ``_parameter_constraints`` once per set of values.

    scikit-learn validates every parameter at every ``fit`` (80 us of a
    1.2 ms diabetes fit; every clone of a search pays it again). The sets
    of values last found valid are remembered, per estimator class and
    constraints: a fit with a remembered set skips the check, and any other
    value (``set_params``, an attribute assigned directly) is checked.
    Numbers, strings and None count as the same by type and value; any
    other object (a callable loss, a ``RandomState``, a ``class_weight``
    dict) only if it is the very same object, whose validity by type cannot
    change in place (the cache holds it, so its ``id`` is not reused).
    """

    def _validate_params(self):
        params = self.get_params(deep=False)
        constraints = type(self)._parameter_constraints
        key = (type(self), id(constraints),
               *((name, type(value), value if type(value) in _BY_VALUE else id(value))
                 for name, value in params.items()))
        with _VALID_LOCK:
            if key in _VALID:
                _VALID.move_to_end(key)
                return
        super()._validate_params()
        with _VALID_LOCK:
            # The value holds the objects whose ids are in the key.
            _VALID[key] = (constraints, params)
            if len(_VALID) > 256:
                _VALID.popitem(last=False)


# Exactly these types (not subclasses, whose equality may be anything).
_BY_VALUE = frozenset({type(None), bool, int, float, str, np.bool_, np.int32, np.int64,
                       np.float32, np.float64, np.str_})
_VALID = collections.OrderedDict()
_VALID_LOCK = threading.Lock()


class NothingCompleted(Exception):
    """Raised inside a fit interrupted before an iteration completed (see :func:`atomic_fit`)."""


# The training parameters of every estimator (each adds its loss's own).
TRAINING_CONSTRAINTS = {
    "fit_intercept": ["boolean"],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "solver": [StrOptions(set(SOLVERS))],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "warm_start": ["boolean"],
    "device": [str, torch.device],
    "verbose": ["verbose"],
}


class Start(enum.Enum):
    """How a call of ``fit`` or ``partial_fit`` begins: decided once, by :func:`decide_start`."""

    #: ``fit`` from the default start (the sketch's solution, or the null model).
    FRESH = "fresh"
    #: ``fit`` with ``warm_start=True`` on a fitted model: from the previous
    #: model, or the default start where that is lower.
    WARM = "warm"
    #: The first call of ``partial_fit``: a new stream.
    STREAM = "stream"
    #: ``partial_fit`` on a fitted model: the stream goes on, and ``n_iter_``
    #: and ``loss_curve_`` extend.
    RESUME = "resume"

    @property
    def incremental(self):
        """``partial_fit``: one epoch, in the stream's running change of variables."""
        return self in (Start.STREAM, Start.RESUME)

    @property
    def continues(self):
        """Training starts from the previous model, so the data must match its shape."""
        return self in (Start.WARM, Start.RESUME)


def decide_start(estimator, incremental):
    """The :class:`Start` of a call of ``fit`` (``incremental=False``) or ``partial_fit``."""
    fitted = hasattr(estimator, "coef_")
    if incremental:
        return Start.RESUME if fitted else Start.STREAM
    return Start.WARM if estimator.warm_start and fitted else Start.FRESH


def training_schedule(estimator, start):
    """The :class:`._engine.Schedule` of ``estimator``'s parameters for a call that begins at ``start``.

    ``partial_fit`` trains one epoch, whatever ``max_iter``.
    """
    return Schedule(
        solver=estimator.solver,
        learning_rate_init=estimator.learning_rate_init,
        momentum=estimator.momentum,
        batch_size=estimator.batch_size,
        max_iter=1 if start.incremental else estimator.max_iter,
        tol=estimator.tol,
        n_iter_no_change=estimator.n_iter_no_change,
        shuffle=estimator.shuffle,
    )


def fit_generator(random_state):
    """The torch generator of a fit (sketch signs, splits, shuffles), seeded from ``random_state``.

    The seed is the first ``randint`` of :func:`sklearn.utils.check_random_state`,
    so that a seeded estimator fits the same way every time; for an integer
    it is computed once per value: seeding numpy's Mersenne Twister cost 0.1
    ms, a twelfth of a diabetes fit (every fit of a grid search with a fixed
    ``random_state``).
    """
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        seed = _seed_of(int(random_state))
    else:
        seed = _first_draw(check_random_state(random_state))
    return torch.Generator().manual_seed(seed)


@functools.lru_cache(maxsize=1024)
def _seed_of(random_state):
    return _first_draw(check_random_state(random_state))


def _first_draw(rng):
    return int(rng.randint(np.iinfo(np.int32).max))


def atomic_fit(estimator, fit, *args):
    """Run ``fit(*args)``; whatever it raises, ``estimator`` is left exactly as it was.

    An interrupt before an iteration completed (:class:`NothingCompleted`)
    also leaves it unchanged, with a :class:`FitInterruptedWarning`.
    """
    saved = fitted_state(estimator)
    try:
        # Called under torch.inference_mode, the engine's variables would be
        # inference tensors: no version counters, no gradient (the training
        # is the fit's own business, as under torch.no_grad).
        with torch.inference_mode(False):
            return fit(*args)
    except NothingCompleted:
        restore_fitted(estimator, saved)
        warnings.warn(
            f"{type(estimator).__name__} was interrupted (KeyboardInterrupt) before "
            "completing an iteration: nothing was completed, and the estimator "
            "is unchanged.",
            FitInterruptedWarning,
        )
        return estimator
    except BaseException:
        restore_fitted(estimator, saved)
        raise


def sketch_size(n_features):
    """Rows of the CountSketch of the preconditioner (see _precondition.sketch_rows).

    50 rows per feature keep the sketched Hessian within ~15% of the true
    one, so L-BFGS needs 2-3 iterations (measured on 1M x 100: 4 at 20 rows
    per feature, 3 at 50, 2 at 100), within 4M float64 values (32 MB) so
    the sketch stays small beside X. Below 2000 rows the "sketch" is the
    whole data set.
    """
    return max(2000, min(50 * n_features, (1 << 22) // n_features))


# The largest penalty, in units of the largest sample weight, that a fit
# trains with: the preconditioners divide it again by the largest curvature
# weight (down to ~1e-4 of the largest sample weight), which overflowed
# float64 from ~1e307 (uniform weights of 1e-308 with alpha=0.5).
PENALTY_CAP = 1e300


def scaled_weights(weights, alpha, reducer, X=None, row_factors=None):
    """``weights`` and ``alpha`` divided by the largest weight (of every process), and a factor.

    Where ``alpha`` is more than :data:`PENALTY_CAP` times the largest
    weight (tiny weights: 1e-320 made ``alpha / largest`` infinite), the
    penalty dominates the data's curvature by far more than float64
    resolves, and the optimum's coefficients are ``-g / (2 alpha)`` to
    rounding, ``g`` the data's gradient at zero coefficients: proportional
    to ``1 / alpha``. ``fit`` then trains with ``PENALTY_CAP`` and
    multiplies the coefficients by the returned factor, ``PENALTY_CAP``
    over the scaled ``alpha`` (1 otherwise); the intercepts move by less
    than their rounding. ``X`` (needed then) bounds the data's curvature,
    ``sum_i w_i |x_i|^2 <= n p max|X|^2``, which must stay below
    ``PENALTY_CAP`` by ``eps**2`` (room for a loss's own curvature): else a
    ValueError. Without ``X`` (``partial_fit``, whose epochs continue from
    the previous model) nothing is capped. ``row_factors`` (each row's
    class weight) multiply the weights once scaled, and the product is
    scaled again: times subnormal weights (1e-320) they kept 5 digits.
    """
    reducer = reducer or LOCAL
    largest = float(weights.max() if reducer.world_size == 1
                    else reducer.cat(weights.max().reshape(1)).max())
    scaled = weights if largest == 1 else weights / largest
    if row_factors is not None:
        scaled = scaled * row_factors
        second = float((reducer or LOCAL).cat(scaled.max().reshape(1)).max())
        scaled, largest = scaled / second, largest * second
    # Compared without dividing: alpha / largest overflows for subnormal weights.
    if X is None or alpha <= PENALTY_CAP * largest:
        return scaled, alpha / largest, 1.0
    values = X.values() if X.layout != torch.strided else X
    top = float((reducer or LOCAL).cat(values.abs().max().reshape(1).double()).max())
    n_values = float((reducer or LOCAL).sum(scaled.new_tensor([float(X.shape[0])])))
    n_values *= X.shape[1]
    eps = torch.finfo(torch.float64).eps
    if math.log(max(top, 1e-300)) * 2 + math.log(n_values) > math.log(PENALTY_CAP * eps**2):
        raise ValueError(
            f"alpha={alpha} is {alpha / largest if largest else math.inf:.3g} times the "
            "largest sample_weight, on X of values up to "
            f"{top:.3g}: float64 cannot hold the ratio of the penalty to the data's "
            "curvature. Rescale X (e.g. StandardScaler) or raise sample_weight (only "
            "its ratio to alpha matters)."
        )
    return scaled, PENALTY_CAP, PENALTY_CAP * largest / alpha


def validation_split(w, validation_fraction, generator):
    """Weights of the training and validation rows, and the training rows' indices.

    ``ceil(validation_fraction * n_samples)`` rows, drawn with ``generator``,
    are held out.
    """
    n_samples = w.shape[0]
    n_val = math.ceil(validation_fraction * n_samples)
    if n_val >= n_samples:
        raise ValueError(
            f"early_stopping with validation_fraction={validation_fraction} "
            f"leaves no training rows out of {n_samples}; lower "
            "validation_fraction or set early_stopping=False."
        )
    order = torch.randperm(n_samples, generator=generator)
    val_mask = torch.zeros(n_samples, dtype=torch.bool)
    val_mask[order[:n_val]] = True
    val_mask = val_mask.to(w.device)
    w_val = torch.where(val_mask, w, torch.zeros_like(w))
    w_train = w - w_val
    if not (w_val.sum() > 0 and w_train.sum() > 0):
        raise ValueError(
            "early_stopping needs positive sample_weight on both the training "
            "and the validation rows; set early_stopping=False."
        )
    return w_train, w_val, torch.sort(order[n_val:]).values


def record_training(estimator, result, start):
    """``n_iter_``, ``loss_curve_`` and the validation scores of a finished call.

    ``Start.RESUME`` (a call of ``partial_fit`` on a fitted model) extends
    the counts and the curve instead of replacing them.
    """
    if start is Start.RESUME:
        estimator.n_iter_ += result.n_iter
        estimator.loss_curve_ = estimator.loss_curve_ + result.loss_curve
    else:
        estimator.n_iter_ = result.n_iter
        estimator.loss_curve_ = result.loss_curve
    scores = result.validation_scores
    estimator.validation_scores_ = scores if scores else None
    estimator.best_validation_score_ = max(scores) if scores else None


def warn_about(estimator, result, start):
    """The warnings of a finished fit: interrupted, stalled, or stopped at ``max_iter``.

    ``partial_fit`` (``start.incremental``) runs one epoch by design: only
    an interrupt warns.
    """
    name = type(estimator).__name__
    incremental = start.incremental
    if result.interrupted:
        warnings.warn(
            f"{name} was interrupted (KeyboardInterrupt) after "
            f"{result.n_iter} completed iteration(s) of this call; the fitted "
            "model is the best reached by then (fit compares the start and every "
            "completed iteration).",
            FitInterruptedWarning,
        )
    elif not incremental and result.stalled_above_tol and estimator.solver != "lbfgs":
        # Only mini-batch training stalls with Adam and SGD (see train).
        above = ("still above its minimum by more than" if result.excess is None else
                 f"an estimated {result.excess:.2g} (relative) above its minimum, more than")
        warnings.warn(
            f"{name} stopped at iteration {result.n_iter} at the noise "
            f"floor of mini-batch training: with a constant step (learning_rate_init="
            f"{estimator.learning_rate_init}) in batches of {estimator.batch_size} rows the "
            f"epochs stopped improving with the kept model's objective {above} "
            f"tol={estimator.tol}. Lower learning_rate_init, raise batch_size, or train "
            "on the full batch (batch_size=None).",
            ConvergenceWarning,
        )
    elif not incremental and result.stalled_above_tol:
        warnings.warn(
            f"{name} stopped at iteration {result.n_iter} before "
            f"converging (tol={estimator.tol}): the objective stopped decreasing while "
            "its gradient was still above the stopping rule's bound. The data may "
            "be too badly scaled for the preconditioner (e.g. sample_weight "
            "spanning many orders of magnitude, or float32 data near its "
            "precision); try float64 data or a larger tol.",
            ConvergenceWarning,
        )
    elif not (incremental or result.converged or result.stopped_by_callback):
        warnings.warn(
            f"{name} stopped at max_iter={estimator.max_iter} before "
            f"converging (tol={estimator.tol}); increase max_iter.{_rose(estimator, result)}",
            ConvergenceWarning,
        )


def _rose(estimator, result):
    """What to add when Adam's or SGD's objective rose from its lowest value by the end.

    They keep the best model seen (see :func:`._engine.train`), so the
    model is not the last iterate, and more iterations of the same step
    may not help.
    """
    curve = result.loss_curve
    if estimator.solver == "lbfgs" or not curve:
        return ""
    lowest = min(curve)
    # Adam's first steps, of length learning_rate_init whatever the
    # gradient, wander by a few percent: only a doubling is worth a word.
    if not curve[-1] > 2 * lowest + estimator.tol * abs(lowest):
        return ""
    return (
        f" The objective rose from {lowest:.3g} (iteration {curve.index(lowest) + 1}) to "
        f"{curve[-1]:.3g} at the last iteration: the model kept is the best seen, not the "
        f"last. Lower learning_rate_init (now {estimator.learning_rate_init}) or use "
        "solver='lbfgs'."
    )
