"""Data-parallel fits of TorchLinearClassifier equal single-process fits.

Two processes on this machine (loopback only, bounded timeouts), one
process group for every case. A shard may lack a class: ``classes_`` is
the union of the shards' labels, and class weights count every shard.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skorch_lite import TorchLinearClassifier
from skorch_lite.distributed import AllReduce, fit, run_on_loopback

TIMEOUT = 240


def _cases():
    wine_X, wine_y = load_wine(return_X_y=True)
    wine_X = StandardScaler().fit_transform(wine_X)
    names = np.array(["barolo", "grignolino", "barbera"])[wine_y]
    order = np.argsort(wine_y, kind="stable")  # the first shard lacks "barbera"
    cancer_X, cancer_y = load_breast_cancer(return_X_y=True)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(cancer_y))
    return {
        "softmax, a shard without one class": (
            {}, wine_X[order], names[order], None, 100),
        "softmax, balanced class weights": (
            {"class_weight": "balanced", "alpha": 0.05}, wine_X[order], names[order], None, 100),
        "logistic, unscaled, weighted": ({}, cancer_X, cancer_y, weights, 250),
    }


def _fit_each_case(shards):
    warnings.simplefilter("ignore", ConvergenceWarning)
    fitted = {}
    for case, (params, X, y, w) in shards.items():
        est = fit(TorchLinearClassifier(**params), X, y, sample_weight=w, reducer=AllReduce())
        fitted[case] = pickle.dumps(est)
    return fitted


@pytest.fixture(scope="module")
def two_rank_fits():
    rank_args = [({},), ({},)]
    for case, (params, X, y, w, split) in _cases().items():
        for rank, rows in enumerate((slice(0, split), slice(split, None))):
            rank_args[rank][0][case] = (params, X[rows], y[rows], None if w is None else w[rows])
    return run_on_loopback(_fit_each_case, rank_args, timeout=TIMEOUT)


@pytest.mark.parametrize("case", list(_cases()))
def test_two_processes_fit_what_one_process_fits_on_all_rows(two_rank_fits, case):
    params, X, y, w, _ = _cases()[case]
    single = TorchLinearClassifier(**params).fit(X, y, sample_weight=w)
    first, second = (pickle.loads(fits[case]) for fits in two_rank_fits)
    for est in (first, second):
        np.testing.assert_array_equal(est.classes_, single.classes_)
        np.testing.assert_allclose(est.coef_, single.coef_, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(est.intercept_, single.intercept_, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    assert first.n_iter_ == second.n_iter_
