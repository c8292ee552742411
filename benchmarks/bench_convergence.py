"""Time, passes over X and memory to reach the least-squares optimum, side by side.

Run by hand (never by CI), from the repository root::

    python benchmarks/bench_convergence.py            # full run, several minutes
    python benchmarks/bench_convergence.py --quick    # small sizes, smoke check

It fits every method of ``_methods.all_methods()`` on every workload of
``_workloads.all_workloads()`` in this one process (the figure of merit is
the ratio of times within one run), measures extra peak memory in a child
process per workload, prints a markdown table and writes it, with plots of
excess against passes and time, to ``--out`` (default ``docs/benchmarks``).
See ``benchmarks/README.md`` for what each column means and how it is measured.
"""

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _memory import extra_peak_memory  # noqa: E402
from _methods import TARGET, Torch, all_methods, warm_up  # noqa: E402
from _optimum import Optimum  # noqa: E402
from _report import machine, plot, table  # noqa: E402
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


def run_workload(make, args, out_lines, summary):
    start = time.perf_counter()
    w = make()
    print(f"\n## {w.name} ({w.description}); generated in {time.perf_counter() - start:.1f} s",
          flush=True)
    opt = Optimum(w.X, w.Y)
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

    extra = []
    lbfgs = next(t for t in traces if t.method == Torch("lbfgs").name)
    ridge = next(t for t in traces if t.method == REFERENCE)
    per_iter = lbfgs_iteration_cost(lbfgs)
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
        summary.append((w.name, lbfgs, ridge, per_iter, fb, memory.get(lbfgs.method)))
    else:
        summary.append((w.name, lbfgs, ridge, per_iter, None, memory.get(lbfgs.method)))
    if extra:
        extra.append("")
    section = table(w, traces, memory, REFERENCE, extra)
    figure = plot(w, traces, args.out)
    section += [f"![{w.name}]({figure})", ""]
    print("\n".join(section), flush=True)
    out_lines += section


def summary_lines(summary):
    lines = ["## Performance targets, as measured in this run", ""]
    for name, lbfgs, ridge, per_iter, fb, mem in summary:
        to_target = lbfgs.time_to_target()
        bits = [f"**{name}**: L-BFGS fit {lbfgs.fit_time:.4g} s, excess {lbfgs.excess:.1e}, "
                f"{lbfgs.passes} passes; time to {TARGET:g}: "
                f"{'not reached' if to_target is None else f'{to_target:.4g} s'}"]
        if name == "sourdough":
            bits.append(f"median warm fit {lbfgs.fit_time * 1000:.2f} ms (target ≤ 5 ms at "
                        f"excess ≤ 1e-6: {'met' if lbfgs.fit_time <= 0.005 and lbfgs.excess <= 1e-6 else 'missed'})")
        if name in ("A", "B"):
            ratio = None if to_target is None else to_target / ridge.fit_time
            verdict = "missed" if ratio is None or ratio > 1.0 else "met"
            bits.append(f"time to {TARGET:g} / Ridge cholesky fit = "
                        f"{'—' if ratio is None else f'{ratio:.2f}×'} (target ≤ 1.0×: {verdict}; "
                        "aim 0.5×); "
                        f"passes ≤ 6: {'met' if lbfgs.passes <= 6 else 'missed'}")
            if mem is not None:
                bits.append(f"extra peak memory {mem:.3f}× X (target ≤ 0.1×: "
                            f"{'met' if mem <= 0.1 else 'missed'})")
            if per_iter is not None and fb:
                bits.append(f"time per L-BFGS iteration / forward+backward = {per_iter / fb:.2f} "
                            f"(target ≤ 1.2: {'met' if per_iter / fb <= 1.2 else 'missed'})")
        lines.append("- " + "; ".join(bits) + ".")
    return lines + [""]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke check")
    parser.add_argument("--out", default=str(_HERE.parent / "docs" / "benchmarks"),
                        help="folder for results.md and the PNG plots")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--only", nargs="*", help="workloads to run: sourdough small A B (default: all)")
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    warm_up()
    header = [
        "# Convergence benchmark: TorchLinearRegressor against scikit-learn and skorch",
        "",
        f"Written by `python benchmarks/bench_convergence.py{' --quick' if args.quick else ''}` "
        f"on {datetime.date.today().isoformat()}. Methods and measurement: "
        "`benchmarks/README.md` in the repository.",
        "",
        *machine(),
        "- The machine is shared with other jobs: absolute times are noisy; the ratios "
        "between methods measured in this one process are the figure of merit.",
        "- Small workloads: median over the repeats shown; 1M-row workloads: single runs. "
        "Baselines without a stopping rule of their own (SGDRegressor, skorch) run a fixed "
        "budget of epochs and report the excess reached.",
        "",
    ]
    body, summary = [], []
    for key, make in all_workloads(args.quick):
        if args.only and key not in args.only:
            continue
        run_workload(make, args, body, summary)
    total = time.perf_counter() - started
    footer = [f"Total benchmark time: {total:.0f} s.", ""]
    text = "\n".join(header + summary_lines(summary) + ["## Results by workload", ""]
                     + body + footer)
    (Path(args.out) / "results.md").write_text(text)
    print(f"\nWrote {Path(args.out) / 'results.md'} in {total:.0f} s")


if __name__ == "__main__":
    main()
