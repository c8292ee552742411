"""Fitted state as plain numpy, so that a model trained on a GPU unpickles anywhere."""

import numpy as np
import torch


def tensors_to_numpy(obj):
    """Replace every tensor in a nested dict/list structure by a numpy array.

    Every array is a copy: torch's optimizers update their state in place,
    and stored state must never change with a later call.

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._state import tensors_to_numpy
    >>> tensors_to_numpy({"a": [torch.ones(2)]})
    {'a': [array([1., 1.], dtype=float32)]}
    """
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy().copy()
    if isinstance(obj, dict):
        return {key: tensors_to_numpy(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(tensors_to_numpy(value) for value in obj)
    return obj


def tensors_from_numpy(obj, device):
    """Inverse of :func:`tensors_to_numpy`, placing the tensors on ``device``.

    Every tensor is a copy (``torch.as_tensor`` would share the array's
    memory on the CPU): an optimizer resumed from stored state updates it in
    place, which would change the stored state even when the call fails.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch_lite._state import tensors_from_numpy
    >>> stored = {"buf": np.zeros(2)}
    >>> tensors_from_numpy(stored, torch.device("cpu"))["buf"].add_(1.0)
    tensor([1., 1.], dtype=torch.float64)
    >>> stored["buf"]
    array([0., 0.])
    """
    if isinstance(obj, np.ndarray):
        return torch.tensor(obj, device=device)
    if isinstance(obj, dict):
        return {key: tensors_from_numpy(value, device) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(tensors_from_numpy(value, device) for value in obj)
    return obj


# Private fitted state: what partial_fit carries from one call to the next.
_PRIVATE_STATE = ("_stream", "_optimizer_state", "_fitted_link", "_fitted_log_loss")


def fitted_state(estimator):
    """Every fitted attribute of ``estimator``, to put back with :func:`restore_fitted`.

    Fitted attributes are those ending in ``_`` (scikit-learn's convention:
    ``coef_``, ``n_features_in_``, ...) and the private state of
    ``partial_fit``. References suffice: a fit replaces attributes, it never
    changes one in place.
    """
    return {
        key: value
        for key, value in vars(estimator).items()
        if (key.endswith("_") and not key.startswith("__")) or key in _PRIVATE_STATE
    }


def restore_fitted(estimator, saved):
    """Make ``estimator``'s fitted attributes exactly ``saved`` again (drop any added)."""
    for key in list(fitted_state(estimator)):
        if key not in saved:
            delattr(estimator, key)
    for key, value in saved.items():
        setattr(estimator, key, value)
