"""fit, warm start and partial_fit: one Start decided once per call, shared by both estimators."""

import numpy as np
import pytest

from skorch_lite import TorchLinearClassifier, TorchLinearRegressor
from skorch_lite._base import Start, decide_start, training_schedule


@pytest.mark.parametrize("Estimator", [TorchLinearRegressor, TorchLinearClassifier])
def test_the_start_of_a_call_follows_the_method_warm_start_and_whether_fitted(Estimator):
    X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 1, 0, 1])
    est = Estimator(solver="adam")
    assert decide_start(est, incremental=False) is Start.FRESH
    assert decide_start(est, incremental=True) is Start.STREAM
    est.fit(X, y)
    assert decide_start(est, incremental=False) is Start.FRESH
    assert decide_start(est, incremental=True) is Start.RESUME
    est.set_params(warm_start=True)
    assert decide_start(est, incremental=False) is Start.WARM
    assert decide_start(est, incremental=True) is Start.RESUME


def test_only_warm_and_resumed_calls_continue_and_only_partial_fit_is_incremental():
    assert [s for s in Start if s.continues] == [Start.WARM, Start.RESUME]
    assert [s for s in Start if s.incremental] == [Start.STREAM, Start.RESUME]


def test_partial_fit_trains_one_epoch_whatever_max_iter():
    est = TorchLinearRegressor(solver="sgd", max_iter=50, batch_size=8)
    assert training_schedule(est, Start.FRESH).max_iter == 50
    assert training_schedule(est, Start.RESUME).max_iter == 1
    schedule = training_schedule(est, Start.FRESH)
    assert not schedule.full_batch(100) and schedule.full_batch(8)
    assert schedule.limited(3).max_iter == 3 and schedule.max_iter == 50
    assert training_schedule(TorchLinearRegressor(batch_size=8), Start.FRESH).full_batch(100)
