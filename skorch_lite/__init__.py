"""scikit-learn estimators trained by PyTorch autograd."""

from ._base import FitInterruptedWarning
from ._classifier import TorchLinearClassifier
from ._display import LossCurveDisplay
from ._regressor import TorchLinearRegressor

__version__ = "0.1.0"

__all__ = [
    "FitInterruptedWarning",
    "LossCurveDisplay",
    "TorchLinearClassifier",
    "TorchLinearRegressor",
    "__version__",
]
