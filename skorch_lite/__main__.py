"""``python -m skorch_lite``: the seed notebook's sourdough fit, done right."""

import time

import numpy as np

from skorch_lite import TorchLinearRegressor
from skorch_lite.datasets import load_sourdough, notebook_loop


def main():
    data = load_sourdough()
    X64, y64 = data.data.astype(np.float64), data.target.astype(np.float64)
    loop = notebook_loop()

    # The first torch.optim step in a process imports torch._dynamo (~0.75 s):
    # warm up so that the timing below measures fitting, not importing.
    TorchLinearRegressor().fit(X64, y64)
    start = time.perf_counter()
    reg = TorchLinearRegressor().fit(X64, y64)
    elapsed = time.perf_counter() - start
    mse = np.mean((reg.predict(X64) - y64) ** 2)

    print("Sourdough: 10 loaves; proofing time, acidity, starter age -> flavour, crust")
    print("TorchLinearRegressor(), default parameters (L-BFGS)")
    print()
    print(_coefficient_table(reg, data.feature_names, data.target_names))
    print()
    print(f"final MSE               {mse:.4f}")
    print(f"least-squares optimum   {loop.optimum:.4f}")
    print(f"iterations (n_iter_)    {reg.n_iter_}")
    print(f"fit time                {elapsed * 1000:.1f} ms")
    print()
    step = f"{loop.learning_rate:.0e}".replace("e-0", "e-")
    print(
        f"The seed notebook's hand-written loop (gradient descent, step {step}, "
        f"random start of seed {loop.random_state}):"
    )
    print(f"MSE {loop.mse:.2f} after {loop.epochs:,} epochs (skorch_lite.datasets.notebook_loop).")

def _coefficient_table(reg, feature_names, target_names):
    """coef_ and intercept_ with a row per target and a column per feature."""
    columns = [*feature_names, "intercept_"]
    width = max(len(name) for name in columns) + 2
    label = max(len(name) for name in target_names) + 2
    lines = ["coef_ (a column per feature) and intercept_, a row per target:"]
    lines.append(" " * label + "".join(f"{name:>{width}}" for name in columns))
    for name, row, intercept in zip(target_names, reg.coef_, reg.intercept_):
        values = [*row, intercept]
        lines.append(f"{name:<{label}}" + "".join(f"{value:>{width}.4f}" for value in values))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
