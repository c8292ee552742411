"""The 1M-row targets of issue 13 alone: L-BFGS's time to excess 1e-5 against Ridge's fit.

Run by hand from the repository root::

    python benchmarks/bench_targets.py          # workloads A and B
    python benchmarks/bench_targets.py B        # one of them

``bench_convergence.py`` measures the same figures among every contender
(minutes of SGD and skorch epochs on 1M rows); this runs only what the
targets' rows need: TorchLinearRegressor(lbfgs)'s traced fit (its excess at
each iteration, its passes over X), Ridge(solver="cholesky")'s fit, and 3
back-to-back rounds of both, whose median ratio decides "met" as in the
full report. Extra peak memory is not measured here.
"""

import statistics
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]

from bench_convergence import REFERENCE, head_to_head  # noqa: E402
from _methods import TARGET, Direct, Torch, _ridge_cholesky, warm_up  # noqa: E402
from _optimum import Optimum  # noqa: E402
from _workloads import workload_a, workload_b  # noqa: E402

WORKLOADS = {"A": workload_a, "B": workload_b}


def measure(make):
    """One line: L-BFGS's and Ridge's times, passes, the back-to-back ratios and their median."""
    w = make()
    opt = Optimum(w.X, w.Y)
    lbfgs = Torch("lbfgs").trace(w, opt)
    ridge = Direct(REFERENCE, _ridge_cholesky).trace(w, opt)
    rounds = head_to_head(w, lbfgs, [Direct(REFERENCE, _ridge_cholesky)], [(TARGET, REFERENCE)])
    ratios = rounds.get((TARGET, REFERENCE), [])
    to_target = lbfgs.time_to_target()
    median = statistics.median(ratios) if ratios else None
    verdict = "met" if median is not None and median <= 1.0 else "not met"
    return (
        f"{w.name}: time to excess <= {TARGET:g} / Ridge(cholesky) fit: median "
        f"{'—' if median is None else f'{median:.2f}'}x (back-to-back rounds: "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; table: "
        f"{'—' if to_target is None else f'{to_target:.3f}'} s / {ridge.fit_time:.3f} s) "
        f"{verdict}; passes over X {lbfgs.passes}; iterations {len(lbfgs.excesses)}; "
        f"excess reached {lbfgs.excess:.1e}"
    )


def main(argv=None):
    names = (sys.argv[1:] if argv is None else argv) or list(WORKLOADS)
    warm_up()
    for name in names:
        print(measure(WORKLOADS[name]), flush=True)


if __name__ == "__main__":
    main()
