"""Estimator variants for tests that watch training dynamics."""

from skorch_lite import TorchLinearRegressor


class SketchedStart(TorchLinearRegressor):
    """Starts from the least-squares solution of a sketch of ``2 * n_features`` rows.

    ``fit`` starts every solver from the solution on a row sketch, which is
    exact (so training stops after one iteration) when the sketch is every
    row. This takes the path of large data (the sketch's solution as it is)
    on small problems, so training starts away from the optimum and its
    iterations can be watched. Class attributes, so they survive
    :func:`sklearn.base.clone`.
    """

    _sketch_rows = 1
    # Not the normal equations of every row either (exact on small, narrow data).
    _normal_equations = False
    # Nor is the sketch's solution refined over every row (L-BFGS on small
    # data would otherwise start at the optimum).
    _refine_start = False
