"""Warm fits on small data: diabetes (442 x 10) and 20,000 x 20, against Ridge.

A warm fit is one after a first fit in the same process (torch.optim's
lazy imports and every code path already run). On data this small a fit
takes milliseconds and a busy machine shifts every time; so the contenders
are timed in rounds, each round fitting every contender a block of times in
turn, and each reports its median over all its fits. The ratio of two
medians measured this way is the figure of merit. (Blocks rather than
alternating single fits: each library's thread pool, OpenMP, OpenBLAS or
TBB, spins for a while after its work and would slow the next library's
fit; within a block a fit only follows its own kind.)
"""

import statistics
import time
import warnings

from skorch_lite._devices import one_thread_if

from _methods import Direct, Torch, _linear_regression, _ridge_cholesky, intelex_methods
from _optimum import Optimum
from _workloads import small_float64

REFERENCE = 'Ridge(solver="cholesky")'


def _one_torch_thread():
    # What a caller would write around a fit; the library's own context.
    return one_thread_if(True)


class _OneThread(Torch):
    """TorchLinearRegressor with the caller setting one torch thread around the fit.

    What choosing the thread count by problem size inside the library would
    give (the library does not do it yet).
    """

    def __init__(self):
        super().__init__("lbfgs")
        self.name = "TorchLinearRegressor, 1 torch thread (set by the caller)"

    def fit_once(self, X, y, budget=None):
        with _one_torch_thread():
            return super().fit_once(X, y, budget)


def small_workloads(quick=False):
    """``(name, X, y)`` of diabetes and 20,000 x 20 (float64, column scales 0.1-10)."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    n = 5_000 if quick else 20_000
    w = small_float64(n=n, p=20)
    return [("diabetes", "442 x 10, float64 (sklearn.datasets.load_diabetes)", X, y),
            (f"{n:,} x 20", f"{n:,} x 20 x 1, float64, column scales 0.1-10", w.X, w.y)]


def contenders():
    return [Torch("lbfgs"), _OneThread(), Direct(REFERENCE, _ridge_cholesky),
            Direct("LinearRegression", _linear_regression), *intelex_methods()]


def warm_fits(X, y, rounds, block):
    """Median warm-fit seconds and the excess reached, per contender: ``{name: (s, excess)}``."""
    opt = Optimum(X, y.reshape(len(y), -1))
    methods = contenders()
    times = {m.name: [] for m in methods}
    models = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in methods:  # the first fit of each, untimed
            m.fit_once(X, y)
        for _ in range(rounds):
            for m in methods:
                for _ in range(block):
                    start = time.perf_counter()
                    models[m.name] = m.fit_once(X, y)
                    times[m.name].append(time.perf_counter() - start)
    return {name: (statistics.median(t), opt.excess(models[name].coef_, models[name].intercept_))
            for name, t in times.items()}


def run(quick=False):
    """Measure both workloads; return ``[(name, description, rounds, results)]``."""
    out = []
    for name, description, X, y in small_workloads(quick):
        rounds, block = (3, 5) if quick else ((15, 21) if len(X) < 1000 else (15, 7))
        results = warm_fits(X, y, rounds, block)
        out.append((name, description, f"{rounds} rounds of {block} fits", results))
        ref = results[REFERENCE][0]
        for method, (seconds, excess) in results.items():
            print(f"  {name:12s} {method:58s} {seconds * 1000:8.3f} ms  {seconds / ref:6.2f}x Ridge"
                  f"  excess {excess:.1e}", flush=True)
    return out


def table(measured):
    """Markdown: one table per workload, ratios to Ridge(cholesky)."""
    lines = [
        "## Small data: warm fits",
        "",
        "A warm fit follows a first fit in the same process. Contenders are timed in "
        "rounds (each round fits every contender a block of times, in turn) and each "
        "reports its median; the ratio divides by the median of "
        f"`{REFERENCE}`. Excess against the float64 optimum.",
        "",
    ]
    for name, description, repeats, results in measured:
        ref = results[REFERENCE][0]
        lines += [f"### {name}: {description}; {repeats} each", "",
                  "| method | median warm fit | ÷ Ridge(cholesky) | excess |",
                  "|---|---:|---:|---:|"]
        for method, (seconds, excess) in results.items():
            lines.append(f"| {method} | {seconds * 1000:.2f} ms | {seconds / ref:.2f}× | "
                         f"{'0' if excess == 0 else f'{excess:.1e}'} |")
        lines.append("")
    return lines

