"""Tiny interaction data with planted structure: two taste groups over two genres."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from entertainai.recommend.interactions import InteractionData

N_USERS, N_ITEMS = 60, 40


def make_tables(seed: int = 0) -> tuple[pa.Table, pa.Table]:
    """Users 0-29 watch mostly even (genre A) items, users 30-59 mostly odd (genre B) items."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(N_USERS):
        group = u % 2 if u < 0 else (0 if u < 30 else 1)
        pool = np.arange(group, N_ITEMS - 2, 2)  # the last two items are never watched
        chosen = rng.choice(pool, size=8, replace=False)
        noise = rng.choice(np.arange(N_ITEMS - 2), size=1)
        for t, i in enumerate(np.r_[chosen, noise]):
            rows.append((f"u{u}", f"i{i}", float(rng.integers(3, 6) if i % 2 == group else 2), t))
    interactions = pa.table(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "event_type": ["rating"] * len(rows),
            "value": pa.array([r[2] for r in rows], pa.float32()),
            "timestamp": pa.array(
                [1_700_000_000_000 + r[3] * 3_600_000 for r in rows], pa.timestamp("ms", tz="UTC")
            ),
        }
    )
    items = pa.table(
        {
            "item_id": [f"i{i}" for i in range(N_ITEMS)],
            "title": [f"{'Space' if i % 2 == 0 else 'Love'} story {i}" for i in range(N_ITEMS)],
            "description": [
                "rocket galaxy alien ship" if i % 2 == 0 else "romance kiss wedding heart"
                for i in range(N_ITEMS)
            ],
            "genres": [["Sci-Fi"] if i % 2 == 0 else ["Romance"] for i in range(N_ITEMS)],
            "year": pa.array([1990 + i for i in range(N_ITEMS)], pa.int32()),
            "maturity_rating": ["PG" if i % 4 else "R" for i in range(N_ITEMS)],
            "available": [i != 10 for i in range(N_ITEMS)],
        }
    )
    return interactions, items


@pytest.fixture(scope="session")
def tables() -> tuple[pa.Table, pa.Table]:
    return make_tables()


@pytest.fixture(scope="session")
def data(tables: tuple[pa.Table, pa.Table]) -> InteractionData:
    interactions, items = tables
    return InteractionData.from_tables(interactions, items)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> None:
    """Tiny torch models train fastest on one intra-op thread; two threads spin-wait badly when
    a 2-CPU runner is busy (a 1 s fit was seen taking 25 s)."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
