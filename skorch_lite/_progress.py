"""What ``verbose`` prints: log lines (verbose=1) and a closing summary.

The progress bar of ``verbose >= 2`` is scikit-learn's
:class:`~sklearn.callback.ProgressBar` (drawn by rich), set up for the fit
in :mod:`._callbacks`; this reporter prints only text. It lives for the
duration of ``fit``; nothing of it is stored on the estimator, so a fitted
model pickles whatever ``verbose`` was.
"""

import sys
import time

# The engine reports the objective in y's units: say so once, not each line.
HEADER = "Loss: mean squared error + penalty, in squared units of y."


class Progress:
    """Report training progress once per iteration (epoch for mini-batches).

    Parameters
    ----------
    verbose : int
        0 prints nothing; 1 prints a header, one line per iteration and a
        summary on stdout; 2 or more only the summary (the bar shows the rest).
    max_iter : int
        Most iterations of this fit, which sets the width of the counter.
    stream : file-like, default=None
        Where to print; None is stdout.

    Examples
    --------
    >>> from skorch_lite._progress import Progress
    >>> progress = Progress(verbose=1, max_iter=10)
    >>> progress.update(1, 2345.678, validation_score=0.91234)
    Loss: mean squared error + penalty, in squared units of y.
    Iteration  1  loss 2345.68  validation R^2 0.9123
    >>> progress.update(2, 23.5)
    Iteration  2  loss 23.5000
    """

    def __init__(self, verbose, max_iter, stream=None, header=HEADER, score_name="R^2"):
        self.verbose = verbose
        self.header, self.score_name = header, score_name
        self.max_iter = max_iter
        self.stream = stream
        self._start = time.perf_counter()
        self._width = len(str(max_iter))
        self._header_done = False

    def _print(self, line):
        print(line, file=self.stream or sys.stdout)

    def update(self, iteration, loss, validation_score=None):
        if self.verbose != 1:
            return
        if not self._header_done:
            self._print(self.header)
            self._header_done = True
        # Six significant digits for the loss, trailing zeros kept ("#"),
        # and four decimals for R^2, on every line, so the columns line up.
        line = f"Iteration {iteration:>{self._width}d}  loss {loss:#.6g}"
        if validation_score is not None:
            line += f"  validation {self.score_name} {validation_score:.4f}"
        self._print(line)

    def close(self, n_iter, converged, interrupted=False, stalled=False):
        if self.verbose <= 0:
            return
        elapsed = time.perf_counter() - self._start
        if interrupted:
            status = "interrupted"
        elif converged:
            status = "converged"
        elif stalled:
            status = "stopped before converging (no further progress)"
        elif n_iter >= self.max_iter:
            status = "stopped at max_iter"
        else:
            # The engine stops short of max_iter otherwise only on request.
            status = "stopped by a callback"
        self._print(f"Training {status} after {n_iter} iterations in {elapsed:.3g} s.")


class RoundsProgress(Progress):
    """Progress of a fit that trains in rounds, reported as one run of iterations.

    The classifier, and the regressor's losses other than squared error,
    call :func:`._engine.train` once per round (per target), and train
    numbers its iterations from 1 and closes its report each time: verbose
    output restarted its count and printed a summary per round ("stopped by
    a callback" after the 20 iterations of a round). This numbers the
    iterations across rounds, as ``n_iter_`` counts them, and prints the
    summary once, at :meth:`finish`.

    Examples
    --------
    >>> from skorch_lite._progress import RoundsProgress
    >>> progress = RoundsProgress(verbose=1, max_iter=10, header="Loss:")
    >>> progress.update(1, 0.5)
    Loss:
    Iteration  1  loss 0.500000
    >>> progress.close(1, converged=False)
    >>> progress.update(1, 0.25)
    Iteration  2  loss 0.250000
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._done = 0

    def update(self, iteration, loss, validation_score=None):
        super().update(self._done + iteration, loss, validation_score)

    def close(self, n_iter, converged, interrupted=False, stalled=False):
        # One round ended: its iterations count on; the fit's summary waits.
        self._done += n_iter

    def finish(self, n_iter, converged, interrupted=False, stalled=False):
        """Print the fit's summary (``n_iter`` over every round)."""
        super().close(n_iter, converged, interrupted, stalled)
