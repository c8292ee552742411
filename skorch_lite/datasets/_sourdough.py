"""The sourdough data of the notebook skorch_lite grew from."""

import numpy as np
from sklearn.utils import Bunch

FEATURE_NAMES = ["proofing_time", "acidity", "starter_age"]
TARGET_NAMES = ["flavour", "crust"]

# Ten home-made loaves: proofing time (hours), acidity (pH), age of the
# starter (days) -> flavour and crust, both scored 0-100 by the baker.
_DATA = np.array(
    [
        [12, 4.5, 32, 70, 70],
        [15, 4.2, 40, 72, 75],
        [18, 4.2, 45, 80, 70],
        [24, 4.0, 51, 85, 75],
        [30, 3.8, 58, 85, 80],
        [18, 3.8, 65, 82, 85],
        [15, 4.0, 70, 90, 85],
        [15, 4.1, 78, 87, 90],
        [18, 3.9, 81, 85, 90],
        [24, 4.0, 90, 90, 95],
    ],
    dtype=np.float32,
)

DESCR = """Sourdough data set
------------------

Ten loaves baked during a lockdown, from the notebook "Linear regression from
scratch" that skorch_lite grew from.

Features: proofing_time (hours), acidity (pH), starter_age (days).
Targets: flavour and crust (subjective scores out of 100).

Its least-squares fit (with intercept) has a mean squared error of 6.0605
over both targets; the notebook's hand-written gradient descent, from the
random start of seed 0, is at 25.91 after 100,000 epochs
(skorch_lite.datasets.notebook_loop; the notebook's own unseeded run
printed 23.58).
"""


def load_sourdough(*, return_X_y=False, as_frame=False):
    """Load the sourdough data set (10 samples, 3 features, 2 targets).

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return pandas DataFrames (requires pandas).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (10, 3) and ``target`` (10, 2), both float32,
        ``feature_names``, ``target_names``, ``frame`` (when ``as_frame``)
        and ``DESCR``.
    (data, target) : tuple
        When ``return_X_y`` is True.

    Examples
    --------
    >>> from skorch_lite.datasets import load_sourdough
    >>> X, y = load_sourdough(return_X_y=True)
    >>> X.shape, y.shape, X.dtype
    ((10, 3), (10, 2), dtype('float32'))
    """
    data, target = _DATA[:, :3].copy(), _DATA[:, 3:].copy()
    frame = None
    if as_frame:
        import pandas as pd

        frame = pd.DataFrame(_DATA.copy(), columns=FEATURE_NAMES + TARGET_NAMES)
        data, target = frame[FEATURE_NAMES], frame[TARGET_NAMES]
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=list(FEATURE_NAMES),
        target_names=list(TARGET_NAMES),
        DESCR=DESCR,
    )
