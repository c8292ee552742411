"""Turn the ``device`` parameter into a :class:`torch.device` that exists here,
and choose how many CPU threads torch uses for a fit there."""

import re
from contextlib import contextmanager

import torch

_DEVICE_PATTERN = re.compile(r"^(cpu|cuda|mps)(:\d+)?$")


def _mps_available():
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def best_available_device():
    """Return the fastest device torch can use on this machine.

    CUDA first, then Apple's MPS, then the CPU.

    Returns
    -------
    device : torch.device
        The device ``device="auto"`` resolves to.

    Examples
    --------
    >>> from skorch_lite._devices import best_available_device
    >>> best_available_device().type in {"cpu", "cuda", "mps"}
    True
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(spec, *, data_device=None):
    """Check a ``device`` parameter value and return the torch device it names.

    Parameters
    ----------
    spec : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, ``"auto"`` or a
        :class:`torch.device`.
    data_device : torch.device, default=None
        Where the input data already lives (a tensor's device). ``"auto"``
        prefers it, so that a CUDA tensor trains where it is.

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        If ``spec`` is not a device name, or names a device this machine
        does not have.

    Examples
    --------
    >>> from skorch_lite._devices import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(spec, str) and spec == "auto":
        if data_device is not None:
            return torch.device(data_device)
        return best_available_device()
    if isinstance(spec, str):
        if not _DEVICE_PATTERN.match(spec):
            raise ValueError(
                f"device={spec!r} is not a device name; use 'cpu', 'cuda', "
                "'cuda:N', 'mps', 'auto' or a torch.device."
            )
        device = torch.device(spec)
    elif isinstance(spec, torch.device):
        device = spec
    else:
        raise TypeError(
            f"device must be a str or a torch.device, got {type(spec).__name__}."
        )
    _check_available(device)
    return device


def _check_available(device):
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={str(device)!r} was requested but CUDA is not available "
                "on this machine; use device='cpu' or device='auto'."
            )
        index = 0 if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"device={str(device)!r} was requested but this machine has only "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    elif device.type == "mps":
        if not _mps_available():
            raise ValueError(
                f"device={str(device)!r} was requested but Apple's MPS backend is "
                "not available on this machine; use device='cpu' or device='auto'."
            )
    elif device.type != "cpu":
        raise ValueError(
            f"device={str(device)!r} is not supported; use 'cpu', 'cuda', 'mps' or 'auto'."
        )


# Below this many values of X, a fit runs on one torch thread. Its passes
# over X then take well under a millisecond each, so a second thread saves
# little; and every parallel region waits for both threads, which on busy
# cores (other processes on them) costs whole scheduler time slices.
# Measured on 2 busy cores, medians of warm fits: diabetes (442 x 10) 16 ms
# on two threads, 2.5 ms on one; 20,000 x 20 float64 32-63 ms, 8.6 ms.
SMALL_FIT_VALUES = 1 << 20


@contextmanager
def fit_threads(X):
    """Run the block on one torch thread when ``X`` is small and on the CPU.

    torch's thread count belongs to the calling thread (OpenMP), and is put
    back as it was on leaving the block, so callers' settings (and other
    threads) are left alone. Larger X, and X on a GPU, keep the caller's
    setting.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
        Dense or sparse; its number of stored values decides.

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._devices import fit_threads
    >>> with fit_threads(torch.ones(442, 10)):
    ...     torch.get_num_threads()
    1
    """
    values = X._nnz() if X.layout != torch.strided else X.numel()
    with one_thread_if(X.device.type == "cpu" and values < SMALL_FIT_VALUES):
        yield


@contextmanager
def one_thread_if(small):
    """Run the block on one torch thread when ``small``, then restore the caller's count.

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._devices import one_thread_if
    >>> with one_thread_if(True):
    ...     torch.get_num_threads()
    1
    """
    if not small:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
