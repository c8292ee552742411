"""GPU benchmark: a 10,000,000 x 100 x 2 float32 fit to the optimum, GPU vs CPU.

Run by hand on a machine with CUDA (not by CI)::

    python benchmarks/bench_gpu.py [--rows 10000000] [--out DIR]

Measures, in one process: the fit on a CUDA tensor (device="auto"); the fit
of the same data given as numpy with device="cuda" (which includes moving X
to the GPU), and that host-to-device copy alone; the fit on the CPU; and
scikit-learn's Ridge(solver="cholesky") on the CPU as the exact-solver
baseline. The excess is (MSE - MSE_opt) / MSE_opt against the optimum of the
normal equations solved in float64 on the GPU.
"""

import argparse
import json
import os
import platform
import time

import numpy as np
import sklearn
import torch
from sklearn.linear_model import Ridge

from skorch_lite import TorchLinearRegressor


def make_data(n_rows, n_features, device, seed=0):
    gen = torch.Generator(device=device).manual_seed(seed)
    scales = torch.logspace(-1, 1, n_features, device=device)
    X = torch.randn(n_rows, n_features, generator=gen, device=device) * scales + 1.0
    coef = torch.randn(n_features, 2, generator=gen, device=device)
    y = X @ coef + torch.randn(n_rows, 2, generator=gen, device=device)
    return X, y


def optimum_mse(X, y, chunk=1_000_000):
    """Exact least-squares MSE from float64 normal equations (chunked: X stays float32)."""
    n, p = X.shape
    gram = torch.zeros(p + 1, p + 1, dtype=torch.float64, device=X.device)
    rhs = torch.zeros(p + 1, y.shape[1], dtype=torch.float64, device=X.device)
    for start in range(0, n, chunk):
        block = X[start : start + chunk].double()
        block = torch.cat([block, torch.ones(len(block), 1, dtype=torch.float64, device=X.device)], 1)
        gram += block.T @ block
        rhs += block.T @ y[start : start + chunk].double()
    beta = torch.linalg.solve(gram, rhs)
    sse = 0.0
    for start in range(0, n, chunk):
        block = X[start : start + chunk].double()
        pred = block @ beta[:-1] + beta[-1]
        sse += float(((pred - y[start : start + chunk].double()) ** 2).sum())
    return sse / (n * y.shape[1])


def mse_of(reg, X, y, chunk=1_000_000):
    coef = torch.as_tensor(reg.coef_, device=X.device, dtype=torch.float64)
    intercept = torch.as_tensor(reg.intercept_, device=X.device, dtype=torch.float64)
    sse = 0.0
    for start in range(0, X.shape[0], chunk):
        pred = X[start : start + chunk].double() @ coef.T + intercept
        sse += float(((pred - y[start : start + chunk].double()) ** 2).sum())
    return sse / (X.shape[0] * y.shape[1])


def timed(fn, sync=True):
    if sync:
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if sync:
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    args = parser.parse_args()

    X_gpu, y_gpu = make_data(args.rows, args.features, "cuda")
    opt = optimum_mse(X_gpu, y_gpu)
    # Warm-up: CUDA context, cuBLAS handles, torch.optim's first import.
    TorchLinearRegressor(device="cuda").fit(X_gpu[:10000], y_gpu[:10000])

    rows = []
    reg, t = timed(lambda: TorchLinearRegressor(device="auto", random_state=0).fit(X_gpu, y_gpu))
    rows.append(("TorchLinearRegressor, CUDA tensor, device='auto'", t, reg.n_iter_,
                 mse_of(reg, X_gpu, y_gpu) / opt - 1))

    X_np, y_np = X_gpu.cpu().numpy(), y_gpu.cpu().numpy()
    _, t_copy = timed(lambda: torch.from_numpy(X_np).to("cuda"))
    pinned = torch.from_numpy(X_np).pin_memory()
    _, t_pinned = timed(lambda: pinned.to("cuda", non_blocking=True))
    del pinned
    reg, t = timed(lambda: TorchLinearRegressor(device="cuda", random_state=0).fit(X_np, y_np))
    rows.append(("TorchLinearRegressor, numpy input, device='cuda'", t, reg.n_iter_,
                 mse_of(reg, X_gpu, y_gpu) / opt - 1))

    reg, t = timed(lambda: TorchLinearRegressor(device="cpu", random_state=0).fit(X_np, y_np), sync=False)
    rows.append((f"TorchLinearRegressor, CPU ({torch.get_num_threads()} threads)", t, reg.n_iter_,
                 mse_of(reg, X_gpu, y_gpu) / opt - 1))
    ridge, t = timed(lambda: Ridge(alpha=0.0, solver="cholesky").fit(X_np, y_np), sync=False)
    rows.append((f"sklearn Ridge(solver='cholesky'), CPU", t, None,
                 mse_of(ridge, X_gpu, y_gpu) / opt - 1))

    gb = X_np.nbytes / 1e9
    header = (
        f"GPU: {torch.cuda.get_device_name()} | CPU threads: {torch.get_num_threads()} | "
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}\n"
        f"X: {args.rows:,} x {args.features} float32 ({gb:.1f} GB), 2 targets; "
        f"optimum MSE {opt:.6f}\n"
    )
    table = ["| method | fit time (s) | iterations | excess MSE |", "|---|---|---|---|"]
    for name, t, iters, excess in rows:
        table.append(f"| {name} | {t:.3f} | {iters if iters is not None else '-'} | {excess:.1e} |")
    copies = (
        f"\nMoving X (numpy, {gb:.1f} GB) to the GPU: {t_copy:.3f} s pageable "
        f"({gb / t_copy:.1f} GB/s), {t_pinned:.3f} s from pinned memory ({gb / t_pinned:.1f} GB/s).\n"
    )
    report = header + "\n" + "\n".join(table) + "\n" + copies
    print(report)
    with open(os.path.join(args.out, "gpu_results.md"), "w") as f:
        f.write(report)
    with open(os.path.join(args.out, "gpu_results.json"), "w") as f:
        json.dump({"rows": rows, "copy_s": t_copy, "pinned_copy_s": t_pinned, "header": header}, f)


if __name__ == "__main__":
    main()
