"""Train/test splits of an interactions table, on (user, item) pairs so repeats never leak.

Spec strings (CLI and configs): ``random:FRACTION[:SEED]`` (per user),
``temporal:FRACTION`` (global cut-off at that quantile of time) or ``temporal:YYYY-MM-DD``,
and ``last:N`` (each user's last N distinct items).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from entertainai.errors import InputError


@dataclass(frozen=True)
class Split:
    train: pa.Table
    test: pa.Table
    description: str


def _pair_keys(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: user code, (user,item) pair code, and timestamp (ms)."""
    users = pc.dictionary_encode(table.column("user_id")).combine_chunks()
    pairs = pc.dictionary_encode(
        pc.binary_join_element_wise(
            pc.cast(table.column("user_id"), pa.string()),
            pc.cast(table.column("item_id"), pa.string()),
            "\x1f",
        )
    ).combine_chunks()
    ts = pc.cast(table.column("timestamp"), pa.int64()).to_numpy(zero_copy_only=False)
    return users.indices.to_numpy(), pairs.indices.to_numpy(), ts


def random_split(table: pa.Table, test_fraction: float = 0.2, seed: int = 42) -> Split:
    """Hold out ``test_fraction`` of each user's distinct items (users with >= 2 items)."""
    if not 0 < test_fraction < 1:
        raise InputError(f"test fraction must be in (0, 1), got {test_fraction}")
    users, pairs, _ = _pair_keys(table)
    n_pairs = int(pairs.max()) + 1 if len(pairs) else 0
    pair_user = np.zeros(n_pairs, np.int64)
    pair_user[pairs] = users
    rng = np.random.default_rng(seed)
    key = rng.random(n_pairs)
    # Rank pairs within each user by the random key.
    order = np.lexsort((key, pair_user))
    sorted_users = pair_user[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_users)) + 1]
    counts = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, counts)
    n_test = np.floor(counts * test_fraction).astype(np.int64)
    n_test[counts >= 2] = np.maximum(n_test[counts >= 2], 1)
    is_test_sorted = rank < np.repeat(n_test, counts)
    pair_test = np.zeros(n_pairs, bool)
    pair_test[order] = is_test_sorted
    mask = pair_test[pairs]
    return Split(
        table.filter(pa.array(~mask)),
        table.filter(pa.array(mask)),
        f"random:{test_fraction}:{seed}",
    )


def temporal_split(table: pa.Table, cutoff: float | str = 0.2) -> Split:
    """Global cut-off: everything at or after it is test. A float is the test share of time."""
    _, pairs, ts = _pair_keys(table)
    if isinstance(cutoff, str):
        try:
            when = dt.datetime.fromisoformat(cutoff)
        except ValueError:
            raise InputError(f"temporal cut-off {cutoff!r} is not a date (YYYY-MM-DD)") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        cut_ms = int(when.timestamp() * 1000)
    else:
        if not 0 < cutoff < 1:
            raise InputError(f"temporal fraction must be in (0, 1), got {cutoff}")
        cut_ms = int(np.quantile(ts, 1 - cutoff))
    test = ts >= cut_ms
    # A pair first seen before the cut-off stays in train entirely (re-watches are not new).
    first_seen = np.full(int(pairs.max()) + 1 if len(pairs) else 0, np.iinfo(np.int64).max)
    np.minimum.at(first_seen, pairs, ts)
    test &= first_seen[pairs] >= cut_ms
    train_mask = ts < cut_ms
    return Split(
        table.filter(pa.array(train_mask)), table.filter(pa.array(test)), f"temporal:{cutoff}"
    )


def leave_last_split(table: pa.Table, n: int = 1) -> Split:
    """Each user's last ``n`` distinct items (by first interaction) are test."""
    if n < 1:
        raise InputError(f"last:N needs N >= 1, got {n}")
    users, pairs, ts = _pair_keys(table)
    n_pairs = int(pairs.max()) + 1 if len(pairs) else 0
    first = np.full(n_pairs, np.iinfo(np.int64).max)
    np.minimum.at(first, pairs, ts)
    pair_user = np.zeros(n_pairs, np.int64)
    pair_user[pairs] = users
    order = np.lexsort((-first, pair_user))  # newest first within each user
    sorted_users = pair_user[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_users)) + 1]
    counts = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, counts)
    eligible = np.repeat(counts > n, counts)
    pair_test = np.zeros(n_pairs, bool)
    pair_test[order] = (rank < n) & eligible
    mask = pair_test[pairs]
    return Split(table.filter(pa.array(~mask)), table.filter(pa.array(mask)), f"last:{n}")


def split(table: pa.Table, spec: str) -> Split:
    """Split by a spec string (see the module docstring)."""
    kind, _, rest = spec.partition(":")
    args = rest.split(":") if rest else []
    try:
        if kind == "random":
            return random_split(
                table, float(args[0]) if args else 0.2, int(args[1]) if len(args) > 1 else 42
            )
        if kind == "temporal":
            arg = args[0] if args else "0.2"
            return temporal_split(table, arg if "-" in arg else float(arg))
        if kind == "last":
            return leave_last_split(table, int(args[0]) if args else 1)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"bad split spec {spec!r}: {exc}") from None
    raise InputError(
        f"unknown split {spec!r}; use random:FRACTION[:SEED], temporal:FRACTION|DATE or last:N"
    )
