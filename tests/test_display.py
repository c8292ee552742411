"""LossCurveDisplay draws the history of every kind of fit."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skorch_lite import LossCurveDisplay, TorchLinearRegressor

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def close_figures():
    plt.switch_backend("Agg")
    yield
    plt.close("all")


@pytest.mark.parametrize("early_stopping", [False, True], ids=["plain", "early stopping"])
@pytest.mark.parametrize("solver, batch_size", [("lbfgs", None), ("adam", None), ("sgd", 64)])
def test_the_display_draws_the_loss_curve_of_each_solver(solver, batch_size, early_stopping):
    X, y = load_diabetes(return_X_y=True)
    reg = TorchLinearRegressor(solver=solver, batch_size=batch_size, max_iter=40,
                               early_stopping=early_stopping, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    display = LossCurveDisplay.from_estimator(reg)
    np.testing.assert_array_equal(display.line_.get_xdata(), np.arange(1, reg.n_iter_ + 1))
    np.testing.assert_allclose(display.line_.get_ydata(), reg.loss_curve_)
    assert display.ax_ is display.line_.axes and display.figure_ is display.ax_.figure
    if early_stopping:
        np.testing.assert_allclose(display.validation_line_.get_ydata(), reg.validation_scores_)
        assert display.validation_line_.axes is display.validation_ax_
    else:
        assert display.validation_line_ is None and display.validation_ax_ is None
    legend = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert legend[0].startswith("objective") and ("validation R²" in legend) == early_stopping


def test_log_scale_when_the_curve_spans_more_than_a_decade():
    steep = LossCurveDisplay(loss_curve=[1000.0, 10.0, 5.0]).plot()
    flat = LossCurveDisplay(loss_curve=[6.0, 5.0, 4.9]).plot()
    forced = LossCurveDisplay(loss_curve=[6.0, 5.0]).plot(log_scale=True)
    assert steep.ax_.get_yscale() == "log"
    assert flat.ax_.get_yscale() == "linear"
    assert forced.ax_.get_yscale() == "log"


def test_the_display_draws_on_a_given_axes_and_needs_a_fitted_estimator():
    _, ax = plt.subplots()
    display = LossCurveDisplay(loss_curve=[2.0, 1.0]).plot(ax=ax)
    assert display.ax_ is ax
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(TorchLinearRegressor())
