"""Curation: which comments to hide and which items to keep out of recommendations and trending.

A pure function of the texts and a moderation check: a comment is hidden when the check flags
it; an item is blocked when its own description is flagged, or when at least
``min_flagged_comments`` of its comments are flagged and they make up ``flagged_share`` of
them (a pile-on of spam or abuse under one title). The Serve ingress applies the result as an
exclusion filter; this module knows nothing of Serve.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from entertainai.moderation.text import Verdict

Check = Callable[[list[str]], list[Verdict]]


@dataclass(frozen=True)
class CurationConfig:
    flagged_share: float = 0.3
    min_flagged_comments: int = 2
    batch_size: int = 1024


@dataclass(frozen=True)
class Curation:
    blocked_items: list[str]
    flagged_comments: list[str]
    reasons: dict[str, str] = field(default_factory=dict)  # item id -> why it is blocked

    def to_dict(self) -> dict[str, object]:
        return {
            "blocked_items": list(self.blocked_items),
            "flagged_comments": list(self.flagged_comments),
            "reasons": dict(self.reasons),
        }


def _check_all(check: Check, texts: list[str], batch_size: int) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for start in range(0, len(texts), batch_size):
        verdicts.extend(check(texts[start : start + batch_size]))
    if len(verdicts) != len(texts):
        raise ValueError(f"moderation returned {len(verdicts)} verdicts for {len(texts)} texts")
    return verdicts


def curate(
    comments: Sequence[tuple[str, str | None, str]],
    items: Sequence[tuple[str, str | None]],
    check: Check,
    config: CurationConfig = CurationConfig(),
) -> Curation:
    """``comments``: (text_id, item_id, text); ``items``: (item_id, description)."""
    comment_verdicts = _check_all(check, [c[2] for c in comments], config.batch_size)
    described = [(item_id, d) for item_id, d in items if d and d.strip()]
    item_verdicts = _check_all(check, [d for _, d in described], config.batch_size)

    flagged_comments = [c[0] for c, v in zip(comments, comment_verdicts, strict=True) if v.flagged]
    reasons: dict[str, str] = {}
    for (item_id, _), verdict in zip(described, item_verdicts, strict=True):
        if verdict.flagged:
            reasons[item_id] = "description flagged: " + "; ".join(verdict.reasons)
    totals: dict[str, list[int]] = {}
    for (_, commented, _), verdict in zip(comments, comment_verdicts, strict=True):
        if commented is None:
            continue
        counts = totals.setdefault(commented, [0, 0])
        counts[0] += 1
        counts[1] += int(verdict.flagged)
    for item_id, (total, flagged) in totals.items():
        share = flagged / total
        if (
            item_id not in reasons
            and flagged >= config.min_flagged_comments
            and share >= config.flagged_share
        ):
            reasons[item_id] = f"{flagged} of {total} comments flagged ({share:.0%})"
    return Curation(sorted(reasons), flagged_comments, reasons)


def curate_dataset(
    dataset_uri: str | os.PathLike[str], check: Check, config: CurationConfig = CurationConfig()
) -> Curation:
    """Curate a dataset's texts and item descriptions."""
    from entertainai.data.dataset import Dataset

    dataset = Dataset.open(str(dataset_uri))
    texts = dataset.texts.select(["text_id", "item_id", "text"]).to_pylist()
    items = dataset.items.select(["item_id", "description"]).to_pylist()
    return curate(
        [(t["text_id"], t["item_id"], t["text"]) for t in texts],
        [(i["item_id"], i["description"]) for i in items],
        check,
        config,
    )
