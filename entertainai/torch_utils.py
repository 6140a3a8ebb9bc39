"""What every torch model shares: device choice, seeding, sharding, and the one training loop.

Only modules that already need torch import this one, so ``import entertainai`` stays light.

Every torch model (BPR, two-tower, DCGAN, text transformer, melody LSTM, WaveNet) follows one
contract, :class:`TorchTrainable`: ``build_module(data)``, ``build_optimizer(module)``,
``train_epoch(module, data, optimizer, epoch, world_rank, world_size)``, ``validate(module,
data)``, ``n_epochs()`` and ``from_module(module, data)``. Checkpoint state (module, optimiser,
epoch) is the same for all of them (:func:`train_state` / :func:`restore_train_state`). One
process runs the loop with :func:`train_locally` (``fit`` and the CLI); a Ray ``TorchTrainer``
worker runs the same epochs in ``train/torch_runner.py``. A :class:`TorchJob` names a model,
its parameters and how to load its data, so both paths run the very same job.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

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


class Stateful(Protocol):
    """An optimiser, or a small container of them (a GAN's two): what a checkpoint holds."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any]) -> None: ...


# What one epoch reports: its mean loss, or named losses (a GAN: loss_d, loss_g, ...).
EpochResult = float | Mapping[str, float]


class TorchTrainable(Protocol):
    """The training contract every torch model follows (see the module docstring)."""

    config: Any
    validation_metric: str  # the name ``validate``'s score is reported under (lower is better)

    def n_epochs(self) -> int: ...

    def build_module(self, data: Any) -> nn.Module: ...

    def build_optimizer(self, module: nn.Module) -> Stateful: ...

    def train_epoch(
        self,
        module: nn.Module,
        data: Any,
        optimizer: Any,
        epoch: int,
        world_rank: int = 0,
        world_size: int = 1,
    ) -> EpochResult: ...

    def validate(self, module: nn.Module, data: Any) -> float | None: ...

    def from_module(self, module: nn.Module, data: Any) -> Any: ...


class TorchTraining:
    """Defaults of the contract: ``config.epochs`` epochs, no validation score."""

    config: Any
    validation_metric = "valid_loss"

    def n_epochs(self) -> int:
        return int(self.config.epochs)

    def validate(self, module: nn.Module, data: Any) -> float | None:
        return None

    def budget_s(self) -> float | None:
        """Wall-clock training budget in this process (``max_train_seconds`` where it exists)."""
        return getattr(self.config, "max_train_seconds", None)


def epoch_metrics(result: EpochResult) -> dict[str, float]:
    """An epoch's result as report metrics; a plain loss is reported as ``loss``."""
    if isinstance(result, Mapping):
        return {k: float(v) for k, v in result.items()}
    return {"loss": float(result)}


def train_state(module: nn.Module, optimizer: Stateful, epoch: int) -> dict[str, Any]:
    """What resuming needs: weights (unwrapped), optimiser state and the last finished epoch."""
    return {
        "module": unwrap(module).state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": int(epoch),
    }


def restore_module(module: nn.Module, state: Mapping[str, Any]) -> int:
    """Load a :func:`train_state`'s weights; returns the epoch to continue from."""
    unwrap(module).load_state_dict(state["module"])
    return int(state["epoch"]) + 1


def restore_train_state(module: nn.Module, optimizer: Stateful, state: Mapping[str, Any]) -> int:
    """Load weights and optimiser state; returns the epoch to continue from."""
    start = restore_module(module, state)
    optimizer.load_state_dict(state["optimizer"])
    return start


def distribute(module: nn.Module, wrap: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """What a worker trains: ``wrap`` (Ray's ``prepare_model``: device + DDP) over ``module``.

    A ``ModuleDict`` (a GAN's generator, discriminator and EMA copy) is wrapped member by
    member: each network steps with its own optimiser, and DDP syncs only gradients that flow
    through its own forward. The members are moved in place, so ``module`` itself stays the
    unwrapped view to validate, checkpoint and adopt.
    """
    if not isinstance(module, nn.ModuleDict):
        return wrap(module)
    trained = {
        name: wrap(member)
        for name, member in module.items()
        if any(p.requires_grad for p in member.parameters())
    }
    device = module_device(next(iter(trained.values())))
    # Members without gradients (an EMA copy) only move: DDP refuses a module with none.
    return nn.ModuleDict(
        {name: trained[name] if name in trained else m.to(device) for name, m in module.items()}
    )


class LocalFit(NamedTuple):
    module: nn.Module
    history: list[dict[str, float]]


def train_locally(
    model: TorchTrainable,
    data: Any,
    *,
    every: int = 1,
    keep_best: bool = False,
    budget_s: float | None = None,
    callback: Callable[[dict[str, float]], None] | None = None,
    state: Mapping[str, Any] | None = None,
) -> LocalFit:
    """The contract's loop in this process: build, then ``model.n_epochs()`` epochs.

    Every ``every`` epochs (and after the last) ``validate`` scores the module; with
    ``keep_best`` the best-scoring weights are restored at the end. ``budget_s`` stops after the
    epoch that spends it. ``state`` (a :func:`train_state`) resumes after its epoch, as a Ray
    worker does from a checkpoint. ``callback(record)`` sees each epoch's record.
    """
    module = model.build_module(data).to(select_device(model.config.device))
    start = restore_module(module, state) if state is not None else 0
    trained = getattr(model, "for_training", lambda m: m)(module)
    optimizer = model.build_optimizer(trained)
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
    deadline = time.monotonic() + budget_s if budget_s else None
    epochs = model.n_epochs()
    history: list[dict[str, float]] = []
    best, best_state = math.inf, None
    for epoch in range(start, epochs):
        result = model.train_epoch(trained, data, optimizer, epoch)
        record = {"epoch": epoch + 1, **epoch_metrics(result)}
        over = deadline is not None and time.monotonic() > deadline
        if (epoch + 1) % every == 0 or epoch == epochs - 1 or over:
            score = model.validate(module, data)
            if score is not None:
                record[model.validation_metric] = score
                if keep_best and score < best:
                    best = score
                    best_state = {
                        k: v.detach().clone() for k, v in unwrap(module).state_dict().items()
                    }
        history.append(record)
        log.debug("%s epoch %d/%d %s", type(model).__name__, epoch + 1, epochs, record)
        if callback is not None:
            callback(record)
        if over:
            log.info("%s: training time budget of %.0f s reached", type(model).__name__, budget_s)
            break
    if best_state is not None:
        unwrap(module).load_state_dict(best_state)
    return LocalFit(module, history)


@dataclass(frozen=True)
class TorchJob:
    """One torch training job: the same spec runs in a Ray worker and in this process.

    ``load(config=...)`` reads the data on every worker (a module-level function or a
    ``functools.partial`` of one, so it pickles); ``evaluate(fitted, data)`` adds metrics at
    each report (rank 0 only; e.g. ranking metrics on a test split). ``every``: epochs between
    validations, reports and checkpoints. ``keep_best``: register the best validation score's
    weights rather than the last.
    """

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    load: Callable[..., Any] | None = None
    evaluate: Callable[[Any, Any], Mapping[str, Any]] | None = None
    every: int = 1
    keep_best: bool = False

    def model(self) -> Any:
        """A fresh, unfitted model of ``kind`` (refuses unknown parameters)."""
        from entertainai.model import model_class

        return model_class(self.kind).from_params(**dict(self.params))

    def data(self, model: Any) -> Any:
        if self.load is None:
            raise InputError(f"job {self.kind!r} has no data loader")
        return self.load(config=model.config)


def set_threads(config: Any) -> None:
    """Cap torch's intra-op threads at ``config.threads`` where the model has that knob."""
    threads = getattr(config, "threads", None)
    if threads:
        torch.set_num_threads(max(1, min(torch.get_num_threads(), int(threads))))


def run_locally(
    job: TorchJob, callback: Callable[[dict[str, float]], None] | None = None
) -> tuple[Any, list[dict[str, float]]]:
    """Run ``job`` in this process (the CLI); the fitted model and its per-epoch records."""
    model = job.model()
    set_threads(model.config)
    data = job.data(model)
    budget = model.budget_s() if hasattr(model, "budget_s") else None
    fit = train_locally(
        model, data, every=job.every, keep_best=job.keep_best, budget_s=budget, callback=callback
    )
    return job.model().from_module(fit.module, data), fit.history
