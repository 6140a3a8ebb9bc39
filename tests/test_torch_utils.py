"""Device choice and per-rank sharding shared by the torch models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from entertainai.errors import InputError
from entertainai.torch_utils import select_device, shard


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
