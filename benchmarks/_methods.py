"""The contenders, each measured the way a user would call it.

Every method produces a :class:`Trace`: the wall time of its fit, the excess
it reached, the passes over X it made, and a curve of excess against time
and passes. Only the fit is timed; excesses are computed afterwards (or,
for the epoch-by-epoch baselines, between epochs with the clock stopped).
"""

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from _instrument import IterationLog, PassCounter, record_iterations

TARGET = 1e-5


@dataclass
class Trace:
    method: str
    fit_time: float
    excess: float
    passes: object  # int, or None where a direct solver's passes are not observable
    n_iter: object = None
    times: list = field(default_factory=list)
    curve_passes: list = field(default_factory=list)
    excesses: list = field(default_factory=list)
    repeats: int = 1
    note: str = ""

    def time_to_target(self, level=TARGET):
        """First time the excess was at most ``level`` (the fit time for one-shot solvers)."""
        if not self.times:
            return self.fit_time if self.excess <= level else None
        for t, e in zip(self.times, self.excesses):
            if e <= level:
                return t
        return None

    def passes_to_target(self):
        if not self.curve_passes:
            return self.passes if self.excess <= TARGET else None
        for p, e in zip(self.curve_passes, self.excesses):
            if e <= TARGET:
                return p
        return None


def _median_run(runs):
    """The run whose time is the median (the lower middle for an even count)."""
    ordered = sorted(runs, key=lambda r: r[0])
    return ordered[(len(ordered) - 1) // 2]


# --------------------------------------------------------- TorchLinearRegressor


class Torch:
    def __init__(self, solver):
        self.solver = solver
        self.name = f"TorchLinearRegressor({solver})"

    def estimator(self, budget=None):
        from skorch_lite import TorchLinearRegressor

        est = TorchLinearRegressor(solver=self.solver, random_state=0)
        if budget is not None and self.solver != "lbfgs":
            est.set_params(max_iter=budget)
        return est

    def fit_once(self, X, y, budget=None):
        est = self.estimator()
        if budget is not None:
            est.set_params(max_iter=budget)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return est.fit(X, y)

    def trace(self, w, opt):
        budget = w.torch_iter_budget
        # One fit with probes: passes and the exact excess of every iterate.
        probe = IterationLog()
        probe.counter = PassCounter(w.X.ctypes.data, w.X.nbytes)
        with probe.counter, record_iterations(probe, keep_iterates=True), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probed = self.estimator(budget)
            probe.start = time.perf_counter()
            probed.fit(w.X, w.y)
            probe_time = time.perf_counter() - probe.start
        excesses = [opt.excess(c, b) for c, b in probe.iterates]

        # Timed fits without probes (only a clock read per iteration); the same
        # random_state gives the same iterates. Adam and SGD (hundreds of
        # passes) on the larger workloads are timed from the probed run itself:
        # the probes cost microseconds per torch call, against milliseconds per pass.
        runs = []
        if self.solver == "lbfgs" or w.X.nbytes < 1_000_000:
            for _ in range(w.repeats):
                log = IterationLog()
                with record_iterations(log), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = self.estimator(budget)
                    log.start = time.perf_counter()
                    est.fit(w.X, w.y)
                    elapsed = time.perf_counter() - log.start
                runs.append((elapsed, log, est))
            fit_time, log, est = _median_run(runs)
        else:
            fit_time, log, est = probe_time, probe, probed
        times = log.times if len(log.times) == len(excesses) else probe.times
        notes = []
        if budget is not None and self.solver != "lbfgs":
            notes.append(f"budget max_iter={budget}")
        if log is probe:
            notes.append("timed with probes")
        if probed.n_iter_ != est.n_iter_:
            notes.append("probed run differs")
        return Trace(
            self.name, fit_time, opt.excess(est.coef_, est.intercept_),
            passes=probe.counter.passes, n_iter=est.n_iter_, times=times,
            curve_passes=probe.passes, excesses=excesses, repeats=max(len(runs), 1),
            note="; ".join(notes),
        )


# ------------------------------------------------------------- direct solvers


class Direct:
    def __init__(self, name, make):
        self.name, self.make = name, make

    def fit_once(self, X, y, budget=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.make().fit(X, y)

    def trace(self, w, opt, budget_s=5.0):
        runs = []
        # Repeats stop once they have taken budget_s (LinearRegression's
        # lstsq on the 1M-row workloads takes 5-13 s a fit).
        while len(runs) < w.repeats and sum(r[0] for r in runs) < budget_s:
            start = time.perf_counter()
            est = self.fit_once(w.X, w.y)
            runs.append((time.perf_counter() - start, est))
        fit_time, est = _median_run(runs)
        return Trace(self.name, fit_time, opt.excess(est.coef_, est.intercept_),
                     passes=None, repeats=len(runs))


def _linear_regression():
    from sklearn.linear_model import LinearRegression

    return LinearRegression()


def _ridge_cholesky():
    from sklearn.linear_model import Ridge

    # alpha=0: the same optimum as everyone else (least squares).
    return Ridge(alpha=0.0, solver="cholesky")


# scikit-learn-intelex (oneDAL's normal equations) is a benchmark-only extra:
# without it, its contenders are left out and the report says so.
INTELEX = "scikit-learn-intelex"


def intelex_version():
    """The installed scikit-learn-intelex's version, or None."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        import sklearnex  # noqa: F401
    except ImportError:
        return None
    try:
        return version(INTELEX)
    except PackageNotFoundError:
        return getattr(sklearnex, "__version__", "?")


def _intelex_linear_regression():
    from sklearnex.linear_model import LinearRegression

    return LinearRegression()


def _intelex_ridge():
    from sklearnex.linear_model import Ridge

    # oneDAL runs solver="auto" only (other solvers fall back to scikit-learn).
    return Ridge(alpha=0.0)


class Intelex(Direct):
    """A scikit-learn-intelex estimator; the note says whether oneDAL ran the fit.

    sklearnex logs, at INFO level, "running accelerated version" when oneDAL
    fits and "running original Scikit-learn version" when it falls back.
    """

    def trace(self, w, opt):
        import logging

        logger = logging.getLogger("sklearnex")
        records = []
        handler = logging.Handler()
        handler.emit = lambda record: records.append(record.getMessage())
        # Listen, without printing: only our handler, nothing propagated.
        saved = logger.handlers, logger.level, logger.propagate
        logger.handlers, logger.propagate = [handler], False
        logger.setLevel(logging.INFO)
        try:
            trace = super().trace(w, opt)
        finally:
            logger.handlers, logger.propagate = saved[0], saved[2]
            logger.setLevel(saved[1])
        fits = [m for m in records if ".fit:" in m]
        if fits and all("accelerated" in m for m in fits):
            trace.note = "oneDAL"
        elif fits:
            trace.note = "fell back to scikit-learn"
        return trace


def intelex_methods():
    """scikit-learn-intelex's LinearRegression and Ridge, when it is installed."""
    if intelex_version() is None:
        return []
    return [Intelex("sklearnex LinearRegression", _intelex_linear_regression),
            Intelex("sklearnex Ridge(alpha=0)", _intelex_ridge)]


# ------------------------------------------- epoch-by-epoch baselines (budget)


class _Scaled:
    """Optional StandardScaler in front; maps coefficients back to raw X."""

    def __init__(self, scale):
        self.scale = scale
        self.scaler = None

    def transform(self, X):
        if not self.scale:
            return X
        from sklearn.preprocessing import StandardScaler

        self.scaler = StandardScaler()
        return self.scaler.fit_transform(X)

    def unscale(self, coef, intercept):
        if self.scaler is None:
            return coef, intercept
        coef = coef / self.scaler.scale_
        return coef, intercept - coef @ self.scaler.mean_


class SGD:
    """MultiOutputRegressor(SGDRegressor()), one ``partial_fit`` call per epoch."""

    two_d = True

    def __init__(self, scale):
        self.scale = scale
        self.name = ("StandardScaler + " if scale else "") + "MultiOutput(SGDRegressor)"

    def _make(self):
        from sklearn.linear_model import SGDRegressor
        from sklearn.multioutput import MultiOutputRegressor

        return MultiOutputRegressor(SGDRegressor(random_state=0))

    def fit_once(self, X, Y, budget=1):
        scaled = _Scaled(self.scale)
        Xs = scaled.transform(X)
        model = self._make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(budget):
                model.partial_fit(Xs, Y)
        return model

    def trace(self, w, opt, time_cap=120.0):
        clock = 0.0
        start = time.perf_counter()
        scaled = _Scaled(self.scale)
        Xs = scaled.transform(w.X)
        model = self._make()
        clock += time.perf_counter() - start
        times, passes, excesses = [], [], []
        k = w.Y.shape[1]
        note = ""
        for epoch in range(1, w.sgd_epochs + 1):
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.partial_fit(Xs, w.Y)
            except ValueError as error:  # SGDRegressor raises on overflow
                note = f"diverged at epoch {epoch}: {str(error)[:40]}"
                excesses.append(float("inf"))
                break
            finally:
                clock += time.perf_counter() - start
            coef = np.vstack([e.coef_ for e in model.estimators_])
            intercept = np.concatenate([e.intercept_ for e in model.estimators_])
            excesses.append(opt.excess(*scaled.unscale(coef, intercept)))
            times.append(clock)
            passes.append(2 * self.scale + epoch * k)
            if clock > time_cap:
                note = f"time cap {time_cap:.0f} s"
                break
        return Trace(self.name, clock, excesses[-1], passes=passes[-1] if passes else None,
                     n_iter=len(times), times=times, curve_passes=passes,
                     excesses=excesses[: len(times)], note=note or f"budget {len(times)} epochs")


class Skorch:
    """skorch's NeuralNetRegressor on an nn.Linear, behind a StandardScaler."""

    name = "StandardScaler + skorch NeuralNetRegressor(nn.Linear)"
    two_d = True

    def _net(self, n_features, n_targets, epochs, callbacks=()):
        import torch
        from skorch import NeuralNetRegressor

        # Defaults (SGD, lr=0.01, batch_size=128) except train_split=None:
        # the default 20% validation split would leave the optimum of the
        # whole data out of reach.
        return NeuralNetRegressor(
            torch.nn.Linear, module__in_features=n_features, module__out_features=n_targets,
            max_epochs=epochs, train_split=None, verbose=0, callbacks=list(callbacks),
        )

    def fit_once(self, X, Y, budget=1):
        import torch

        torch.manual_seed(0)
        scaled = _Scaled(True)
        Xs = scaled.transform(X.astype(np.float32, copy=False))
        return self._net(X.shape[1], Y.shape[1], budget).fit(Xs, Y.astype(np.float32))

    def trace(self, w, opt):
        import torch
        from skorch.callbacks import Callback

        # skorch needs float32 (float64 input fails); cast outside the clock.
        X32, Y32 = w.X.astype(np.float32, copy=False), w.Y.astype(np.float32)
        scaled = _Scaled(True)
        times, passes, excesses = [], [], []
        paused = [0.0]
        start = [0.0]

        class Record(Callback):
            def on_epoch_end(self, net, **kwargs):
                now = time.perf_counter()
                times.append(now - start[0] - paused[0])
                layer = net.module_
                coef = layer.weight.detach().double().numpy()
                intercept = layer.bias.detach().double().numpy()
                excesses.append(opt.excess(*scaled.unscale(coef, intercept)))
                passes.append(2 + len(times))
                paused[0] += time.perf_counter() - now

        torch.manual_seed(0)
        start[0] = time.perf_counter()
        Xs = scaled.transform(X32)
        net = self._net(w.X.shape[1], w.Y.shape[1], w.skorch_epochs, [Record()])
        net.fit(Xs, Y32)
        fit_time = time.perf_counter() - start[0] - paused[0]
        return Trace(self.name, fit_time, excesses[-1], passes=passes[-1],
                     n_iter=len(times), times=times, curve_passes=passes,
                     excesses=excesses, note=f"budget {len(times)} epochs")


def all_methods():
    return [
        Torch("lbfgs"), Torch("adam"), Torch("sgd"),
        Direct("LinearRegression", _linear_regression),
        Direct('Ridge(solver="cholesky")', _ridge_cholesky),
        *intelex_methods(),
        SGD(scale=False), SGD(scale=True), Skorch(),
    ]


def warm_up():
    """Import and run every code path once on tiny data (torch.optim imports dynamo lazily)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    Y = X @ rng.standard_normal((3, 2))
    for method in all_methods():
        if isinstance(method, Direct):
            method.fit_once(X, Y)
        else:
            method.fit_once(X, Y, budget=2)
        if isinstance(method, Torch):
            method.fit_once(X.astype(np.float32), Y.astype(np.float32), budget=2)
