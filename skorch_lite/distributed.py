"""Data-parallel fitting on :mod:`torch.distributed`, exactly equal to one process.

Each process holds a shard of the rows. The objective is a sum over rows, so
for a full-batch solver data parallelism is exact: every process computes the
weighted statistics, objective terms and gradients of its own rows, an
all-reduce sums them, and every process takes the same optimizer step. Only
sums cross process boundaries (never means), so shards of unequal size and
sample weights need no correction. Per iteration, the traffic is the gradient
and the per-target objective: ``(rank + 2) * n_targets`` numbers, independent
of the number of rows.

Launch the processes with ``torchrun`` (see ``examples/torchrun_fit.py``), or
on one machine, for trying things out and for tests, with
:func:`run_on_loopback`.
"""

import multiprocessing
import os
import queue
import socket
import time
import traceback
from datetime import timedelta

import torch
import torch.distributed as dist
from sklearn.base import clone

from ._devices import resolve_device
from ._inputs import fit_inputs
# The reducers live apart from the launcher: the engine imports them from
# _reduce and never this module, whose process management is for users.
from ._reduce import LOCAL, AllReduce, Reducer


__all__ = ["LOCAL", "AllReduce", "Reducer", "fit", "loopback_store", "run_on_loopback"]


def fit(estimator, X, y, sample_weight=None, *, reducer=None):
    """Fit ``estimator`` on the rows of every process, each holding a shard.

    Call it in every process of the group, each with its own rows. The result
    is the fit on the concatenated rows (to the optimizer's precision): the
    preconditioning statistics, the objective, its gradients and the stopping
    decisions are all summed across processes, and every process takes the
    same steps and ends with the same fitted estimator.

    Parameters
    ----------
    estimator : TorchLinearRegressor or TorchLinearClassifier
        Unfitted, or fitted when ``warm_start=True``; full batch only
        (``batch_size=None``, ``early_stopping=False``). Must have the same
        parameters in every process.
    X : array-like of shape (n_shard_samples, n_features)
        This process's rows. Same number of features and dtype everywhere;
        shards may differ in length.
    y : array-like of shape (n_shard_samples,) or (n_shard_samples, n_targets)
        For a classifier, labels; a shard may lack some classes (``classes_``
        is the union of every shard's labels).
    sample_weight : array-like of shape (n_shard_samples,), default=None
        Every shard needs a positive weight sum.
    reducer : AllReduce, default=None
        How processes combine their sums; None is ``AllReduce()`` over the
        default process group. Pass one to use a subgroup or to read its
        traffic counters.

    Returns
    -------
    estimator : TorchLinearRegressor or TorchLinearClassifier
        The same object, fitted; identical in every process.

    Examples
    --------
    Two processes on this machine, each with half the rows:

    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skorch_lite import TorchLinearRegressor
    >>> from skorch_lite.distributed import fit, run_on_loopback
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = X @ [1.0, -2.0, 0.5] + 3.0
    >>> shards = [(TorchLinearRegressor(), X[:200], y[:200]),
    ...           (TorchLinearRegressor(), X[200:], y[200:])]
    >>> first, second = run_on_loopback(fit, shards)
    >>> np.allclose(first.coef_, LinearRegression().fit(X, y).coef_)
    True
    >>> np.array_equal(first.coef_, second.coef_)
    True
    """
    if reducer is None:
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(
                "skorch_lite.distributed.fit needs a torch.distributed process group: "
                "call torch.distributed.init_process_group() first (torchrun sets up "
                "its environment), or try it on one machine with run_on_loopback()."
            )
        reducer = AllReduce()
    _check_full_batch(estimator)
    estimator._validate_params()
    _agree_on_inputs(estimator, X, y, sample_weight, reducer)
    return estimator._fit(X, y, sample_weight, incremental=False, reducer=reducer)


def _check_full_batch(estimator):
    if estimator.batch_size is not None:
        raise ValueError(
            f"distributed fit is full batch; got batch_size={estimator.batch_size}. "
            "Set batch_size=None."
        )
    if estimator.early_stopping:
        raise ValueError(
            "distributed fit does not hold out validation rows; set early_stopping=False."
        )


def _agree_on_inputs(estimator, X, y, sample_weight, reducer):
    """Validate the shard, and fail in every process if it fails in one.

    A process that raises alone leaves the others waiting in a collective
    until the group's timeout; a shard of another width or dtype would
    silently corrupt the sums.
    """
    device = resolve_device(estimator.device)
    error, shape = None, [-1.0, -1.0, -1.0]
    try:
        # The checks fit runs, on a clone so that they set no attributes. A
        # classifier checks its labels first (a shard may hold one class).
        if hasattr(estimator, "_shard_targets"):
            y = estimator._shard_targets(y)
        data = fit_inputs(
            clone(estimator), X, y, sample_weight, reset=True,
            resolve_device=lambda where: resolve_device(estimator.device, data_device=where),
        )
        shape = [data.X.shape[1], data.Y.shape[1], data.X.element_size()]
    except Exception as exc:  # re-raised below, in this process
        error = exc
    mine = torch.tensor([shape], dtype=torch.float64, device=device)
    everyone = reducer.cat(mine)
    if error is not None:
        raise error
    if bool((everyone < 0).any()):
        raise ValueError("Another process's shard failed validation; see its error.")
    if not bool((everyone == mine).all()):
        raise ValueError(
            "Shards disagree on (n_features, n_targets, bytes per value): "
            f"{everyone.int().tolist()}; every process must pass the same columns "
            "and dtype."
        )


def run_on_loopback(function, rank_args, *, timeout=120.0):
    """Run ``function(*rank_args[r])`` in one new process per rank, in a gloo group.

    For trying a distributed fit on one machine, and for tests. Every socket
    binds to 127.0.0.1: this process hosts the rendezvous store on a socket it
    binds itself, and gloo uses the loopback interface. The processes are
    started with ``spawn``, so ``function`` and its arguments must pickle
    (a function defined at module level).

    Parameters
    ----------
    function : callable
        Called in each process after ``torch.distributed`` is initialized.
    rank_args : list of tuple
        Arguments for each rank; its length is the world size.
    timeout : float, default=120.0
        Seconds for the whole run, and for every collective operation.

    Returns
    -------
    list
        What ``function`` returned in each rank, in rank order.

    Raises
    ------
    RuntimeError
        When a process fails; the message holds its traceback.
    TimeoutError
        When the processes do not all finish within ``timeout``.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch_lite import TorchLinearRegressor
    >>> from skorch_lite.distributed import fit, run_on_loopback
    >>> X = np.arange(8.0).reshape(-1, 1); y = 2 * X[:, 0] + 1
    >>> fitted = run_on_loopback(fit, [(TorchLinearRegressor(), X[:3], y[:3]),
    ...                                (TorchLinearRegressor(), X[3:], y[3:])])
    >>> [round(float(reg.coef_[0]), 6) for reg in fitted]
    [2.0, 2.0]
    """
    world_size = len(rank_args)
    deadline = time.monotonic() + timeout
    store, port = loopback_store(timeout)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(
            target=_run_rank,
            args=(function, args, rank, world_size, port, timeout, results),
            daemon=True,
        )
        for rank, args in enumerate(rank_args)
    ]
    outcomes = {}
    try:
        for process in processes:
            process.start()
        while len(outcomes) < world_size:
            try:
                rank, ok, value = results.get(timeout=0.2)
            except queue.Empty:
                _check_alive(processes, outcomes, deadline, timeout)
                continue
            if not ok:
                raise RuntimeError(f"rank {rank} failed:\n{value}")
            outcomes[rank] = value
    finally:
        for process in processes:
            if process.pid is None:
                continue
            process.join(timeout=max(deadline - time.monotonic(), 1.0))
            if process.is_alive():
                process.kill()
                process.join()
        results.close()
        del store
    return [outcomes[rank] for rank in range(world_size)]


def loopback_store(timeout):
    """A rendezvous store listening on 127.0.0.1 only, and its port.

    torch's own store binds every interface; binding the socket here and
    handing it over keeps the rendezvous on the loopback interface.

    Parameters
    ----------
    timeout : float
        Seconds the store waits for a key before raising.

    Returns
    -------
    store : torch.distributed.TCPStore
        The master store, for ``init_process_group(store=...)`` in this process.
    port : int
        The port other processes connect to on 127.0.0.1.

    Examples
    --------
    >>> from skorch_lite.distributed import loopback_store
    >>> store, port = loopback_store(10.0)
    >>> 0 < port < 65536
    True
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    store = dist.TCPStore(
        "127.0.0.1", port, None, is_master=True, timeout=timedelta(seconds=timeout),
        wait_for_workers=False, master_listen_fd=listener.detach(),
    )
    return store, port


def _check_alive(processes, outcomes, deadline, timeout):
    for rank, process in enumerate(processes):
        if rank not in outcomes and process.exitcode is not None:
            # Died before reporting: killed, or could not even start (a
            # script that spawns processes without `if __name__ == "__main__":`).
            raise RuntimeError(
                f"rank {rank} exited with code {process.exitcode} without a result."
            )
    if time.monotonic() > deadline:
        raise TimeoutError(
            f"run_on_loopback: {len(processes) - len(outcomes)} of {len(processes)} "
            f"processes did not finish within {timeout} s."
        )


def _run_rank(function, args, rank, world_size, port, timeout, results):
    os.environ["GLOO_SOCKET_IFNAME"] = _loopback_interface()
    try:
        store = dist.TCPStore(
            "127.0.0.1", port, world_size, is_master=False, timeout=timedelta(seconds=timeout)
        )
        dist.init_process_group(
            "gloo", store=store, rank=rank, world_size=world_size,
            timeout=timedelta(seconds=timeout),
        )
        try:
            results.put((rank, True, function(*args)))
        finally:
            dist.destroy_process_group()
    except BaseException:
        results.put((rank, False, traceback.format_exc()))


def _loopback_interface():
    names = [name for _, name in socket.if_nameindex() if name.startswith("lo")]
    return names[0] if names else "lo"
