"""Device choice, sharding and the one training contract shared by the torch models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from entertainai.errors import InputError
from entertainai.torch_utils import (
    TorchJob,
    autocast,
    autocast_dtype,
    distribute,
    select_device,
    shard,
    train_locally,
    train_state,
    unwrap,
)


def test_auto_device_follows_cuda_availability() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device("auto").type == expected
    assert select_device("cpu").type == "cpu"
    with pytest.raises(InputError):
        select_device("abacus")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_cuda_without_cuda_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="CUDA"):
        select_device("cuda")


def test_shards_are_disjoint_equal_and_reshuffled() -> None:
    parts = [shard(11, seed=3, epoch=0, world_rank=r, world_size=3) for r in range(3)]
    assert {len(p) for p in parts} == {3}  # 11 trimmed to 9: equal batch counts for DDP
    union = np.concatenate(parts)
    assert len(np.unique(union)) == 9 and union.max() < 11
    np.testing.assert_array_equal(parts[1], shard(11, 3, 0, 1, 3))  # same on every call
    assert not np.array_equal(shard(11, 3, 0), shard(11, 3, 1))  # a fresh order each epoch
    with pytest.raises(InputError):
        shard(5, 0, 0, world_rank=2, world_size=2)


def test_autocast_is_bf16_on_cuda_with_bf16_and_full_precision_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert autocast_dtype(cpu) is None and autocast_dtype(cpu, "fp32") is None
    assert autocast_dtype(cpu, "bf16") is torch.bfloat16  # asked for explicitly
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert autocast_dtype(cuda) is torch.bfloat16 and autocast_dtype(cuda, "fp32") is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert autocast_dtype(cuda) is None  # e.g. a V100: fp32, not a silent fp16
    with pytest.raises(InputError, match="does not support"):
        autocast_dtype(cuda, "bf16")
    with pytest.raises(InputError, match="precision"):
        autocast_dtype(cpu, "fp16")
    with autocast(cpu, None):
        assert not torch.is_autocast_enabled("cpu")
    with autocast(cpu, torch.bfloat16):
        assert torch.is_autocast_enabled("cpu")


def test_unwrap_sees_through_compile_and_ddp_style_wrappers() -> None:
    inner = torch.nn.Linear(2, 2)

    class Wrapper(torch.nn.Module):  # DistributedDataParallel keeps the model as .module
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.module = module

    assert unwrap(inner) is inner
    assert unwrap(Wrapper(inner)) is inner
    assert unwrap(torch.compile(inner)) is inner  # type: ignore[arg-type]
    assert unwrap(Wrapper(torch.compile(inner))) is inner  # type: ignore[arg-type]


# ---- the training contract, over every torch model ------------------------------------------


def _interactions() -> Any:
    import tempfile

    from entertainai.data.synthetic import DemoConfig, generate
    from entertainai.recommend.training import prepare

    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, DemoConfig(n_users=60, n_items=30, seed=1))
        return prepare(tmp, "random:0.2:1").train


def _images() -> Any:
    from entertainai.generate.images import ImageData

    rng = np.random.default_rng(0)
    return ImageData(rng.integers(0, 255, (64, 8, 8, 1)).astype(np.uint8), None, (), "noise")


def _text() -> Any:
    from entertainai.generate.text_transformer import TextData

    return TextData.from_text("the cat sat on the mat. the dog sat on the log. " * 10, 0.2)


def _melodies() -> Any:
    from entertainai.generate.melody import load_melody_data

    return load_melody_data("demo")


def _recordings() -> Any:
    from entertainai.generate.wavenet import load_audio_data

    return load_audio_data("demo")


TINY: dict[str, tuple[dict[str, Any], Callable[[], Any]]] = {
    "bpr": ({"epochs": 3, "factors": 4, "batch_size": 64}, _interactions),
    "two_tower": ({"epochs": 3, "dim": 8, "batch_size": 64}, _interactions),
    "dcgan": ({"epochs": 3, "latent_dim": 4, "g_width": 4, "d_width": 4, "batch_size": 16}, _images),
    "text_transformer": (
        {"n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": 8, "batch_size": 4, "max_steps": 6,
         "log_every": 2, "warmup_steps": 1},
        _text,
    ),
    "melody_lstm": (
        {"epochs": 3, "hidden": 8, "embed_dim": 4, "layers": 1, "dropout": 0.0, "batch_size": 8},
        _melodies,
    ),
    "wavenet": (
        {"epochs": 3, "steps_per_epoch": 2, "residual_channels": 4, "skip_channels": 4,
         "layers_per_stack": 2, "stacks": 1, "crop": 32, "batch_size": 2, "valid_samples": 1},
        _recordings,
    ),
}  # fmt: skip


@pytest.fixture(scope="module", params=list(TINY))
def trainable(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    params, data = TINY[request.param]
    job = TorchJob(request.param, {**params, "device": "cpu"})
    return job, data()


def test_every_torch_model_trains_locally_and_adopts_the_module(trainable) -> None:
    job, data = trainable
    model = job.model()
    seen: list[dict[str, float]] = []
    module, history = train_locally(model, data, callback=seen.append)
    assert [r["epoch"] for r in history] == list(range(1, model.n_epochs() + 1)) and seen == history
    assert all(np.isfinite(r.get("loss", r.get("loss_d", np.nan))) for r in history)
    score = model.validate(module, data)
    assert score is None or np.isfinite(score)
    assert (score is None) == (model.validation_metric not in history[-1])
    fitted = job.model().from_module(module, data)
    assert fitted.fitted_


def test_checkpoint_state_round_trip_continues_with_identical_losses(trainable, tmp_path) -> None:
    """Stop after epoch 1, save and reload the state as a worker would, continue: the same
    losses as one uninterrupted run (what resuming after a worker failure relies on)."""
    job, data = trainable
    straight = train_locally(job.model(), data).history
    model = job.model()
    first = model.build_module(data)
    optimizer = model.build_optimizer(first)
    model.train_epoch(first, data, optimizer, 0)
    torch.save(train_state(first, optimizer, 0), tmp_path / "state.pt")
    state = torch.load(tmp_path / "state.pt", weights_only=True)
    resumed = train_locally(job.model(), data, state=state).history
    assert [r["epoch"] for r in resumed] == [r["epoch"] for r in straight[1:]]
    for a, b in zip(resumed, straight[1:], strict=True):
        assert a == pytest.approx(b, rel=1e-5)


def test_distribute_wraps_each_trained_member_of_a_module_dict() -> None:
    gan = torch.nn.ModuleDict(
        {"g": torch.nn.Linear(2, 2), "ema": torch.nn.Linear(2, 2).requires_grad_(False)}
    )
    wrapped: list[torch.nn.Module] = []

    def wrap(m: torch.nn.Module) -> torch.nn.Module:
        wrapped.append(m)
        return m

    out = distribute(gan, wrap)
    assert wrapped == [gan["g"]] and out["ema"] is gan["ema"]  # DDP refuses a frozen module
    assert distribute(torch.nn.Linear(1, 1), lambda m: torch.nn.Sequential(m)).__class__ is (
        torch.nn.Sequential
    )
