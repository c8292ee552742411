"""TorchLinearClassifier's precision: a column of extreme scale, and float32 data.

Run by hand from the repository root, never in CI::

    python benchmarks/bench_classifier_precision.py [--baseline REV]

* **scale**: one column of a 300 x 5 synthetic problem (2 and 3 classes)
  multiplied by ``10**e``, another by ``10**-e``, default ``alpha=0.5``;
  the largest error of ``predict_proba`` against the optimum of that
  problem, solved by Newton's method in float64 (the reference of
  ``tests/test_classifier_edges.py``).
* **float32**: breast cancer, wine and iris, standardized or not, alpha 0.5
  and 0.05; the relative error of ``coef_`` and the relative excess of the
  objective of a float32 fit against the float64 optimum (tol 1e-14) of the
  same, float32-rounded, data.

``--baseline REV`` measures that commit's package beside this checkout, in
the same process (see ``bench_onehot.py``).
"""

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from scipy.special import log_softmax

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "tests")]

from bench_onehot import compared_packages  # noqa: E402
from test_classifier_edges import (  # noqa: E402
    LOADERS, _probabilities, _scaled_reference, _synthetic)

EXPONENTS = (-150, -100, -20, -5, 0, 5, 20, 100, 150)


def scale_errors(package, n_classes):
    X, y = _synthetic(n_classes)
    errors = []
    for e in EXPONENTS:
        scale = np.ones(X.shape[1])
        scale[2], scale[4] = 10.0**e, 10.0**-e
        coef, intercept = _scaled_reference(X, y, 0.5, scale)
        try:
            clf = package.TorchLinearClassifier().fit(X * scale, y)
            errors.append(np.abs(clf.predict_proba(X * scale)
                                 - _probabilities(X, coef, intercept)).max())
        except Exception as error:  # noqa: BLE001 (an old package's failure is a figure)
            errors.append(type(error).__name__)
    return errors


def objective(X, y, coef, intercept, alpha):
    raw = X @ np.asarray(coef, np.float64).T + np.asarray(intercept, np.float64)
    if raw.shape[1] == 1:
        raw = np.column_stack([np.zeros(len(y)), raw[:, 0]])
    codes = np.searchsorted(np.unique(y), y)
    data = -log_softmax(raw, axis=1)[np.arange(len(y)), codes].sum()
    return (data + alpha * np.sum(np.asarray(coef, np.float64) ** 2)) / len(y)


def float32_errors(package, name, scaled, alpha):
    from sklearn.preprocessing import StandardScaler

    X, y = LOADERS[name](return_X_y=True)
    if scaled:
        X = StandardScaler().fit_transform(X)
    X32 = X.astype(np.float32)
    X64 = X32.astype(np.float64)
    ref = package.TorchLinearClassifier(alpha=alpha, tol=1e-14).fit(X64, y)
    clf = package.TorchLinearClassifier(alpha=alpha).fit(X32, y)
    best = objective(X64, y, ref.coef_, ref.intercept_, alpha)
    excess = (objective(X64, y, clf.coef_, clf.intercept_, alpha) - best) / best
    return np.abs(clf.coef_ - ref.coef_).max() / np.abs(ref.coef_).max(), excess


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git revision to measure beside this checkout")
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        packages = compared_packages(args.baseline, folder)
        print("max |predict_proba - optimum|, columns 2 and 4 times 10**e and 10**-e")
        print("| package | classes | " + " | ".join(f"e={e}" for e in EXPONENTS) + " |")
        print("|---|---:|" + "---:|" * len(EXPONENTS))
        for name, package in packages:
            for n_classes in (2, 3):
                errors = scale_errors(package, n_classes)
                cells = [v if isinstance(v, str) else f"{v:.1e}" for v in errors]
                print(f"| {name} | {n_classes} | " + " | ".join(cells) + " |", flush=True)
        print("\nfloat32 fit against the float64 optimum of the same data: "
              "coef_ relative error / objective relative excess")
        cases = [(n, s, a) for n in LOADERS for s in (True, False) for a in (0.5, 0.05)]
        print("| data | " + " | ".join(name for name, _ in packages) + " |")
        print("|---|" + "---:|" * len(packages))
        for n, s, a in cases:
            cells = ["{:.1e} / {:.1e}".format(*float32_errors(p, n, s, a)) for _, p in packages]
            label = f"{n} {'standardized' if s else 'raw'} alpha={a}"
            print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
