"""Keep torch.optim from importing torch._dynamo (about 1 s) in processes that never compile.

torch.optim's ``Optimizer`` methods (``add_param_group``, ``zero_grad``,
``state_dict``, ``load_state_dict``) are wrapped by ``torch._disable_dynamo``,
which imports torch._dynamo on their first call to build a version of the
method that the compiler skips. Every fresh process then pays that import on
its first fit: a GridSearchCV worker, a script, a test. In a process where
torch._dynamo is not loaded nothing is being compiled, so calling the method
itself is the same; once anything loads torch._dynamo, the method switches
to dynamo's disabled version, as torch would have built it.

The wrapper looks up a cached disabled version in the method's
``__dynamo_disable`` attribute before importing; this module puts a
deferring function there. If a torch version caches elsewhere, nothing here
applies and torch imports as before (a test watches for that).
"""

import sys

import torch

_METHODS = ("add_param_group", "state_dict", "load_state_dict", "zero_grad")


def _direct_until_dynamo(fn, recursive=True):
    """``fn`` itself while torch._dynamo is not loaded, dynamo's ``disable(fn)`` once it is."""
    def call(*args, **kwargs):
        dynamo = sys.modules.get("torch._dynamo")
        if dynamo is None or not hasattr(dynamo, "disable"):
            return fn(*args, **kwargs)
        disabled = dynamo.disable(fn, recursive, wrapping=False)
        fn.__dynamo_disable = disabled
        return disabled(*args, **kwargs)

    return call


def defer_dynamo_import():
    """Install the deferring cache on torch.optim.Optimizer's wrapped methods (idempotent)."""
    if "torch._dynamo" in sys.modules:
        return
    for name in _METHODS:
        fn = getattr(getattr(torch.optim.Optimizer, name, None), "__wrapped__", None)
        if fn is not None and getattr(fn, "__dynamo_disable", None) is None:
            fn.__dynamo_disable = _direct_until_dynamo(fn)
