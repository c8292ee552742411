"""How many threads torch uses when scikit-learn runs fits in parallel.

joblib's default (loky) backend starts each worker with OMP_NUM_THREADS (and
the MKL/OpenBLAS equivalents) set to ``cpu_count() // n_jobs``; torch reads
it at import, so ``n_jobs`` workers use at most all the cores between them.
TorchLinearRegressor needs no thread management of its own for that.
"""

import os

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV, KFold

from skorch_lite import TorchLinearRegressor

N_JOBS = 2


def torch_threads(estimator, X, y):
    # A "scorer" run in the worker right after the fit: the torch threads
    # the fit ran with.
    return torch.get_num_threads()


def test_loky_workers_of_a_grid_search_share_the_cores():
    if joblib.cpu_count() < N_JOBS:
        pytest.skip("needs at least as many cores as workers")
    X, y = load_diabetes(return_X_y=True)
    search = GridSearchCV(
        TorchLinearRegressor(), {"alpha": [0.1, 1.0, 10.0, 100.0]},
        cv=KFold(3), scoring=torch_threads, refit=False, n_jobs=N_JOBS,
    ).fit(X, y)
    per_worker = search.cv_results_["split0_test_score"]
    assert np.all(per_worker >= 1)
    assert per_worker.max() * N_JOBS <= joblib.cpu_count()
    if "OMP_NUM_THREADS" not in os.environ:
        # loky respects a value the user set; otherwise it divides the cores.
        assert per_worker.max() == max(1, joblib.cpu_count() // N_JOBS)


def test_parent_process_threads_are_left_alone():
    before = torch.get_num_threads()
    X, y = load_diabetes(return_X_y=True)
    TorchLinearRegressor().fit(X, y)
    joblib.Parallel(n_jobs=N_JOBS)(joblib.delayed(torch.get_num_threads)() for _ in range(2))
    assert torch.get_num_threads() == before


def test_thread_workers_share_cores_once_torch_threads_are_set():
    # The threading backend shares one process, so torch's thread count
    # (process-wide) has to be divided by hand; threadpoolctl's limits are
    # per thread in torch's OpenMP build and do not reach the workers.
    if joblib.cpu_count() < N_JOBS:
        pytest.skip("needs at least as many cores as workers")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(max(1, joblib.cpu_count() // N_JOBS))
        with joblib.parallel_config(backend="threading"):
            counts = joblib.Parallel(n_jobs=N_JOBS)(
                joblib.delayed(torch.get_num_threads)() for _ in range(N_JOBS)
            )
    finally:
        torch.set_num_threads(before)
    assert max(counts) * N_JOBS <= joblib.cpu_count()
