"""TextRowMemo: each missing text computed once, rows in input order, bounded."""

from __future__ import annotations

import numpy as np

from entertainai.analytics.text_memo import TextRowMemo


def test_computes_each_missing_text_once_in_order_and_stays_bounded():
    calls: list[list[str]] = []

    def lengths(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], np.float32)

    memo = TextRowMemo(size=3)
    out = memo.lookup(["ab", "c", "ab"], lengths)
    assert out.tolist() == [[2, 1], [1, 1], [2, 1]] and calls == [["ab", "c"]]
    assert memo.lookup(["c", "dddd"], lengths).tolist() == [[1, 1], [4, 1]]
    assert calls[-1] == ["dddd"] and len(memo.rows) == 3
    memo.lookup(["eeeee"], lengths)  # a fourth text: the memo starts over
    assert set(memo.rows) == {"eeeee"}
    memo.lookup(["f", "g", "h", "i"], lengths)  # more than fits at once: returned, not kept
    assert set(memo.rows) == set()
