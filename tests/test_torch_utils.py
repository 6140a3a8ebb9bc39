"""Device choice and per-rank sharding shared by the torch models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from entertainai.errors import InputError
from entertainai.torch_utils import autocast, autocast_dtype, select_device, shard, unwrap


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
