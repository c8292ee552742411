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
    """Count the passes over X's memory (``data_ptr`` up to ``data_ptr + nbytes``) of torch matmuls.

    A product reading rows of X (a view into its memory: the whole of X, or
    one of the row blocks the engine reads a large X in) counts the fraction
    of X it reads, so the blocks of one evaluation add up to one pass.
    """

    def __init__(self, data_ptr, nbytes):
        super().__init__()
        self.start, self.end = data_ptr, data_ptr + nbytes
        self.nbytes = nbytes
        self.read = 0.0

    @property
    def passes(self):
        """Passes so far: whole when the fractions add up to one, else to 2 decimals."""
        whole = round(self.read)
        return whole if abs(self.read - whole) < 1e-9 else round(self.read, 2)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        # The engine's forward is an addmm (counted always); its products
        # with X's transpose (the gradient: autograd's backward, or the
        # closed form reading the block again while it is in cache) run with
        # grad mode off and are not counted, so an evaluation counts once.
        # Other products over X count when grad is on.
        counted = func in _FORWARDS or (func in _MATMULS and torch.is_grad_enabled())
        if counted:
            for a in args:
                if (isinstance(a, torch.Tensor) and a.layout == torch.strided
                        and self.start <= a.data_ptr() < self.end):
                    self.read += a.numel() * a.element_size() / self.nbytes
                    break
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
