"""What the benchmark writes: the machine, the markdown table, the plots."""

import math
import os
import platform
from pathlib import Path

from _methods import TARGET


def machine():
    """CPU model, cores, memory and package versions, as markdown lines."""
    import matplotlib
    import numpy
    import scipy
    import sklearn
    import skorch
    import torch

    from _methods import intelex_version

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return [
        f"- Machine: {model}, {os.cpu_count()} cores, {memory} memory, {platform.system()} "
        f"{platform.release()}; torch intra-op threads: {torch.get_num_threads()}",
        f"- Versions: Python {platform.python_version()}, torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {numpy.__version__}, "
        f"scipy {scipy.__version__}, skorch {skorch.__version__}, "
        f"matplotlib {matplotlib.__version__}, "
        f"scikit-learn-intelex {intelex_version() or 'not installed'}",
    ]


def targets_table(rows):
    """Markdown: each target of the issue, what this run measured, met or not met."""
    lines = [
        "## Targets, as measured in this run",
        "",
        "Ratios are of times measured in this one run. \"earlier issue\": targets set "
        "before, kept in view.",
        "",
        "| target | bound | measured | status |",
        "|---|---|---|---|",
    ]
    for target, bound, measured, verdict in rows:
        status = f"**{verdict}**" if verdict == "not met" else verdict
        lines.append(f"| {target} | {bound} | {measured} | {status} |")
    return lines + [""]


def _fmt_time(t):
    if t is None:
        return "—"
    return f"{t * 1000:.2f} ms" if t < 0.1 else f"{t:.3f} s"


def _fmt_excess(e):
    if e is None or math.isnan(e):
        return "—"
    if math.isinf(e):
        return "diverged"
    return "0" if e == 0 else f"{e:.1e}"


def _fmt_ratio(a, b):
    return "—" if a is None or not b else f"{a / b:.2f}×"


def table(workload, traces, memory, reference_name, extra_lines=()):
    """Markdown section for one workload."""
    reference = next((t for t in traces if t.method == reference_name), None)
    ref_time = reference.fit_time if reference else None
    lines = [f"### {workload.name}: {workload.description}", ""]
    if not math.isnan(workload.condition):
        lines += [f"Condition number after standardizing columns: {workload.condition:.3g}.", ""]
    lines += list(extra_lines)
    # Two narrow tables rather than one of ten columns, which would need
    # horizontal scrolling on the documentation page.
    lines += [
        f"The ratio column divides by the fit time of `{reference_name}`.",
        "",
        f"| method | fit time | time to excess ≤ {TARGET:g} | excess reached | "
        f"time to {TARGET:g} ÷ {reference_name.split('(')[0]} fit |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in traces:
        to_target = t.time_to_target()
        lines.append(
            f"| {t.method} | {_fmt_time(t.fit_time)} | {_fmt_time(to_target)} | "
            f"{_fmt_excess(t.excess)} | {_fmt_ratio(to_target, ref_time)} |"
        )
    lines += [
        "",
        f"| method | passes over X (to {TARGET:g} / total) | iterations | "
        "extra peak memory (× X) | repeats | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for t in traces:
        p_to = t.passes_to_target()
        passes = "direct" if t.passes is None else f"{p_to if p_to is not None else '—'} / {t.passes}"
        mem = memory.get(t.method) if memory else None
        lines.append(
            f"| {t.method} | {passes} | {t.n_iter if t.n_iter is not None else '—'} | "
            f"{'—' if mem is None else f'{mem:.3f}'} | {t.repeats} | {t.note} |"
        )
    return lines + [""]


def plot(workload, traces, folder):
    """Excess against passes over X and against time; one PNG per workload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import NullFormatter

    fig, (by_pass, by_time) = plt.subplots(1, 2, figsize=(12, 5.6))
    floor, ceiling = 1e-12, 1e3
    colors = plt.get_cmap("tab10").colors
    for i, t in enumerate(traces):
        style = dict(color=colors[i % len(colors)], label=t.method)
        if t.times:
            e = [min(max(x, floor), ceiling) for x in t.excesses]
            by_pass.plot(t.curve_passes, e, marker=".", **style)
            by_time.plot(t.times, e, marker=".", **style)
        else:
            # Direct solvers are one point each: draw them above the curves.
            by_time.plot([t.fit_time], [min(max(t.excess, floor), ceiling)], marker="*",
                         markersize=12, linestyle="none", zorder=5, **style)
    for ax, xlabel in ((by_pass, "passes over X"), (by_time, "seconds (fit only)")):
        ax.set_yscale("log")
        ax.set_xscale("log")
        # Labels on the minor ticks of a log axis spanning less than a decade
        # overlap; the major labels suffice.
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.axhline(TARGET, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("excess (MSE − MSE_opt) / MSE_opt")
        ax.grid(True, which="both", alpha=0.3)
    # One legend for both panels, below them, where it hides no data: the
    # panels end above as many legend rows as there are contenders.
    handles, labels = by_time.get_legend_handles_labels()
    ncol = 3
    rows = math.ceil(len(labels) / ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.suptitle(f"{workload.name}: {workload.description} (excess clipped to "
                 f"[{floor:g}, {ceiling:g}]; stars: direct solvers)", fontsize=10)
    fig.tight_layout(rect=(0, 0.02 + 0.04 * rows, 1, 1))
    name = "convergence_" + "".join(c if c.isalnum() else "_" for c in workload.name) + ".png"
    fig.savefig(Path(folder) / name, dpi=110)
    plt.close(fig)
    return name
