"""What every torch model shares: device choice, seeding, per-rank sharding, the local loop.

Only modules that already need torch import this one, so ``import entertainai`` stays light.

A torch recommender exposes its training as four methods — ``build_module(data)``,
``build_optimizer(module)``, ``train_epoch(module, data, optimizer, epoch, world_rank,
world_size)`` and ``from_module(module, data)`` — so that one process (``train_locally``) and
a Ray ``TorchTrainer`` worker run the very same loop::

    def train_func(config):  # on each Ray worker
        model = BPR.from_params(**config["params"])
        module = ray.train.torch.prepare_model(model.build_module(data))
        optimizer = model.build_optimizer(module)
        ctx = ray.train.get_context()
        for epoch in range(model.config.epochs):
            loss = model.train_epoch(
                module, data, optimizer, epoch, ctx.get_world_rank(), ctx.get_world_size()
            )
            ...  # rank 0: model.from_module(module, data).save(dir); ray.train.report(...)
"""

from __future__ import annotations

import contextlib
import logging
import random
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from entertainai.errors import InputError

log = logging.getLogger(__name__)


def select_device(pref: str = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; otherwise the named device, checked."""
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(pref)
    except RuntimeError:
        raise InputError(f"unknown torch device {pref!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {pref!r} was asked for but CUDA is not available here")
    return device


PRECISIONS = ("auto", "fp32", "bf16")


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype for training on ``device``, or None for full precision.

    ``"auto"``: bfloat16 on a CUDA device that supports it (Ampere and later), full precision
    elsewhere (on CPU bf16 autocast is slower than fp32 for small models); ``"bf16"`` asks for
    it anywhere it exists; ``"fp32"`` never.
    """
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return None
    cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if precision == "auto":
        return torch.bfloat16 if cuda_bf16 else None
    if device.type == "cuda" and not cuda_bf16:
        raise InputError(f"precision 'bf16' was asked for but {device} does not support it")
    return torch.bfloat16


def autocast(
    device: torch.device, dtype: torch.dtype | None
) -> contextlib.AbstractContextManager[Any]:
    """``torch.autocast`` for ``dtype`` on ``device``; a no-op context when dtype is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy's legacy global generator and torch (CPU and every CUDA device).

    CPU training is then bit-for-bit repeatable; some CUDA kernels (embedding backward,
    index_add) accumulate in a nondeterministic order, so GPU runs agree only approximately.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_rng(seed: int, epoch: int, world_rank: int = 0) -> np.random.Generator:
    """A generator for one rank's sampling in one epoch, independent of global RNG state."""
    return np.random.default_rng([seed, epoch, world_rank])


def shard(n: int, seed: int, epoch: int, world_rank: int = 0, world_size: int = 1) -> np.ndarray:
    """This rank's slice of a fresh permutation of ``range(n)``, equally long on every rank.

    Every rank draws the same permutation (seeded by seed and epoch, not rank), so the shards
    are disjoint. Trimming to a multiple of ``world_size`` drops at most ``world_size - 1``
    examples per epoch (different ones each epoch) and keeps batch counts equal, which DDP needs:
    a rank with one batch more would wait forever in the gradient all-reduce.
    """
    if not 0 <= world_rank < world_size:
        raise InputError(f"world_rank {world_rank} is outside world_size {world_size}")
    order = np.random.default_rng([seed, epoch]).permutation(n)
    usable = n - n % world_size
    return order[world_rank:usable:world_size]


def unwrap(module: nn.Module) -> nn.Module:
    """The model inside DistributedDataParallel and ``torch.compile`` wrappers (or itself)."""
    while True:
        inner = getattr(module, "_orig_mod", None)  # torch.compile's OptimizedModule
        if not isinstance(inner, nn.Module):
            inner = getattr(module, "module", None)  # DDP
        if not isinstance(inner, nn.Module) or inner is module:
            return module
        module = inner


def module_device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


class TorchTrainable(Protocol):
    """The training API a torch recommender exposes (see the module docstring)."""

    config: Any

    def build_module(self, data: Any) -> nn.Module: ...

    def build_optimizer(self, module: nn.Module) -> torch.optim.Optimizer: ...

    def train_epoch(
        self,
        module: nn.Module,
        data: Any,
        optimizer: torch.optim.Optimizer,
        epoch: int,
        world_rank: int = 0,
        world_size: int = 1,
    ) -> float: ...


def train_locally(model: TorchTrainable, data: Any) -> tuple[nn.Module, list[float]]:
    """Run the per-worker loop on one process: build, then ``config.epochs`` epochs."""
    module = model.build_module(data).to(select_device(model.config.device))
    optimizer = model.build_optimizer(module)
    losses = []
    for epoch in range(model.config.epochs):
        losses.append(model.train_epoch(module, data, optimizer, epoch))
        log.debug(
            "%s epoch %d/%d loss %.4f",
            type(model).__name__,
            epoch + 1,
            model.config.epochs,
            losses[-1],
        )
    return module, losses
