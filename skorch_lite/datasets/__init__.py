"""Small data sets shipped with skorch_lite, and the seed notebook's loop on them."""

from ._notebook_loop import NOTEBOOK_EPOCHS, notebook_loop
from ._sourdough import load_sourdough

__all__ = ["NOTEBOOK_EPOCHS", "load_sourdough", "notebook_loop"]
