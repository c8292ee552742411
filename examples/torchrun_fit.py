"""
Data-parallel fit with torchrun
===============================

Fit one TorchLinearRegressor on row shards held by several processes (this
script is not executed by the documentation build: it is meant for
``torchrun``). Each process reads only its own shard, ``X_<rank>.npy`` and ``y_<rank>.npy``,
memory-mapped; ``skorch_lite.distributed.fit`` sums statistics, objective and
gradients across processes, so every process ends with the fit on all rows.
Rank 0 saves the model.

Make shards (here two, of unequal sizes, from a synthetic problem)::

    python examples/torchrun_fit.py make-shards shards/ --rows 600000 400000

Fit with two processes on this machine::

    torchrun --nproc_per_node=2 examples/torchrun_fit.py fit shards/ --output model.pkl

or, without torchrun, with every socket on 127.0.0.1 (``run_on_loopback``)::

    python examples/torchrun_fit.py fit-local shards/ --nproc 2 --output model.pkl

On two machines with two processes each (shards 0-1 on the first, 2-3 on the
second; run on each, with its own ``--node_rank``)::

    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=2 \\
        --master_addr=10.0.0.1 --master_port=29500 \\
        examples/torchrun_fit.py fit shards/ --output model.pkl

The backend is NCCL when CUDA is available (one GPU per process), gloo
otherwise. torchrun's rendezvous listens on every network interface of the
master: run it on a trusted network.
"""

import argparse
import pickle
import time
from pathlib import Path

import numpy as np


def make_shards(directory, rows, n_features, n_targets, dtype="float32", seed=0):
    """Write ``X_<r>.npy`` and ``y_<r>.npy`` for each entry of ``rows``."""
    rng = np.random.default_rng(seed)
    coef = rng.normal(size=(n_features, n_targets))
    directory.mkdir(parents=True, exist_ok=True)
    for rank, n_rows in enumerate(rows):
        X = rng.normal(size=(n_rows, n_features)).astype(dtype)
        X *= np.logspace(-1, 1, n_features, dtype=dtype)
        y = X @ coef + 2.0 + rng.normal(scale=0.5, size=(n_rows, n_targets))
        np.save(directory / f"X_{rank}.npy", X)
        np.save(directory / f"y_{rank}.npy", y.astype(dtype))


def fit_shards(directory, output=None, threads=None, time_iterations=0):
    """In one process of a torchrun job: fit on this rank's shard."""
    # Imported here, so that make-shards needs only numpy.
    import torch
    import torch.distributed as dist

    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        result = fit_rank(directory, output, threads, time_iterations)
        # Every rank done with the group before any tears it down: a rank
        # leaving while another still wrote its output once aborted at exit
        # in gloo ("terminate called without an active exception").
        dist.barrier()
        return result
    finally:
        dist.destroy_process_group()


def fit_rank(directory, output=None, threads=None, time_iterations=0):
    """Fit on this rank's shard, in a process group that is already running."""
    import os
    import warnings

    import torch
    import torch.distributed as dist
    from sklearn.exceptions import ConvergenceWarning

    from skorch_lite import TorchLinearRegressor
    from skorch_lite.distributed import AllReduce, fit

    if threads:
        torch.set_num_threads(threads)
    rank = dist.get_rank()
    X = np.load(directory / f"X_{rank}.npy", mmap_mode="r")
    y = np.load(directory / f"y_{rank}.npy", mmap_mode="r")
    device = f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if torch.cuda.is_available() else "cpu"

    def timed_fit(**params):
        reducer = AllReduce()
        dist.barrier()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg = fit(TorchLinearRegressor(random_state=0, device=device, **params),
                      X, y, reducer=reducer)
        return reg, time.perf_counter() - start, reducer

    if time_iterations:
        # The work of one iteration: one pass over the shard for the objective
        # and its gradient, then their all-reduce. Full-batch SGD does exactly
        # that each iteration and never stops early (tol=0), so the difference
        # of runs of 1 and 1 + K iterations is K iterations, set-up excluded.
        timed_fit(solver="sgd", max_iter=1)  # warm-up: first calls, page cache
        _, t_one, r_one = timed_fit(solver="sgd", max_iter=1, tol=0.0)
        _, t_more, r_more = timed_fit(solver="sgd", max_iter=1 + time_iterations, tol=0.0)
        if rank == 0:
            print(
                f"{dist.get_world_size()} process(es) x {torch.get_num_threads()} thread(s), "
                f"{X.shape[0]} x {X.shape[1]} {X.dtype} rows on rank 0: "
                f"{(t_more - t_one) / time_iterations * 1000:.0f} ms per iteration, "
                f"{(r_more.bytes_summed - r_one.bytes_summed) / time_iterations:.0f} bytes "
                f"all-reduced per iteration; set-up {t_one:.2f} s with 1 iteration, "
                f"{r_one.bytes_summed} bytes summed, {r_one.bytes_gathered} gathered"
            )
    reg, seconds, reducer = timed_fit()
    if rank == 0:
        print(
            f"L-BFGS fit: {reg.n_iter_} iterations in {seconds:.2f} s; "
            f"{reducer.bytes_summed} bytes all-reduced, {reducer.bytes_gathered} gathered; "
            f"final objective {reg.loss_curve_[-1]:.6g}"
        )
        if output is not None:
            with open(output, "wb") as file:
                pickle.dump(reg, file)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make-shards", help="write synthetic shards")
    make.add_argument("directory", type=Path)
    make.add_argument("--rows", type=int, nargs="+", default=[600_000, 400_000],
                      help="rows of each shard (one shard per process)")
    make.add_argument("--features", type=int, default=100)
    make.add_argument("--targets", type=int, default=2)
    make.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    for name, text in [("fit", "fit (run under torchrun)"),
                       ("fit-local", "fit in NPROC processes on this machine, loopback only")]:
        run = commands.add_parser(name, help=text)
        run.add_argument("directory", type=Path)
        run.add_argument("--output", type=Path, help="where rank 0 pickles the model")
        run.add_argument("--threads", type=int, help="torch threads per process")
        run.add_argument("--time-iterations", type=int, default=0, metavar="K",
                         help="first time K full-batch iterations")
        if name == "fit-local":
            run.add_argument("--nproc", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "make-shards":
        make_shards(args.directory, args.rows, args.features, args.targets, args.dtype)
        return
    options = (args.directory, args.output, args.threads, args.time_iterations)
    if args.command == "fit":
        fit_shards(*options)
    else:
        from skorch_lite.distributed import run_on_loopback

        run_on_loopback(fit_rank, [options] * args.nproc, timeout=3600)

if __name__ == "__main__":
    main()
