"""notebook_loop computes the seed notebook's loop exactly; the demo quotes it."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from skorch_lite.datasets import NOTEBOOK_EPOCHS, load_sourdough, notebook_loop


def run_the_notebook_loop(epochs, seed):
    """The notebook's float32 autograd loop, as it wrote it."""
    X, Y = load_sourdough(return_X_y=True)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(Y)
    torch.manual_seed(seed)
    w = torch.randn(2, 3, requires_grad=True)
    b = torch.randn(2, requires_grad=True)
    for _ in range(epochs):
        loss = ((inputs @ w.t() + b - targets) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= w.grad * 1e-5
            b -= b.grad * 1e-5
            w.grad.zero_()
            b.grad.zero_()
    with torch.no_grad():
        return ((inputs @ w.t() + b - targets) ** 2).mean().item(), w.numpy(), b.numpy()


@pytest.mark.parametrize("seed", [0, 1])
def test_the_closed_form_is_the_loop_up_to_float32_rounding(seed):
    mse, w, b = run_the_notebook_loop(2_000, seed)
    result = notebook_loop(2_000, random_state=seed)
    assert result.mse == pytest.approx(mse, rel=1e-4)
    np.testing.assert_allclose(result.coef, w, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(result.intercept, b, rtol=1e-3, atol=1e-3)


def test_the_loss_curve_falls_towards_the_optimum_and_ends_at_mse():
    result = notebook_loop(1_000)
    assert len(result.loss_curve) == 1_000 and result.loss_curve[-1] == result.mse
    assert np.all(np.diff(result.loss_curve) <= 0)
    assert result.mse > result.optimum == pytest.approx(6.0605, abs=1e-4)
    with pytest.raises(ValueError, match="at least 1"):
        notebook_loop(0)


def test_the_demo_names_every_coefficient_and_quotes_the_loop():
    out = subprocess.run(
        [sys.executable, "-m", "skorch_lite"], capture_output=True, text=True, check=True,
    ).stdout
    header = next(line for line in out.splitlines() if "intercept_" in line and "acidity" in line)
    assert header.split() == ["proofing_time", "acidity", "starter_age", "intercept_"]
    rows = [line.split() for line in out.splitlines() if line.startswith(("flavour", "crust"))]
    assert [row[0] for row in rows] == ["flavour", "crust"] and all(len(r) == 5 for r in rows)
    loop = notebook_loop()
    assert loop.epochs == NOTEBOOK_EPOCHS
    assert f"MSE {loop.mse:.2f} after {NOTEBOOK_EPOCHS:,} epochs" in out
