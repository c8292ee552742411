"""Validated numpy input to torch tensors, sharing memory wherever possible."""

import warnings

import numpy as np
import torch


def as_tensor(array, device):
    """Return a tensor over ``array``'s memory (moved to ``device`` if it is not the CPU).

    Parameters
    ----------
    array : ndarray of float32 or float64
    device : torch.device

    Returns
    -------
    Tensor
        On the CPU, a view of ``array``: nothing is copied, and nothing is
        ever written through it.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch_lite._inputs import as_tensor
    >>> X = np.ones((3, 2))
    >>> as_tensor(X, torch.device("cpu")).data_ptr() == X.ctypes.data
    True
    """
    try:
        with warnings.catch_warnings():
            # Read-only arrays (memmaps) are fine: the engine never writes to X.
            warnings.filterwarnings("ignore", message=".*not writable.*", category=UserWarning)
            tensor = torch.from_numpy(array)
    except (ValueError, TypeError):
        # Negative strides or non-native byte order: torch cannot view those.
        tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("=")))
    return tensor.to(device)
