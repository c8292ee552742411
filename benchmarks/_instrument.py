"""Seeing inside a TorchLinearRegressor fit without touching the library.

Two probes, both installed only inside ``with`` blocks of the benchmark
process:

* :class:`PassCounter` counts passes over X: every torch matmul one of whose
  operands is X's memory (``X @ beta + c`` in the forward, ``X.T @ w`` for
  the column means). The backward's product with X runs with grad mode off
  and is not counted, so a forward + backward counts once, as the issue asks.
* :func:`record_iterations` replaces the engine's progress reporter by one
  that stamps the time of every iteration and, optionally, the accepted
  iterate (so its excess can be computed exactly in float64 afterwards).
"""

import contextlib
import time

import torch
from torch.overrides import TorchFunctionMode

import skorch_lite._engine as engine
import skorch_lite._regressor as regressor

_MATMULS = {torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__,
            torch.Tensor.__rmatmul__, torch.mm, torch.Tensor.mm, torch.mv,
            torch.Tensor.mv, torch.sparse.mm}
_FORWARDS = {torch.addmm, torch.Tensor.addmm}


class PassCounter(TorchFunctionMode):
    """Count torch matmuls that read the memory starting at ``data_ptr``."""

    def __init__(self, data_ptr):
        super().__init__()
        self.data_ptr = data_ptr
        self.passes = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        # The engine's forward is an addmm (counted always); its backward
        # product runs with grad mode off and is not counted, so a forward +
        # backward counts once. Other products over X count when grad is on.
        counted = func in _FORWARDS or (func in _MATMULS and torch.is_grad_enabled())
        if counted and any(
            isinstance(a, torch.Tensor) and a.data_ptr() == self.data_ptr for a in args
        ):
            self.passes += 1
        return func(*args, **(kwargs or {}))


class IterationLog:
    """Per-iteration records of one fit: times, pass counts, iterates."""

    def __init__(self):
        self.start = None
        self.times, self.passes, self.iterates = [], [], []
        self.counter = None
        self.last_entry = None
        self.precond = None


@contextlib.contextmanager
def record_iterations(log, keep_iterates=False):
    """Record, for each iteration of fits inside the block, its time since ``log.start``.

    With ``keep_iterates``, also the accepted ``(coef, intercept)`` as numpy
    arrays, and with ``log.counter`` set the passes counted so far.
    """
    original_progress = regressor.Progress
    original_current = engine._MemoClosure.current

    class Recorder(original_progress):
        def update(self, iteration, loss, validation_score=None):
            log.times.append(time.perf_counter() - log.start)
            if log.counter is not None:
                log.passes.append(log.counter.passes)
            if keep_iterates and log.last_entry is not None:
                with torch.no_grad():
                    theta, gamma = log.last_entry.values
                    coef, intercept = log.precond.coefficients(theta, gamma)
                log.iterates.append((coef.double().numpy(), intercept.double().numpy()))
            return super().update(iteration, loss, validation_score)

    def current(memo):
        # The engine reads the accepted point through ``current`` right before
        # reporting the iteration; remember it (and the change of variables).
        entry = original_current(memo)
        log.last_entry, log.precond = entry, memo.objective.precond
        return entry

    regressor.Progress = Recorder
    if keep_iterates:
        engine._MemoClosure.current = current
    try:
        yield log
    finally:
        regressor.Progress = original_progress
        engine._MemoClosure.current = original_current
