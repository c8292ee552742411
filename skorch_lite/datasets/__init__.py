"""Small data sets shipped with skorch_lite."""

from ._sourdough import load_sourdough

__all__ = ["load_sourdough"]
