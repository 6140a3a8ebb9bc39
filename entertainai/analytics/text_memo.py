"""A bounded memo of per-text rows (sentence embeddings, lexicon scores).

A cross-fitted classifier (``calibration_folds``) computes the features of every training text
k + 1 times; with the rows kept, each costly per-text computation runs once per text. The memo
holds up to ``size`` texts, then starts over (no per-entry bookkeeping on the hot path).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


class TextRowMemo:
    def __init__(self, size: int) -> None:
        self.size = size
        self.rows: dict[str, np.ndarray] = {}

    def lookup(
        self, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        """(n, ...) rows of ``texts``: known ones from the memo, the rest from ``compute``
        (called once, with each missing text once). ``texts`` must not be empty."""
        known = {t: self.rows[t] for t in texts if t in self.rows}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, compute(missing), strict=True))
            if len(self.rows) + len(missing) > self.size:
                self.rows.clear()
            if len(missing) <= self.size:
                self.rows.update((t, known[t]) for t in missing)
        return np.stack([known[t] for t in texts])
