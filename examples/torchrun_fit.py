"""Fit one TorchLinearRegressor on row shards held by several processes.

Each process reads only its own shard, ``X_<rank>.npy`` and ``y_<rank>.npy``,
memory-mapped; ``skorch_lite.distributed.fit`` sums statistics, objective and
gradients across processes, so every process ends with the fit on all rows.
Rank 0 saves the model.

Make shards (here two, of unequal sizes, from a synthetic problem)::

    python examples/torchrun_fit.py make-shards shards/ --rows 600000 400000

Fit with two processes on this machine::

    torchrun --nproc_per_node=2 examples/torchrun_fit.py fit shards/ --output model.pkl

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


def fit_shards(directory, output=None):
    """In one process of a torchrun job: fit on this rank's shard."""
    # Imported here, so that make-shards needs only numpy.
    import os

    import torch
    import torch.distributed as dist

    from skorch_lite import TorchLinearRegressor
    from skorch_lite.distributed import AllReduce, fit

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        rank = dist.get_rank()
        X = np.load(directory / f"X_{rank}.npy", mmap_mode="r")
        y = np.load(directory / f"y_{rank}.npy", mmap_mode="r")
        device = f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if cuda else "cpu"
        reducer = AllReduce()
        start = time.perf_counter()
        reg = fit(TorchLinearRegressor(random_state=0, device=device), X, y, reducer=reducer)
        seconds = time.perf_counter() - start
        if rank == 0:
            print(
                f"{dist.get_world_size()} processes, {X.shape[0]} rows here; "
                f"{reg.n_iter_} iterations in {seconds:.2f} s; "
                f"{reducer.bytes_summed} bytes all-reduced, "
                f"{reducer.bytes_gathered} gathered (sketch); "
                f"final objective {reg.loss_curve_[-1]:.6g}"
            )
            if output is not None:
                with open(output, "wb") as file:
                    pickle.dump(reg, file)
    finally:
        dist.destroy_process_group()


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
    run = commands.add_parser("fit", help="fit (run under torchrun)")
    run.add_argument("directory", type=Path)
    run.add_argument("--output", type=Path, help="where rank 0 pickles the model")
    args = parser.parse_args(argv)
    if args.command == "make-shards":
        make_shards(args.directory, args.rows, args.features, args.targets, args.dtype)
    else:
        fit_shards(args.directory, args.output)


if __name__ == "__main__":
    main()
