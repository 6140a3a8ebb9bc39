"""Toxicity/spam verdicts over a trained multi-label classifier, and curation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from entertainai.analytics.text_data import demo_labelled
from entertainai.analytics.text_models import TfidfLinear
from entertainai.errors import InputError
from entertainai.moderation.curation import CurationConfig, curate, curate_dataset
from entertainai.moderation.text import TextModerator, Verdict, check_texts


@pytest.fixture(scope="module")
def moderation_model(demo_dir: Path) -> TfidfLinear:
    return TfidfLinear().fit(demo_labelled(demo_dir, "moderation"))


def test_flags_spam_and_toxic_not_clean(moderation_model, demo_dir: Path):
    data = demo_labelled(demo_dir, "moderation")
    verdicts = check_texts(moderation_model, data.texts)
    flagged = np.array([v.flagged for v in verdicts])
    truth = np.array([bool(row) for row in data.labels])
    recall, false_alarms = flagged[truth].mean(), flagged[~truth].mean()
    assert recall > 0.7 and false_alarms < 0.05
    spam = next(
        v for v, row in zip(verdicts, data.labels, strict=True) if row == ("spam",) and v.flagged
    )
    assert spam.reasons[0].startswith("spam: score") and set(spam.scores) == {"spam", "toxic"}


def test_thresholds_override_and_blank_texts(moderation_model):
    strict = TextModerator(moderation_model, {"spam": 1.0, "toxic": 1.0})
    assert not any(v.flagged for v in strict.check_texts(["buy now free offer click link"]))
    lax = TextModerator(moderation_model, {"spam": 1e-6, "toxic": 1e-6})
    assert lax.check_texts(["anything"])[0].flagged
    assert lax.check_texts(["   "]) == [Verdict(False, [], {"spam": 0.0, "toxic": 0.0})]
    with pytest.raises(InputError, match="unknown moderation category"):
        TextModerator(moderation_model, {"nsfw": 0.5})
    with pytest.raises(InputError, match=r"\(0, 1\]"):
        TextModerator(moderation_model, {"spam": 0})


def fake_check(texts: list[str]) -> list[Verdict]:
    return [Verdict("bad" in t, ["toxic"] if "bad" in t else [], {}) for t in texts]


def test_curation_rules():
    comments = [
        ("c1", "i1", "bad"),
        ("c2", "i1", "bad"),
        ("c3", "i1", "fine"),
        ("c4", "i2", "bad"),
        ("c5", "i2", "fine"),
        ("c6", "i2", "fine"),
        ("c7", "i2", "fine"),
        ("c8", None, "bad"),
    ]
    items = [("i1", "a show"), ("i2", "a show"), ("i3", "a bad show"), ("i4", None)]
    result = curate(comments, items, fake_check, CurationConfig(flagged_share=0.5))
    assert result.flagged_comments == ["c1", "c2", "c4", "c8"]
    assert result.blocked_items == ["i1", "i3"]  # i2: one flagged comment of four
    assert "2 of 3" in result.reasons["i1"] and "description" in result.reasons["i3"]


def test_curation_of_demo_dataset(moderation_model, demo_dir: Path):
    result = curate_dataset(str(demo_dir), TextModerator(moderation_model).check_texts)
    assert result.flagged_comments and all(t.startswith("t-") for t in result.flagged_comments)
    assert set(result.to_dict()) == {"blocked_items", "flagged_comments", "reasons"}


def test_refuse_flagged_names_the_reason(moderation_model, demo_dir: Path):
    from entertainai.errors import ContentRefused
    from entertainai.moderation.text import refuse_flagged

    data = demo_labelled(demo_dir, "moderation")
    spam = next(t for t, row in zip(data.texts, data.labels, strict=True) if row == ("spam",))
    verdicts = [v.to_dict() for v in check_texts(moderation_model, ["loved it", spam])]
    with pytest.raises(ContentRefused, match=r"generated text \[1\] refused by moderation: spam"):
        refuse_flagged(verdicts)
    refuse_flagged(verdicts[:1])  # clean text passes
