"""Class weights: ``class_weight`` checked and turned into one weight per class.

scikit-learn's :func:`~sklearn.utils.class_weight.compute_class_weight`
takes any number: a negative or non-finite weight, or ``"balanced"`` with a
class whose rows all have ``sample_weight`` 0 (its weight is then
``inf``, with a numpy RuntimeWarning), passed on into the fit and failed
far from its cause (an error that blamed X's magnitudes). Here each is a
ValueError that names ``class_weight``.
"""

import math

import numpy as np
from sklearn.utils.class_weight import compute_class_weight


def per_class_weights(class_weight, classes, present, labels, sample_weight):
    """One weight per class of ``classes`` (0 for the classes absent from ``labels``).

    Parameters
    ----------
    class_weight : dict or "balanced"
    classes : ndarray
        Every class (sorted).
    present : ndarray of int
        Indices in ``classes`` of the classes found in ``labels``.
    labels : ndarray
        The labels of every row.
    sample_weight : ndarray
        Every row's sample weight.
    """
    if isinstance(class_weight, dict):
        _check_dict(class_weight)
    else:
        _check_balanced(classes[present], labels, sample_weight)
        # The balanced weights depend on the ratios of the sample weights
        # only: subnormal ones (1e-320) kept 5 digits and moved the
        # intercepts by 1e-4.
        sample_weight = sample_weight / sample_weight.max()
    weights = compute_class_weight(class_weight, classes=classes[present], y=labels,
                                   sample_weight=sample_weight)
    per_class = np.zeros(len(classes))
    per_class[present] = weights
    return per_class


def _check_dict(class_weight):
    for label, weight in class_weight.items():
        try:
            value = float(weight)
        except (TypeError, ValueError):
            raise ValueError(
                f"class_weight={class_weight!r}: the weight of class {label!r} is "
                f"{weight!r}, not a number."
            ) from None
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(
                f"class_weight={class_weight!r}: the weight of class {label!r} is {weight!r}; "
                "class weights multiply sample_weight and must be finite and non-negative "
                "(0 drops the class's rows)."
            )


def _check_balanced(classes, labels, sample_weight):
    totals = np.array([sample_weight[labels == c].sum() for c in classes])
    empty = classes[totals == 0]
    if empty.size:
        raise ValueError(
            f"class_weight='balanced' cannot weight the classes {empty.tolist()}: their "
            "rows all have sample_weight 0, so their balanced weight, n_samples / "
            "(n_classes * total weight of the class), is infinite (scikit-learn's "
            "compute_class_weight returns inf for them, with a divide-by-zero "
            "RuntimeWarning). Drop those rows, or pass class_weight as a dict."
        )
