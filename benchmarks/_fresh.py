"""What a fresh process pays: the first fit, and a GridSearchCV in fresh workers.

Each figure comes from its own child interpreter (this module run as a
script), started by :func:`run`; TorchLinearRegressor's and Ridge's children
alternate, and each figure is the median over the repeats.

* ``first``: time from the parent's ``Popen`` (process start) to the end of
  the first fit on diabetes, split into interpreter start-up, numpy and the
  data (loaded from ``.npy``), importing the estimator's package, and the fit.
  A second fit follows, for contrast. Times are ``time.monotonic()``, one
  clock for every process on Linux.
* ``dynamo``: after importing skorch_lite, ``import torch._dynamo`` alone:
  what the first ``torch.optim`` optimizer of a process imports.
* ``grid``: ``GridSearchCV(n_jobs=2)`` over four alphas with 5 folds (20 fits
  and the refit) on diabetes, timed in the child after its imports: its
  loky workers are fresh, so each imports the libraries and makes its first
  fits. A second, identical search reuses the warm workers.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
GRID = {"alpha": [0.01, 0.1, 1.0, 10.0]}
CONTENDERS = ("TorchLinearRegressor", 'Ridge(solver="cholesky")')


def _estimator(which):
    if which == "torch":
        from skorch_lite import TorchLinearRegressor

        return TorchLinearRegressor()
    from sklearn.linear_model import Ridge

    return Ridge(solver="cholesky")


def _child(mode, which, folder, spawned):
    main = time.monotonic()
    import numpy as np

    X = np.load(Path(folder) / "X.npy")
    y = np.load(Path(folder) / "y.npy")
    data = time.monotonic()
    if mode == "dynamo":
        import skorch_lite  # noqa: F401

        start = time.monotonic()
        import torch._dynamo  # noqa: F401

        return {"dynamo": time.monotonic() - start}
    if which == "torch":
        import skorch_lite  # noqa: F401
    else:
        import sklearn.linear_model  # noqa: F401
    imported = time.monotonic()
    if mode == "first":
        _estimator(which).fit(X, y)
        fitted = time.monotonic()
        _estimator(which).fit(X, y)
        return {"startup": main - spawned, "data": data - main, "import": imported - data,
                "fit": fitted - imported, "total": fitted - spawned,
                "second fit": time.monotonic() - fitted,
                "dynamo loaded": "torch._dynamo" in sys.modules}
    from sklearn.model_selection import GridSearchCV

    def search():
        start = time.monotonic()
        GridSearchCV(_estimator(which), GRID, cv=5, n_jobs=2).fit(X, y)
        return time.monotonic() - start

    return {"grid": search(), "grid again": search()}


def _spawn(mode, which, folder):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(_HERE.parent), os.environ.get("PYTHONPATH", "")]))
    spawned = time.monotonic()
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), mode, which, folder, repr(spawned)],
        env=env, capture_output=True, text=True, timeout=600, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs):
    return {k: statistics.median(r[k] for r in runs) if not isinstance(runs[0][k], bool)
            else all(r[k] for r in runs) for k in runs[0]}


def run(repeats=3):
    """``{"first": {name: times}, "grid": {name: times}, "dynamo": seconds}`` (medians)."""
    from sklearn.datasets import load_diabetes

    import numpy as np

    X, y = load_diabetes(return_X_y=True)
    results = {"first": {}, "grid": {}}
    with tempfile.TemporaryDirectory(prefix="skorch_lite_fresh_") as folder:
        np.save(Path(folder) / "X.npy", X)
        np.save(Path(folder) / "y.npy", y)
        for mode in ("first", "grid"):
            runs = {name: [] for name in CONTENDERS}
            for _ in range(repeats):
                for name, which in zip(CONTENDERS, ("torch", "ridge")):
                    runs[name].append(_spawn(mode, which, folder))
            results[mode] = {name: _median(r) for name, r in runs.items()}
        results["dynamo"] = statistics.median(
            _spawn("dynamo", "torch", folder)["dynamo"] for _ in range(repeats))
    for name, r in results["first"].items():
        print(f"  first fit, fresh process: {name:26s} total {r['total']:.3f} s (start-up "
              f"{r['startup']:.3f}, numpy+data {r['data']:.3f}, import {r['import']:.3f}, "
              f"fit {r['fit']:.3f}; second fit {r['second fit'] * 1000:.2f} ms)", flush=True)
    print(f"  import torch._dynamo alone, after skorch_lite: {results['dynamo']:.3f} s")
    for name, r in results["grid"].items():
        print(f"  GridSearchCV(n_jobs=2), fresh workers: {name:26s} {r['grid']:.3f} s "
              f"(again, warm workers: {r['grid again']:.3f} s)", flush=True)
    return results


def table(results, repeats):
    first, grid = results["first"], results["grid"]
    torch_name, ridge_name = CONTENDERS
    lines = [
        "## Fresh processes: the first fit, and a grid search in fresh workers",
        "",
        f"Medians of {repeats} child interpreters each, TorchLinearRegressor's and Ridge's "
        "alternating, on diabetes. Start-up: from the parent's `Popen` to the child's "
        "first line; import: the estimator's package (`skorch_lite`, which imports torch "
        "and scikit-learn; `sklearn.linear_model`).",
        "",
        "| contender | process start to end of first fit | start-up | numpy + data | import "
        "| first fit | second fit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in CONTENDERS:
        r = first[name]
        lines.append(f"| {name} | {r['total']:.3f} s | {r['startup']:.3f} s | {r['data']:.3f} s "
                     f"| {r['import']:.3f} s | {r['fit']:.3f} s | {r['second fit'] * 1000:.2f} ms |")
    dyn = "imports" if first[torch_name]["dynamo loaded"] else "does not import"
    lines += [
        "",
        f"TorchLinearRegressor's first fit {dyn} `torch._dynamo` (torch.optim's optimizers "
        "import it lazily, through `torch._disable_dynamo`, when the first one is built); "
        f"that import alone, measured in a fresh process after `import skorch_lite`, took "
        f"{results['dynamo']:.3f} s.",
        "",
        f"`GridSearchCV(estimator, {{'alpha': {GRID['alpha']}}}, cv=5, n_jobs=2).fit(X, y)` "
        "(20 fits in two fresh loky workers, then the refit in the parent), timed after the "
        "child's imports, and the same search again with the workers warm:",
        "",
        "| contender | fresh workers | ÷ Ridge | warm workers | ÷ Ridge |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in CONTENDERS:
        r = grid[name]
        lines.append(f"| {name} | {r['grid']:.3f} s | {r['grid'] / grid[ridge_name]['grid']:.1f}× "
                     f"| {r['grid again']:.3f} s | "
                     f"{r['grid again'] / grid[ridge_name]['grid again']:.1f}× |")
    return lines + [""]


if __name__ == "__main__":
    mode, which, folder, spawned = sys.argv[1:5]
    print(json.dumps(_child(mode, which, folder, float(spawned))))
