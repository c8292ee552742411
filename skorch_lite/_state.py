"""Fitted state as plain numpy, so that a model trained on a GPU unpickles anywhere."""

from dataclasses import fields

import numpy as np
import torch

from ._precondition import Preconditioner


def tensors_to_numpy(obj):
    """Replace every tensor in a nested dict/list structure by a numpy array.

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._state import tensors_to_numpy
    >>> tensors_to_numpy({"a": [torch.ones(2)]})
    {'a': [array([1., 1.], dtype=float32)]}
    """
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {key: tensors_to_numpy(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(tensors_to_numpy(value) for value in obj)
    return obj


def tensors_from_numpy(obj, device):
    """Inverse of :func:`tensors_to_numpy`, placing the tensors on ``device``."""
    if isinstance(obj, np.ndarray):
        return torch.as_tensor(obj, device=device)
    if isinstance(obj, dict):
        return {key: tensors_from_numpy(value, device) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(tensors_from_numpy(value, device) for value in obj)
    return obj


def preconditioner_to_numpy(precond):
    """A dict of numpy arrays and Python scalars holding ``precond``."""
    return tensors_to_numpy({f.name: getattr(precond, f.name) for f in fields(precond)})


def preconditioner_from_numpy(state, device):
    """Rebuild a :class:`Preconditioner` on ``device`` from :func:`preconditioner_to_numpy`."""
    return Preconditioner(**tensors_from_numpy(state, device))
