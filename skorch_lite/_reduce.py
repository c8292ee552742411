"""Sums across processes: the one collective operation the engine needs.

The engine (statistics, sketch, objective and gradient) calls a reducer's
:meth:`~Reducer.sum` and :meth:`~Reducer.cat` and knows nothing of how
processes are started; :mod:`skorch_lite.distributed` launches them and
passes an :class:`AllReduce`. One process is :data:`LOCAL`, for which both
are the identity.
"""

import torch
import torch.distributed as dist


class Reducer:
    """Combines per-process tensors; this base class is the single process.

    The engine calls :meth:`sum` on statistics, objective terms and
    gradients, and :meth:`cat` on the rows of the preconditioner's sketch.
    With one process both are the identity.

    Examples
    --------
    >>> import torch
    >>> from skorch_lite.distributed import Reducer
    >>> Reducer().sum(torch.ones(2))
    tensor([1., 1.])
    """

    rank = 0
    world_size = 1

    def sum(self, tensor):
        """Sum of ``tensor`` over processes (a new tensor where there are several)."""
        return tensor

    def cat(self, tensor):
        """Every process's ``tensor`` concatenated along dim 0, in rank order."""
        return tensor

    def gather_objects(self, obj):
        """Every process's picklable ``obj`` (a classifier's labels), in rank order."""
        return [obj]


LOCAL = Reducer()


class AllReduce(Reducer):
    """Combine tensors across the processes of a :mod:`torch.distributed` group.

    Counts what it moves, so that the traffic of a fit can be measured.

    Parameters
    ----------
    group : ProcessGroup, default=None
        None is the default group (``torch.distributed.init_process_group``).

    Attributes
    ----------
    bytes_summed : int
        Bytes passed to all-reduce (each call's tensor size, once).
    bytes_gathered : int
        Bytes of the concatenated results of :meth:`cat`.
    n_calls : int
        Collective operations issued.

    Examples
    --------
    >>> from skorch_lite.distributed import AllReduce
    >>> reducer = AllReduce()
    >>> reducer.bytes_summed, reducer.n_calls
    (0, 0)
    """

    def __init__(self, group=None):
        self.group = group
        self.bytes_summed = 0
        self.bytes_gathered = 0
        self.n_calls = 0

    @property
    def rank(self):
        return dist.get_rank(self.group)

    @property
    def world_size(self):
        return dist.get_world_size(self.group)

    def sum(self, tensor):
        # A copy: the caller's tensor may be a view of its data or an autograd leaf.
        total = tensor.clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=self.group)
        self.bytes_summed += total.numel() * total.element_size()
        self.n_calls += 1
        return total

    def cat(self, tensor):
        # all_gather wants equal shapes: share the lengths, pad, gather, trim.
        length = torch.tensor([tensor.shape[0]], device=tensor.device)
        lengths = [torch.zeros_like(length) for _ in range(self.world_size)]
        dist.all_gather(lengths, length, group=self.group)
        lengths = [int(n) for n in lengths]
        padded = tensor.new_zeros((max(lengths), *tensor.shape[1:]))
        padded[: tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in lengths]
        dist.all_gather(parts, padded, group=self.group)
        result = torch.cat([part[:n] for part, n in zip(parts, lengths)])
        self.bytes_gathered += result.numel() * result.element_size()
        self.n_calls += 2
        return result

    def gather_objects(self, obj):
        gathered = [None] * self.world_size
        dist.all_gather_object(gathered, obj, group=self.group)
        self.n_calls += 1
        return gathered
