"""Data-parallel fits equal single-process fits; out-of-core partial_fit learns.

The distributed tests start two processes on this machine, on loopback only
(``run_on_loopback``: the store and gloo bind 127.0.0.1), with bounded
timeouts. Every scenario runs in one process group, to pay the start-up once.
"""

import hashlib
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from skorch_lite import TorchLinearRegressor
from skorch_lite._precondition import fit_preconditioner
from skorch_lite.distributed import LOCAL, AllReduce, fit, loopback_store, run_on_loopback

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 240


def _problem(n_samples, n_features, n_targets, seed, weighted):
    rng = np.random.default_rng(seed)
    # Columns in different units and correlated, so the preconditioner matters.
    X = rng.normal(size=(n_samples, n_features)) @ rng.normal(size=(n_features, n_features))
    X *= np.logspace(-1, 2, n_features)
    y = X @ rng.normal(size=(n_features, n_targets)) + 5.0 + rng.normal(size=(n_samples, n_targets))
    w = rng.uniform(0.0, 3.0, n_samples) if weighted else None
    return X, y, w


# name: (estimator parameters, rows of each shard, weighted)
CASES = {
    "unequal shards": ({}, (700, 1300), False),
    "unequal shards with sample weights": ({}, (1300, 700), True),
    "sampled sketch (more rows than the sketch), weighted": (
        {"random_state": 0}, (1100, 1900), True
    ),
    "ridge penalty counted once": ({"alpha": 50.0}, (300, 1100), True),
    "no intercept": ({"fit_intercept": False, "alpha": 1.0}, (900, 400), False),
    # A sketch of 2 * n_features rows (the private knob), so that SGD starts
    # away from the optimum and runs its 30 iterations.
    "full-batch sgd": (
        {"solver": "sgd", "max_iter": 30, "tol": 0.0, "random_state": 0, "_sketch_rows": 1},
        (250, 650), True,
    ),
    "full-batch sgd, four times the rows": (
        {"solver": "sgd", "max_iter": 30, "tol": 0.0, "random_state": 0, "_sketch_rows": 1},
        (1000, 2600), True,
    ),
}
# Every loss: the curvature-refreshed rounds sum the same statistics.
LOSS_CASES = {
    "huber loss, weighted": ({"loss": "huber"}, (700, 1300), True),
    "poisson loss, weighted": ({"loss": "poisson"}, (1300, 700), True),
    "quantile loss": ({"loss": "quantile", "quantile": 0.3}, (900, 1100), False),
    # Rank 0's counts are all zero: the positive sum is the whole data's.
    "poisson loss, a shard of zeros": ({"loss": "poisson"}, (300, 1700), False),
}
CASES.update(LOSS_CASES)
# Each process seeds its own generator: rank 0's sample must win everywhere.
UNSEEDED = {"sampled sketch, unseeded": ({"random_state": None}, (2100, 900), False)}


def _shards(case):
    params, sizes, weighted = {**CASES, **UNSEEDED}[case]
    X, y, w = _problem(sum(sizes), 6, 2, seed=len(case), weighted=weighted)
    if params.get("loss") == "poisson":
        # Counts whose log-mean is linear in X.
        rng = np.random.default_rng(len(case))
        y = rng.poisson(np.exp((y - y.mean(0)) / (2 * y.std(0)))).astype(float)
        if "zeros" in case:
            y[: sizes[0]] = 0.0
    bounds = np.cumsum((0,) + sizes)
    parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    return params, (X, y, w), [
        (X[s], y[s], None if w is None else w[s]) for s in parts
    ]


def _estimator(params):
    """The estimator of a case; ``_sketch_rows`` sets the private knob."""
    params = dict(params)
    sketch_rows = params.pop("_sketch_rows", None)
    est = TorchLinearRegressor(**params)
    if sketch_rows is not None:
        est._sketch_rows = sketch_rows
    return est


# Below the sketch size every process decomposes all rows.
PRECONDITIONED = "unequal shards with sample weights"


def _preconditioner(X, y, w, reducer):
    """The fields of ``fit_preconditioner`` on ``(X, y, w)`` as numpy arrays."""
    precond = fit_preconditioner(
        torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(w), alpha=0.5,
        fit_intercept=True, sketch_size=4000, generator=torch.Generator().manual_seed(0),
        reducer=reducer,
    )
    return {name: getattr(precond, name).numpy()
            for name in ("x_mean", "y_mean", "y_scale", "transform", "theta0")}


def _fit_each_case(shards_by_case, failing_inputs):
    """In one rank: fit every case on this rank's shard, return pickles."""
    fitted = {"errors": _errors_in_each_rank(failing_inputs)}
    _, X, y, w = shards_by_case[PRECONDITIONED]
    fitted["preconditioner"] = _preconditioner(X, y, w, AllReduce())
    warnings.simplefilter("ignore", ConvergenceWarning)
    for case, (params, X, y, w) in shards_by_case.items():
        reducer = AllReduce()
        est = fit(_estimator(params), X, y, sample_weight=w, reducer=reducer)
        fitted[case] = (pickle.dumps(est), reducer.bytes_summed, est.n_iter_)
    return fitted


def _errors_in_each_rank(rank_inputs):
    """In one rank: the message of each error ``fit`` raises, or None."""
    messages = []
    for params, X, y in rank_inputs:
        try:
            fit(TorchLinearRegressor(**params), X, y)
            messages.append(None)
        except ValueError as exc:
            messages.append(str(exc))
    return messages


def _failing_inputs():
    good = np.random.default_rng(0).normal(size=(20, 3))
    bad = good.copy()
    bad[4, 1] = np.nan
    y = good.sum(1)
    return [
        [({}, good, y), ({}, good, y), ({"batch_size": 8}, good, y)],
        [({}, bad, y), ({}, good[:, :2], y), ({"batch_size": 8}, good, y)],
    ]


@pytest.fixture(scope="module")
def two_rank_fits():
    rank_args = [({}, inputs) for inputs in _failing_inputs()]
    for case in {**CASES, **UNSEEDED}:
        params, _, shards = _shards(case)
        for rank, (X, y, w) in enumerate(shards):
            rank_args[rank][0][case] = (params, X, y, w)
    return run_on_loopback(_fit_each_case, rank_args, timeout=TIMEOUT)


@pytest.mark.parametrize("case", list(CASES))
def test_two_processes_fit_what_one_process_fits_on_all_rows(two_rank_fits, case):
    params, (X, y, w), _ = _shards(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        single = _estimator(params).fit(X, y, sample_weight=w)
    for fitted, _, _ in (two_rank_fits[0][case], two_rank_fits[1][case]):
        est = pickle.loads(fitted)
        if params.get("loss") in ("quantile", "huber"):
            # A pinball loss's optimum is a vertex of a linear program, reached
            # through a smoothing; a Huber fit's is the end of rounds stopped
            # at tol (its coefficients move by 1.5e-7 from tol=1e-8 to 1e-14).
            # Sums added in another order take another path to it (a Huber
            # fit: 11 or 12 iterations, 5e-7 apart), and the objective is
            # what is unique.
            objective = [e.loss_curve_[-1] for e in (est, single)]
            assert objective[0] == pytest.approx(objective[1], rel=1e-9)
            np.testing.assert_allclose(est.coef_, single.coef_, rtol=0, atol=1e-6)
            continue
        np.testing.assert_allclose(est.coef_, single.coef_, rtol=0, atol=1e-10)
        np.testing.assert_allclose(est.intercept_, single.intercept_, rtol=0, atol=1e-10)


@pytest.mark.parametrize("case", list(CASES) + list(UNSEEDED))
def test_every_process_ends_with_the_same_estimator(two_rank_fits, case):
    first, second = (pickle.loads(fits[case][0]) for fits in two_rank_fits)
    assert np.array_equal(first.coef_, second.coef_)
    assert np.array_equal(first.intercept_, second.intercept_)
    assert first.n_iter_ == second.n_iter_
    assert first.loss_curve_ == second.loss_curve_
    X = np.ones((3, first.n_features_in_))
    assert np.array_equal(first.predict(X), second.predict(X))


def test_below_the_sketch_size_every_process_has_one_process_preconditioner(two_rank_fits):
    # Statistics summed shard by shard round otherwise: the preconditioners
    # then differed in their last bits.
    _, (X, y, w), _ = _shards(PRECONDITIONED)
    single = _preconditioner(X, y, w, LOCAL)
    for fits in two_rank_fits:
        for name, value in fits["preconditioner"].items():
            assert np.array_equal(value, single[name]), name


def test_traffic_does_not_grow_with_rows(two_rank_fits):
    small = two_rank_fits[0]["full-batch sgd"]
    large = two_rank_fits[0]["full-batch sgd, four times the rows"]
    assert small[2] == large[2] == 30
    # Each evaluation sums the gradient (theta: features x targets, gamma:
    # targets) and the per-target objective; the statistics add a few sums.
    # The shards also sum one CountSketch of fixed size, sketch rows x
    # (features + targets + 1) float64, and the columns' sums and sums of
    # squares, once.
    n_features, n_targets = 6, 2
    assert large[1] == small[1]
    per_evaluation = (n_features + 2) * n_targets * 8
    sketch = (2 * n_features * (n_features + n_targets + 1) + 2 * n_features) * 8
    assert 31 * per_evaluation + sketch <= small[1] <= 31 * per_evaluation + sketch + 200


def test_a_shard_that_fails_validation_stops_every_process(two_rank_fits):
    first, second = (fits["errors"] for fits in two_rank_fits)
    assert "failed validation" in first[0] and "NaN" in second[0]
    assert "disagree on (n_features" in first[1] and first[1] == second[1]
    assert "full batch" in first[2] and "full batch" in second[2]


def test_fit_without_a_process_group_says_how_to_start_one():
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="init_process_group"):
        fit(TorchLinearRegressor(), np.ones((4, 2)), np.arange(4.0))


def test_the_single_process_reducer_changes_nothing():
    X, y, _ = _problem(50, 3, 1, seed=1, weighted=False)
    assert LOCAL.sum(X) is X and LOCAL.cat(X) is X and LOCAL.rank == 0


# --------------------------------------------------- the torchrun example


def _loopback_store():
    return loopback_store(TIMEOUT)


def test_torchrun_example_fits_what_one_process_fits(tmp_path):
    script = str(EXAMPLES / "torchrun_fit.py")
    data = tmp_path / "shards"
    subprocess.run(
        [sys.executable, script, "make-shards", str(data), "--rows", "900", "1500",
         "--features", "8", "--targets", "2", "--dtype", "float64"],
        check=True, timeout=TIMEOUT,
    )
    # What torchrun gives each worker, except that this test, not torchrun's
    # agent (which listens on every interface), hosts the store on loopback.
    store, port = _loopback_store()
    env = dict(
        os.environ, WORLD_SIZE="2", LOCAL_WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port), TORCHELASTIC_USE_AGENT_STORE="True", GLOO_SOCKET_IFNAME="lo",
    )
    model = tmp_path / "model.pkl"
    workers = [
        subprocess.Popen(
            [sys.executable, script, "fit", str(data), "--output", str(model)],
            env=dict(env, RANK=str(rank), LOCAL_RANK=str(rank)),
        )
        for rank in range(2)
    ]
    try:
        codes = [worker.wait(timeout=TIMEOUT) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        del store
    assert codes == [0, 0]

    X = np.concatenate([np.load(data / f"X_{rank}.npy") for rank in range(2)])
    y = np.concatenate([np.load(data / f"y_{rank}.npy") for rank in range(2)])
    single = TorchLinearRegressor(random_state=0).fit(X, y)
    with open(model, "rb") as file:
        distributed = pickle.load(file)
    np.testing.assert_allclose(distributed.coef_, single.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(distributed.intercept_, single.intercept_, rtol=0, atol=1e-10)


# --------------------------------------------- out of core on one machine


def _file_digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize("mode", ["r", "r+"])
def test_partial_fit_streams_a_memory_mapped_file_without_writing_it(tmp_path, mode):
    X, y, _ = _problem(20_000, 10, 1, seed=3, weighted=False)
    rng = np.random.default_rng(4)
    X = X[:, :5]
    y = X @ rng.normal(size=5) + 1.0 + 0.1 * rng.normal(size=len(X))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    before = _file_digest(tmp_path / "X.npy"), _file_digest(tmp_path / "y.npy")

    # "r+" would let a stray write through; the digests would catch it.
    X_map = np.load(tmp_path / "X.npy", mmap_mode=mode)
    y_map = np.load(tmp_path / "y.npy", mmap_mode=mode)
    reg = TorchLinearRegressor(solver="sgd", batch_size=200, random_state=0)
    chunk = 2_000
    for _ in range(3):
        for start in range(0, len(X_map), chunk):
            reg.partial_fit(X_map[start : start + chunk], y_map[start : start + chunk])
    del X_map, y_map

    assert reg.n_iter_ == 3 * len(X) // chunk
    best = LinearRegression().fit(X, y).score(X, y)
    assert reg.score(X, y) > best - 1e-4
    assert (_file_digest(tmp_path / "X.npy"), _file_digest(tmp_path / "y.npy")) == before


def test_fitting_never_imports_the_process_launcher():
    # The engine sums through skorch_lite._reduce; skorch_lite.distributed
    # (processes, stores, ports) is for users who launch them.
    code = ("import sys, numpy as np\n"
            "from skorch_lite import TorchLinearClassifier, TorchLinearRegressor\n"
            "X = np.arange(8.0).reshape(4, 2)\n"
            "TorchLinearRegressor(alpha=1.0).fit(X, [0.0, 1.0, 0.0, 2.0])\n"
            "TorchLinearRegressor(loss='huber').fit(X, [0.0, 1.0, 0.0, 2.0])\n"
            "TorchLinearClassifier().fit(X, [0, 1, 0, 1])\n"
            "print('skorch_lite.distributed' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
