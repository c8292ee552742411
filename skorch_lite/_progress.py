"""What ``verbose`` prints: log lines (verbose=1) or a progress bar (verbose>=2).

The reporter lives only for the duration of ``fit``; nothing of it is stored
on the estimator, so a fitted model pickles whatever ``verbose`` was.
"""

import sys
import time


class Progress:
    """Report training progress once per iteration (epoch for mini-batches).

    Parameters
    ----------
    verbose : int
        0 prints nothing, 1 prints one line per iteration on stdout, 2 or more
        redraws a one-line progress bar on stderr (for long fits).
    max_iter : int
        Length of the bar.

    Examples
    --------
    >>> from skorch_lite._progress import Progress
    >>> progress = Progress(verbose=1, max_iter=10)
    >>> progress.update(1, 0.5)
    Iteration 1, loss = 0.5
    """

    def __init__(self, verbose, max_iter, stream=None):
        self.verbose = verbose
        self.max_iter = max_iter
        self.stream = stream
        self._start = time.perf_counter()
        self._last_draw = -1.0

    def update(self, iteration, loss, validation_score=None):
        if self.verbose <= 0:
            return
        if self.verbose == 1:
            line = f"Iteration {iteration}, loss = {loss:.8g}"
            if validation_score is not None:
                line += f", validation score = {validation_score:.6g}"
            print(line, file=self.stream or sys.stdout)
            return
        now = time.perf_counter() - self._start
        # Redraw at most ten times a second: printing must not slow the fit.
        if now - self._last_draw < 0.1 and iteration < self.max_iter:
            return
        self._last_draw = now
        width = 30
        filled = int(width * iteration / self.max_iter)
        bar = "#" * filled + "." * (width - filled)
        stream = self.stream or sys.stderr
        stream.write(
            f"\r[{bar}] {iteration}/{self.max_iter} loss={loss:.6g} {now:.1f}s"
        )
        stream.flush()

    def close(self, n_iter, converged, interrupted=False):
        if self.verbose <= 0:
            return
        elapsed = time.perf_counter() - self._start
        status = "converged" if converged else "stopped at max_iter"
        if interrupted:
            status = "interrupted"
        stream = self.stream or (sys.stdout if self.verbose == 1 else sys.stderr)
        prefix = "" if self.verbose == 1 else "\n"
        print(f"{prefix}Training {status} after {n_iter} iterations in {elapsed:.3g} s.", file=stream)
