"""Time, passes over X and memory to reach the least-squares optimum, side by side.

Run by hand (never by CI), from the repository root::

    python benchmarks/bench_convergence.py            # full run, several minutes
    python benchmarks/bench_convergence.py --quick    # small sizes, smoke check

It fits every method of ``_methods.all_methods()`` on every workload of
``_workloads.all_workloads()`` in this one process (the figure of merit is
the ratio of times within one run), measures extra peak memory in a child
process per workload, times warm fits on small data (``_small.py``) and what
a fresh process pays (``_fresh.py``, in child interpreters), and writes a
markdown report, headed by the targets met or not, with plots of excess
against passes and time, to ``--out`` (default ``docs/benchmarks``). Every
excess is measured against the workload's optimum solved in float64
(``_optimum.py``). See ``benchmarks/README.md`` for what each column means
and how it is measured.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]

import numpy as np  # noqa: E402
import torch  # noqa: E402

import _fresh  # noqa: E402
import _small  # noqa: E402
from _instrument import IterationLog, record_iterations  # noqa: E402
from _memory import extra_peak_memory  # noqa: E402
from _methods import INTELEX, TARGET, Torch, all_methods, intelex_version, warm_up  # noqa: E402
from _optimum import Optimum  # noqa: E402
from _report import machine, plot, table, targets_table  # noqa: E402
from _workloads import all_workloads  # noqa: E402

REFERENCE = 'Ridge(solver="cholesky")'


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class _FastBackwardMatmul(torch.autograd.Function):
    """``X @ B`` whose backward computes ``(G^T @ X)^T``, not autograd's ``X^T @ G``.

    For row-major X with few columns in G, torch's kernel for ``X.T @ G`` is
    several times slower than for ``G.T @ X`` (measured below).
    """

    @staticmethod
    def forward(ctx, X, B):
        ctx.save_for_backward(X)
        return X @ B

    @staticmethod
    def backward(ctx, G):
        (X,) = ctx.saved_tensors
        return None, (G.T.contiguous() @ X).T


def pass_costs(w, repeats=5):
    """Seconds of one forward + backward pass over X (autograd's and a faster backward), X^T X."""
    X = torch.from_numpy(w.X)
    Y = torch.from_numpy(w.Y)
    beta = torch.zeros(X.shape[1], Y.shape[1], dtype=X.dtype, requires_grad=True)

    def forward_backward(matmul):
        def run():
            beta.grad = None
            ((matmul(X, beta) - Y) ** 2).sum().backward()
        return run

    return (
        _median_time(forward_backward(torch.matmul), repeats),
        _median_time(forward_backward(_FastBackwardMatmul.apply), repeats),
        _median_time(lambda: X.T @ X, 3),
    )


def lbfgs_iteration_cost(trace):
    """Median seconds between consecutive L-BFGS iterations (after the first)."""
    gaps = np.diff(trace.times)
    return float(np.median(gaps)) if len(gaps) else None


# Back-to-back rounds on A and B: on a shared 2-core machine single rounds
# ranged from 0.33x to 1.85x Ridge's time in one afternoon; the median of 7
# is less at the mercy of one busy minute than that of 3.
HEAD_TO_HEAD_ROUNDS = 7


def head_to_head(w, lbfgs, methods, levels, rounds=HEAD_TO_HEAD_ROUNDS):
    """Per round, L-BFGS's time to each excess level and each direct solver's fit, back to back.

    The 1M-row fits of the table run minutes apart, on a machine whose load
    changes by the minute; here each round fits L-BFGS and then each of
    ``methods`` (direct solvers) at once, so the ratios of a round share its
    load. L-BFGS's iterates are those of its traced fit (same random_state):
    its excess at each iteration is known, only the clock is read.

    Returns ``{level: [ratio per round]}`` for each ``(level, method)`` pair,
    as ``{(level, name): [...]}``.
    """
    ratios = {}
    for _ in range(rounds):
        log = IterationLog()
        with record_iterations(log), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = Torch("lbfgs").estimator()
            log.start = time.perf_counter()
            est.fit(w.X, w.y)
        direct = {}
        for m in methods:
            start = time.perf_counter()
            m.fit_once(w.X, w.y)
            direct[m.name] = time.perf_counter() - start
        if len(log.times) != len(lbfgs.excesses):
            continue  # not the traced iterates: no excess to read
        for level, name in levels:
            hit = next((t for t, e in zip(log.times, lbfgs.excesses) if e <= level), None)
            if hit is not None:
                ratios.setdefault((level, name), []).append(hit / direct[name])
    return ratios


def run_workload(make, args, out_lines, summary):
    start = time.perf_counter()
    w = make()
    print(f"\n## {w.name} ({w.description}); generated in {time.perf_counter() - start:.1f} s",
          flush=True)
    opt = Optimum(w.X, w.Y)
    print(f"  float64 optimum: normal equations' relative residual {opt.residual:.1e}", flush=True)
    traces = []
    for method in all_methods():
        t0 = time.perf_counter()
        trace = method.trace(w, opt)
        traces.append(trace)
        print(f"  {trace.method:55s} fit {trace.fit_time:9.4f} s  excess {trace.excess:.2e}  "
              f"passes {trace.passes}  [{time.perf_counter() - t0:.1f} s]", flush=True)
    memory = {}
    # Below a few MB, page granularity and allocator slack swamp the figure.
    if not args.no_memory and w.X.nbytes >= 10_000_000:
        t0 = time.perf_counter()
        memory = extra_peak_memory(w)
        print(f"  memory child: {time.perf_counter() - t0:.1f} s", flush=True)

    extra = [f"Optimum solved in float64 (normal equations of `[X, 1]`, one refinement step): "
             f"relative residual of the equations {opt.residual:.1e}.", ""]
    lbfgs = next(t for t in traces if t.method == Torch("lbfgs").name)
    ridge = next(t for t in traces if t.method == REFERENCE)
    intelex = next((t for t in traces if t.method == "sklearnex LinearRegression"), None)
    per_iter = lbfgs_iteration_cost(lbfgs)
    fb = None
    if w.X.shape[0] >= 10_000:
        fb, fast, gram = pass_costs(w)
        extra.append(
            f"One torch forward + backward pass over X (autograd, as the engine does it): "
            f"{fb:.4f} s; the same with the backward as `(G.T @ X).T`: {fast:.4f} s; "
            f"X^T X: {gram:.4f} s; "
            f"TorchLinearRegressor(lbfgs) median time per iteration: "
            f"{per_iter if per_iter is None else f'{per_iter:.4f} s'} "
            f"({'—' if per_iter is None else f'{per_iter / fb:.2f}'}× the pass)."
        )
        extra.append("")
    rounds = {}
    if w.X.nbytes >= 10_000_000:
        methods = {m.name: m for m in all_methods()}
        levels = [(TARGET, REFERENCE)]
        if intelex is not None:
            levels.append((intelex.excess / 100, intelex.method))
        rounds = head_to_head(w, lbfgs, [methods[name] for _, name in levels], levels)
        extra += [f"Back to back, L-BFGS then the direct solver, in each of "
                  f"{HEAD_TO_HEAD_ROUNDS} rounds (ratios "
                  "of one round share its load): " + "; ".join(
                      f"time to {level:.1e} ÷ {name} fit: "
                      + ", ".join(f"{r:.2f}×" for r in rounds.get((level, name), [])) or "—"
                      for level, name in levels) + ".", ""]
        for (level, name), r in rounds.items():
            print(f"  head to head: time to {level:.1e} / {name}: {[round(x, 2) for x in r]}")
    summary.append(dict(name=w.name, lbfgs=lbfgs, ridge=ridge, intelex=intelex,
                        per_iter=per_iter, pass_time=fb, memory=memory.get(lbfgs.method),
                        rounds=rounds))
    section = table(w, traces, memory, REFERENCE, extra)
    figure = plot(w, traces, args.out)
    section += [f"![{w.name}]({figure})", ""]
    print("\n".join(section), flush=True)
    out_lines += section


def _rounds(ratios):
    return f"back-to-back rounds: {', '.join(f'{r:.2f}' for r in ratios)}; " if ratios else ""


def _fmt_s(t):
    return "—" if t is None else f"{t:.3f} s"


def _verdict(value, bound):
    # None: never reached (a time to a level) or not measured (memory).
    return "not met" if value is None or value > bound else "met"


def target_rows(summary, small, fresh):
    """``(target, bound, measured, verdict)`` for each target of the issue, from this run."""
    rows = []
    for s in summary:
        name, lbfgs, ridge = s["name"], s["lbfgs"], s["ridge"]
        to_target = lbfgs.time_to_target()
        if name in ("A", "B"):
            ratio = None if to_target is None else to_target / ridge.fit_time
            back = s["rounds"].get((TARGET, REFERENCE), [])
            if back:  # the median of the back-to-back rounds decides
                ratio = statistics.median(back)
            rows.append((f"{name}: time to excess ≤ {TARGET:g} ÷ Ridge(cholesky) fit", "≤ 1.0×",
                         "not reached" if ratio is None else
                         f"{ratio:.2f}× ({_rounds(back)}table: "
                         f"{_fmt_s(to_target)} / {ridge.fit_time:.3f} s)",
                         _verdict(ratio, 1.0)))
            rows.append((f"{name}: passes over X per fit", "≤ 4", f"{lbfgs.passes}",
                         _verdict(lbfgs.passes, 4)))
            mem = s["memory"]
            rows.append((f"{name}: extra peak memory", "≤ 0.1× X",
                         "not measured" if mem is None else f"{mem:.3f}× X",
                         "not measured" if mem is None else _verdict(mem, 0.1)))
            intelex = s["intelex"]
            if intelex is not None:
                level = intelex.excess / 100
                to_level = lbfgs.time_to_target(level)
                ratio = None if to_level is None else to_level / intelex.fit_time
                back = s["rounds"].get((level, intelex.method), [])
                if back:
                    ratio = statistics.median(back)
                rows.append((f"{name} (aim): time to 1/100 of sklearnex LinearRegression's "
                             f"excess ({level:.1e}) ÷ its fit", "≤ 1.0×",
                             "not reached" if ratio is None else
                             f"{ratio:.2f}× ({_rounds(back)}table: {_fmt_s(to_level)} / "
                             f"{intelex.fit_time:.3f} s)",
                             _verdict(ratio, 1.0)))
            if s["per_iter"] is not None and s["pass_time"]:
                ratio = s["per_iter"] / s["pass_time"]
                rows.append((f"{name} (earlier issue): L-BFGS iteration ÷ autograd forward + "
                             "backward", "≤ 1.2", f"{ratio:.2f}", _verdict(ratio, 1.2)))
        if name == "sourdough":
            ok = lbfgs.fit_time <= 0.005 and lbfgs.excess <= 1e-6
            rows.append(("sourdough (earlier issue): warm fit at excess ≤ 1e-6", "≤ 5 ms",
                         f"{lbfgs.fit_time * 1000:.2f} ms, excess {lbfgs.excess:.1e}",
                         "met" if ok else "not met"))
    for name, _, _, results in small:
        ratio = results[Torch("lbfgs").name][0] / results[_small.REFERENCE][0]
        rows.append((f"{name}: warm fit ÷ Ridge(cholesky)", "≤ 2×", f"{ratio:.2f}×",
                     _verdict(ratio, 2.0)))
    if fresh:
        torch_name, ridge_name = _fresh.CONTENDERS
        t, r = fresh["first"][torch_name], fresh["first"][ridge_name]
        rows.append(("first fit of a process (diabetes): process start to end of fit",
                     "measured, beside Ridge",
                     f"{t['total']:.2f} s (import {t['import']:.2f} s, fit {t['fit']:.2f} s); "
                     f"Ridge {r['total']:.2f} s (import {r['import']:.2f} s, fit "
                     f"{r['fit']:.3f} s)", "reported"))
        t, r = fresh["grid"][torch_name], fresh["grid"][ridge_name]
        rows.append(("GridSearchCV(n_jobs=2), 20 fits + refit, fresh workers",
                     "measured, beside Ridge",
                     f"{t['grid']:.2f} s; Ridge {r['grid']:.2f} s ({t['grid'] / r['grid']:.1f}×)",
                     "reported"))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke check")
    parser.add_argument("--out", default=str(_HERE.parent / "docs" / "benchmarks"),
                        help="folder for results.md and the PNG plots")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--only", nargs="*", help="parts to run: sourdough small A B warm fresh (default: all)")
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    warm_up()
    load = os.getloadavg()
    installed = intelex_version()
    header = [
        "# Convergence benchmark: TorchLinearRegressor against scikit-learn, "
        "scikit-learn-intelex and skorch",
        "",
        f"Written by `python benchmarks/bench_convergence.py{' --quick' if args.quick else ''}` "
        f"on {datetime.date.today().isoformat()}. Methods and measurement: "
        "`benchmarks/README.md` in the repository.",
        "",
        *machine(),
        "- The machine is shared with other jobs: absolute times are noisy; the ratios "
        "between methods measured in this one process are the figure of merit. Load "
        f"average at the start: {load[0]:.2f} (1 min), {load[1]:.2f} (5 min).",
        "- Fit times: the median over the repeats shown (TorchLinearRegressor's Adam and SGD "
        "on the 1M-row workloads: one run; direct solvers: fewer repeats once they took 5 s). "
        "Baselines without a stopping rule of their own (SGDRegressor, skorch) run a fixed "
        "budget of epochs and report the excess reached.",
        "- Every excess is `(MSE − MSE_opt) / MSE_opt` against the optimum solved in "
        "float64, outside the timed regions.",
        "",
    ]
    if not installed:
        print(f"{INTELEX}: not installed; its contenders are left out "
              "(pip install scikit-learn-intelex)", flush=True)
    body, summary, small, fresh = [], [], [], None
    for key, make in all_workloads(args.quick):
        if args.only and key not in args.only:
            continue
        run_workload(make, args, body, summary)
    if not args.only or "warm" in args.only:
        print("\n## Small data: warm fits", flush=True)
        small = _small.run(args.quick)
        body += _small.table(small)
    if not args.only or "fresh" in args.only:
        print("\n## Fresh processes", flush=True)
        repeats = 1 if args.quick else 3
        fresh = _fresh.run(repeats)
        body += _fresh.table(fresh, repeats)
    total = time.perf_counter() - started
    load = os.getloadavg()
    footer = [f"Total benchmark time: {total:.0f} s; load average at the end: {load[0]:.2f} "
              f"(1 min), {load[1]:.2f} (5 min).", ""]
    targets = targets_table(target_rows(summary, small, fresh))
    print("\n" + "\n".join(targets))
    text = "\n".join(header + targets + ["## Results by workload", ""] + body + footer)
    (Path(args.out) / "results.md").write_text(text)
    print(f"\nWrote {Path(args.out) / 'results.md'} in {total:.0f} s")


if __name__ == "__main__":
    main()
