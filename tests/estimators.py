"""Estimator variants for tests that watch training dynamics."""

from skorch_lite import TorchLinearRegressor


class SketchedStart(TorchLinearRegressor):
    """Starts from the least-squares solution of a sketch of ``2 * n_features`` rows.

    ``fit`` starts every solver from the solution on a row sketch, which is
    exact (so training stops after one iteration) when the sketch is every
    row. This takes the large-data path on small problems, so training
    starts away from the optimum and its iterations can be watched. A class
    attribute, so it survives :func:`sklearn.base.clone`.
    """

    _sketch_rows = 1
