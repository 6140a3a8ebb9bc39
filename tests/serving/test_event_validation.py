from __future__ import annotations

import math

import pytest

from entertainai.errors import InputError
from entertainai.serving.event_validation import validate_event

T0 = 1_700_000_000.0

NOW = T0 + 1000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_type": "bogus"}, "event_type"),
        ({"timestamp": NOW + 301}, "timestamp"),
        ({"timestamp": NOW * 1000}, "timestamp"),  # milliseconds by mistake
        ({"timestamp": 946_684_799.0}, "timestamp"),  # 1999
        ({"timestamp": math.inf}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"value": math.nan}, "value"),
        ({"value": "5"}, "value"),
        ({"value": True}, "value"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": 42}, "user_id"),
        ({"item_id": "x" * 257}, "item_id"),
        ({"device": ""}, "device"),
    ],
)
def test_validation_names_the_field(change: dict, field: str) -> None:
    fields = {"user_id": "u", "item_id": "i", "event_type": "play", "value": 1, "timestamp": T0}
    with pytest.raises(InputError, match=f"field '{field}'") as info:
        validate_event(**{**fields, **change}, now=NOW)
    assert info.value.location and field in info.value.location


def test_validate_event_accepts_and_defaults() -> None:
    event = validate_event(user_id="u", item_id="i" * 256, event_type="like", now=NOW)
    assert event.timestamp == NOW and event.value is None and event.device is None
    event = validate_event(
        user_id="u", item_id="i", event_type="rating", value=4, timestamp=NOW + 300, now=NOW
    )
    assert event.value == 4.0 and isinstance(event.value, float)
