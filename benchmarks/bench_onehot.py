"""Classification of a sparse one-hot design: TorchLinearClassifier beside LogisticRegression.

Run by hand from the repository root, never in CI::

    python benchmarks/bench_onehot.py                 # this checkout
    python benchmarks/bench_onehot.py --baseline HEAD~3   # and an earlier commit, same process

The design is 8000 x 150 sparse CSR: three categorical columns of 50
levels each, one-hot encoded (no level dropped, so beside the intercept the
centred columns are dependent), labels drawn from a softmax model; 2 and 3
classes, the default ``alpha=0.5`` (``C=1``). Times are the best of
``--repeats`` fits in this process after a warm-up; the machine is shared,
so the ratios to LogisticRegression are what to read. ``--baseline REV``
extracts that commit's package with ``git archive`` under another name and
times it in the same process. Each contender's coefficients are compared
with LogisticRegression(newton-cholesky, tol=1e-10), and the decompositions
(``_precondition._thin_svd`` calls, tall and small) of one fit are counted.
"""

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def workload(n_samples=8000, n_variables=3, levels=50, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    codes = np.stack([rng.integers(0, levels, n_samples) + v * levels
                      for v in range(n_variables)], axis=1)
    rows = np.repeat(np.arange(n_samples), n_variables)
    X = sp.csr_matrix((np.ones(codes.size), (rows, codes.ravel())),
                      shape=(n_samples, n_variables * levels))
    raw = X @ rng.normal(size=(X.shape[1], n_classes))
    P = np.exp(raw - raw.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    return X, (P.cumsum(1) > rng.random((n_samples, 1))).argmax(1)


def baseline_package(rev, folder):
    """Import ``rev``'s skorch_lite as ``skorch_lite_baseline`` (extracted with git archive)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "skorch_lite"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    Path(folder, "skorch_lite").rename(Path(folder, "skorch_lite_baseline"))
    sys.path.insert(0, folder)
    return importlib.import_module("skorch_lite_baseline")


def compared_packages(baseline, folder):
    """``[(name, package)]``: ``baseline``'s skorch_lite (when given) first, then this checkout's."""
    import skorch_lite

    packages = [("this checkout", skorch_lite)]
    if baseline:
        packages.insert(0, (baseline, baseline_package(baseline, folder)))
    return packages


def best_time(make, X, y, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model = make().fit(X, y)
        times.append(time.perf_counter() - start)
    return min(times), model


def decompositions(package, X, y):
    """(tall, small) SVDs of one fit: of matrices with at least as many rows as X, or fewer."""
    module = importlib.import_module(package.__name__ + "._precondition")
    original, shapes = module._thin_svd, []

    def counted(M):
        shapes.append(M.shape)
        return original(M)

    module._thin_svd = counted
    try:
        package.TorchLinearClassifier().fit(X, y)
    finally:
        module._thin_svd = original
    tall = sum(rows >= X.shape[0] // 2 for rows, _ in shapes)
    return tall, len(shapes) - tall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git revision to time beside this checkout")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        packages = compared_packages(args.baseline, folder)
        for n_classes in (2, 3):
            X, y = workload(n_classes=n_classes)
            reference = LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)
            seconds, _ = best_time(LogisticRegression, X, y, args.repeats)
            print(f"\n{n_classes} classes, {X.shape[0]} x {X.shape[1]} sparse one-hot; "
                  f"LogisticRegression(lbfgs) {seconds * 1e3:.0f} ms")
            print("| package | fit time | / LogisticRegression | iterations | SVDs tall + small "
                  "| max coef error |")
            print("|---|---:|---:|---:|---:|---:|")
            for name, package in packages:
                package.TorchLinearClassifier().fit(X, y)  # warm-up
                mine, model = best_time(package.TorchLinearClassifier, X, y, args.repeats)
                tall, small = decompositions(package, X, y)
                error = np.abs(model.coef_ - reference.coef_).max()
                print(f"| {name} | {mine * 1e3:.0f} ms | {mine / seconds:.1f} | {model.n_iter_} "
                      f"| {tall} + {small} | {error:.1e} |", flush=True)


if __name__ == "__main__":
    main()
