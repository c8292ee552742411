"""Every kind of input -> validated tensors; results back in the caller's kind.

Three kinds of X reach the estimator:

* numpy arrays, lists, DataFrames and scipy.sparse matrices: validated by
  scikit-learn's ``validate_data``, then viewed as tensors without copying
  (sparse CSR shares its three arrays with a torch CSR tensor);
* torch tensors, on any device: validated with torch operations where they
  live, never round-tripped through numpy;
* other array-API arrays (``array_api_strict``), when scikit-learn's
  ``array_api_dispatch`` is on: viewed as torch tensors through DLPack.

With ``array_api_dispatch`` on, fitted attributes and predictions follow the
namespace and device of X; otherwise they are numpy arrays.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from sklearn import get_config
from sklearn.utils import get_tags
from sklearn.utils.validation import _check_sample_weight, column_or_1d, validate_data

try:
    import array_api_compat
except ImportError:  # scikit-learn vendors a copy
    from sklearn.externals import array_api_compat

_FLOATS = (torch.float32, torch.float64)


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
        if array.flags.writeable:
            tensor = torch.from_numpy(array)
        else:
            with warnings.catch_warnings():
                # Read-only arrays (memmaps) are fine: the engine never writes to X.
                warnings.filterwarnings("ignore", message=".*not writable.*",
                                        category=UserWarning)
                tensor = torch.from_numpy(array)
    except (ValueError, TypeError):
        # Negative strides or non-native byte order: torch cannot view those.
        tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("=")))
    return tensor.to(device)


def sparse_as_tensor(X, device):
    """A torch sparse CSR tensor over a scipy sparse matrix's arrays (CSR: no copy).

    CSC and COO input is converted to CSR once: a copy of the non-zeros, never
    a dense matrix.

    Examples
    --------
    >>> import scipy.sparse as sp, torch
    >>> from skorch_lite._inputs import sparse_as_tensor
    >>> X = sp.random(4, 3, density=0.5, format="csr", random_state=0)
    >>> T = sparse_as_tensor(X, torch.device("cpu"))
    >>> T.layout, T.values().data_ptr() == X.data.ctypes.data
    (torch.sparse_csr, True)
    """
    X = X.tocsr()
    if not X.has_canonical_format:
        # Duplicated entries add up in products but not in squares: summed
        # once here, every operation sees the matrix scipy means.
        X = X.copy()
        X.sum_duplicates()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
        tensor = torch.sparse_csr_tensor(
            as_tensor(X.indptr, device),
            as_tensor(X.indices, device),
            as_tensor(X.data, device),
            size=X.shape,
            check_invariants=False,
        )
    return tensor


@dataclass(frozen=True)
class ArraySpace:
    """Where results go: numpy (``xp=None``) or an array-API namespace on a device.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch_lite._inputs import ArraySpace
    >>> ArraySpace.of(np.ones(2)).put(torch.ones(2))
    array([1., 1.], dtype=float32)
    """

    xp: object = None
    device: object = None

    @classmethod
    def of(cls, x):
        """The space of ``x``: its own under array-API dispatch, else numpy."""
        if not get_config()["array_api_dispatch"] or not _is_foreign_array(x):
            return cls()
        return cls(array_api_compat.array_namespace(x), array_api_compat.device(x))

    def put(self, tensor):
        tensor = tensor.detach()
        if self.xp is None:
            array = tensor.cpu().numpy()
            return array[()] if array.ndim == 0 else array
        if array_api_compat.is_torch_namespace(self.xp):
            return tensor.to(self.device)
        return self.xp.asarray(tensor.cpu().numpy(), device=self.device)


def _is_foreign_array(x):
    """An array-API array that is not numpy (torch tensors, array_api_strict)."""
    if isinstance(x, torch.Tensor):
        return True
    if isinstance(x, (np.ndarray, np.generic, float, int)) or sp.issparse(x):
        return False
    return array_api_compat.is_array_api_obj(x)


def to_torch(x, device):
    """Any array (numpy, torch, array-API) as a torch tensor on ``device``.

    A tensor that requires grad is used detached: the engine differentiates
    its own variables only, and must neither build a graph through the
    caller's data nor touch its ``.grad``. A tensor made under
    :func:`torch.inference_mode` is copied: autograd may not save it for the
    backward pass, even as data.
    """
    if isinstance(x, torch.Tensor):
        if x.is_inference():
            x = x.clone()
        return x.detach().to(device)
    if isinstance(x, np.ndarray):
        return as_tensor(x, device)
    if _is_foreign_array(x):
        return torch.from_dlpack(x).to(device)
    return torch.as_tensor(np.asarray(x), device=device)


def takes_torch_path(X):
    """Whether X is validated with torch operations rather than ``validate_data``."""
    if isinstance(X, torch.Tensor):
        return True
    return get_config()["array_api_dispatch"] and _is_foreign_array(X)


def device_of(x):
    """Where ``x`` lives: a tensor's device, else the CPU."""
    return x.device if isinstance(x, torch.Tensor) else torch.device("cpu")


def to_numpy(x):
    """A tensor or array-API array as numpy; numpy, scalars and None unchanged.

    A tensor that requires grad is detached first (numpy refuses it).

    Examples
    --------
    >>> import torch
    >>> from skorch_lite._inputs import to_numpy
    >>> to_numpy(torch.ones(2, requires_grad=True))
    array([1., 1.], dtype=float32)
    """
    if x is None or not _is_foreign_array(x):
        return x
    return to_torch(x, torch.device("cpu")).numpy()


@dataclass
class FitInputs:
    """Validated training data as tensors on the training device."""

    X: torch.Tensor
    Y: torch.Tensor
    w: torch.Tensor
    y_ndim: int


def fit_inputs(estimator, X, y, sample_weight, *, reset, resolve_device):
    """Validate ``(X, y, sample_weight)`` and return them as tensors.

    ``resolve_device(data_device)`` picks the training device, given where a
    tensor X already lives (None for host arrays).
    """
    if sp.issparse(y):
        raise TypeError(
            f"{type(estimator).__name__} takes a dense y; got a {type(y).__name__}. "
            "Convert it with y.toarray()."
        )
    if takes_torch_path(X):
        X = to_torch(X, device_of(X))
        device = resolve_device(X.device)
        X = check_tensor_X(estimator, X.to(device), reset=reset)
        Y, y_ndim = _check_tensor_y(to_torch(y, device), X, type(estimator).__name__)
        if y_ndim == 2 and Y.shape[1] == 1 and _single_output(estimator):
            column_or_1d(np.zeros((1, 1)), warn=True)  # the same warning as numpy y
            y_ndim = 1
        w = _check_tensor_weights(sample_weight, X)
        return FitInputs(X, Y, w, y_ndim)

    X, y = validate_data(
        estimator, X, to_numpy(y), reset=reset, dtype=[np.float64, np.float32],
        accept_sparse=("csr", "csc", "coo"), multi_output=True, y_numeric=True,
    )
    y = _check_numpy_targets(y, X.dtype)
    if y.ndim == 2 and y.shape[1] == 1 and _single_output(estimator):
        # As scikit-learn's single-output estimators: a column is a 1-D y.
        y = column_or_1d(y, warn=True)
    device = resolve_device(None)
    X_t = sparse_as_tensor(X, device) if sp.issparse(X) else as_tensor(X, device)
    Y_t = as_tensor(y.reshape(len(y), -1), device)
    if sample_weight is None:
        # Unit weights need no checks (building and checking them in numpy
        # cost a tenth of the rest of fit_inputs on diabetes).
        w = torch.ones(X.shape[0], dtype=X_t.dtype, device=device)
    else:
        w = as_tensor(_check_sample_weight(
            to_numpy(sample_weight), X, dtype=X.dtype, ensure_non_negative=True
        ), device)
    return FitInputs(X_t, Y_t, w, y.ndim)


def _single_output(estimator):
    return not get_tags(estimator).target_tags.multi_output


def check_tensor_X(estimator, X, *, reset):
    """``validate_data`` for a tensor X, in torch, where the tensor lives."""
    name = type(estimator).__name__
    if X.layout != torch.strided:
        raise TypeError(
            f"{name} does not take torch sparse tensors; pass a scipy.sparse matrix."
        )
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D array, got a {X.ndim}D tensor of shape {tuple(X.shape)}. "
            "Reshape your data with X.reshape(-1, 1) if it has a single feature."
        )
    if X.is_complex():
        raise ValueError("Complex data not supported.")
    if X.dtype not in _FLOATS:
        X = X.to(torch.float64)
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
            f"while a minimum of 1 of each is required by {name}."
        )
    if not bool(torch.isfinite(X).all()):
        raise ValueError("Input X contains NaN or infinity.")
    n_features = X.shape[1]
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return X


def _check_tensor_y(y, X, name):
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples or a y "
            f"of the wrong shape: X has {X.shape[0]} rows, y has shape {tuple(y.shape)}."
        )
    if y.ndim == 2 and y.shape[1] == 0:
        # validate_data's message for a numpy y without columns.
        raise ValueError(
            f"Found array with 0 feature(s) (shape={tuple(y.shape)}) while a "
            f"minimum of 1 is required by {name}."
        )
    if y.is_complex():
        raise ValueError("Complex data not supported.")
    y = y.to(X.dtype)
    if not bool(torch.isfinite(y).all()):
        raise ValueError("Input y contains NaN or infinity.")
    return y.reshape(X.shape[0], -1), y.ndim


def _check_tensor_weights(sample_weight, X):
    n_samples = X.shape[0]
    if sample_weight is None:
        return torch.ones(n_samples, dtype=X.dtype, device=X.device)
    w = torch.as_tensor(sample_weight) if np.isscalar(sample_weight) else to_torch(sample_weight, X.device)
    w = w.to(dtype=X.dtype, device=X.device)
    if w.ndim == 0:
        w = w.expand(n_samples)
    if w.shape != (n_samples,):
        raise ValueError(
            f"sample_weight.shape == {tuple(w.shape)}, expected ({n_samples},)!"
        )
    if not bool(torch.isfinite(w).all()):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if bool((w < 0).any()):
        raise ValueError("Negative values in data passed to sample_weight")
    if not bool(w.sum() > 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return w


def _check_numpy_targets(y, dtype):
    """y must be numeric and finite; validate_data lets strings and None through."""
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"y must be numeric for a regressor, got an array of dtype {y.dtype}."
        )
    if not np.all(np.isfinite(y)):
        raise ValueError("Input y contains NaN or infinity.")
    return y.astype(dtype, copy=False)
