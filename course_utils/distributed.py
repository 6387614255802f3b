"""Training on several processes with PyTorch's own engine: torchrun, DDP, sharded data.

``torchrun --nproc_per_node N -m course_utils.train ...`` starts N processes and tells each its
``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``. :func:`setup` joins them into one process group
(NCCL on GPUs, gloo on the CPU); the model is wrapped in ``DistributedDataParallel``, which
averages the gradients of every step across processes; each process reads its own share of the
data. ``train.fit`` and ``train.evaluate`` then need to know only three things, all here: which
process writes checkpoints and progress (:func:`is_main`), how to add up numbers from every
process (:func:`all_reduce_sum`), and how to unwrap the model (:func:`unwrap`).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DistributedSampler, Sampler


def active() -> bool:
    """True inside a process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """The process that writes checkpoints and shows progress (rank 0, or the only one)."""
    return rank() == 0


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """``t`` summed over every process, in place (a no-op in a single process)."""
    if active():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def sync_buffers(model: nn.Module) -> nn.Module:
    """Give every process rank 0's buffers (BatchNorm running statistics), in place.

    DDP keeps the weights equal but each process updates its own running statistics from its
    own batches; before evaluating, every process must use the ones the checkpoint keeps
    (rank 0's), or the shares of the validation set are scored by slightly different models.
    """
    if active():
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a ``DistributedDataParallel`` wrapper (the model itself otherwise)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def setup(device_type: str = "cpu") -> torch.device:
    """Join the process group torchrun describes; return this process's device.

    Without torchrun's variables nothing happens and the device is the one asked for.
    """
    if not launched_by_torchrun():
        return torch.device(device_type)
    local = int(os.environ.get("LOCAL_RANK", 0))
    if device_type == "cuda":
        torch.cuda.set_device(local)
        dist.init_process_group("nccl")
        return torch.device("cuda", local)
    dist.init_process_group("gloo")
    return torch.device("cpu")


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class ShardSampler(Sampler):
    """Every ``world_size``-th index from ``rank`` on, in order, none repeated.

    For evaluation: unlike ``DistributedSampler`` it never pads the last shard with repeated
    items, so the confusion matrices added up over processes count every image exactly once.
    """

    def __init__(self, n: int):
        self.indices = list(range(rank(), n, world_size()))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def train_sampler(dataset, seed: int) -> Sampler | None:
    """A shuffling ``DistributedSampler`` in a process group (``fit`` sets its epoch), else
    ``None`` (the loader shuffles itself)."""
    if not active():
        return None
    return DistributedSampler(dataset, shuffle=True, seed=seed, drop_last=True)
