"""Every script in examples/ runs to completion, and says what it claims.

Each runs in a fresh interpreter, as a user (or the documentation build)
would run it, with matplotlib drawing off-screen.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skorch_lite

ROOT = Path(__file__).resolve().parents[1]
# Child processes import the skorch_lite under test, wherever it lives.
PACKAGE_ROOT = Path(skorch_lite.__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
TIMEOUT_S = 300


def run_example(name):
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def number_after(label, text):
    match = re.search(re.escape(label) + r"\s*([-+0-9.e]+)", text)
    assert match, f"{label!r} not in output:\n{text}"
    return float(match.group(1))


def test_every_example_is_covered_here():
    names = {path.name for path in EXAMPLES}
    assert names == {
        "plot_sourdough.py", "plot_diabetes_grid_search.py",
        "plot_linnerud_multioutput.py", "plot_distributed_search.py",
        "plot_partial_fit_memmap.py", "plot_losses_with_outliers.py",
        "plot_custom_torch_loss.py", "plot_wine_classification.py",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_has_a_gallery_header(path):
    text = path.read_text()
    lines = text.split('"""', 2)[1].strip().splitlines()
    title, underline = lines[0], lines[1]
    assert set(underline) == {"="} and len(underline) >= len(title)
    assert "# %%" in text


def test_sourdough_example_reaches_the_optimum_the_loop_misses():
    out = run_example("plot_sourdough.py")
    optimum = number_after("least-squares optimum: MSE", out)
    loop = number_after("epochs: MSE", out)
    estimator = number_after("TorchLinearRegressor: MSE", out)
    assert optimum == pytest.approx(6.0605, abs=1e-4)
    assert estimator == pytest.approx(optimum, abs=1e-4)
    assert loop > 4 * optimum


def test_diabetes_grid_search_example_agrees_with_ridge():
    out = run_example("plot_diabetes_grid_search.py")
    assert number_after("largest difference in mean R^2 from Ridge:", out) < 1e-9
    assert 0.4 < number_after("cross-validated R^2:", out) < 0.6


def test_linnerud_example_agrees_three_ways():
    out = run_example("plot_linnerud_multioutput.py")
    assert "coef_ shape: (3, 3)" in out
    assert number_after("joint vs per target:", out) < 1e-9
    assert number_after("joint vs Ridge:", out) < 1e-9


def test_distributed_example_starts_and_closes_its_cluster():
    out = run_example("plot_distributed_search.py")
    assert "skorch_lite on the workers: ['0.1.0']" in out
    assert number_after("from the local run:", out) < 1e-12


def test_memmap_streaming_example_reaches_the_optimum_r2():
    out = run_example("plot_partial_fit_memmap.py")
    best = number_after("R^2 of the least-squares optimum:", out)
    streamed = number_after("R^2 after 2 passes over the file:", out)
    assert streamed > best - 1e-4


def test_losses_example_resists_outliers_and_matches_scikit_learn():
    out = run_example("plot_losses_with_outliers.py")
    assert number_after("huber slope vs HuberRegressor: relative difference", out) < 1e-3
    for q in ("0.1", "0.5", "0.9"):
        line = re.search(rf"quantile {q}: share of y below the line ([0-9.]+).*"
                         r"QuantileRegressor's ([-+0-9.e]+)", out)
        assert abs(float(line.group(1)) - float(q)) < 0.01
        assert float(line.group(2)) < 1e-3


def test_custom_loss_example_reaches_the_scipy_optimum():
    out = run_example("plot_custom_torch_loss.py")
    assert number_after("relative difference in the objective:", out) < 1e-6
    assert number_after("weighted vs repeated rows, relative difference in coef_:", out) < 1e-9


def test_wine_classification_example_agrees_with_logistic_regression():
    out = run_example("plot_wine_classification.py")
    assert number_after("largest difference in predict_proba from LogisticRegression:", out) < 1e-5
    assert number_after("largest difference in predict_proba over the path:", out) < 1e-5
