"""Interaction events from untrusted input: the :class:`Event` record and its validation.

What may enter the event log (:mod:`entertainai.serving.event_log`): known event types,
bounded identifiers, finite values, and timestamps in seconds that are neither from before
2000 (a milliseconds or unset-clock bug) nor too far in the future.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from entertainai.data import schemas
from entertainai.errors import InputError

MAX_ID_LENGTH = 256
DEFAULT_MAX_FUTURE_S = 300.0
# 2000-01-01T00:00:00Z. Older timestamps are almost always milliseconds-vs-seconds or
# unset-clock bugs, and would silently poison time-decayed features.
MIN_TIMESTAMP = 946_684_800.0


@dataclass(frozen=True, slots=True)
class Event:
    """One interaction. ``timestamp`` is UTC unix seconds; ``value`` a rating, fraction or None."""

    user_id: str
    item_id: str
    event_type: str
    value: float | None
    timestamp: float
    device: str | None = None


def validate_event(
    *,
    user_id: object,
    item_id: object,
    event_type: object,
    value: object = None,
    timestamp: object = None,
    device: object = None,
    now: float | None = None,
    max_future_s: float = DEFAULT_MAX_FUTURE_S,
) -> Event:
    """Build an :class:`Event` from untrusted fields; a missing timestamp means ``now``.

    Raises :class:`InputError` whose location names the offending field.
    """
    now = time.time() if now is None else now
    event = Event(
        user_id=user_id,  # type: ignore[arg-type]  # checked below
        item_id=item_id,  # type: ignore[arg-type]
        event_type=event_type,  # type: ignore[arg-type]
        value=None if value is None else _number(value, "value"),
        timestamp=now if timestamp is None else _number(timestamp, "timestamp"),
        device=device,  # type: ignore[arg-type]
    )
    check_event(event, now=now, max_future_s=max_future_s)
    return event


def check_event(
    event: Event, *, now: float, max_future_s: float = DEFAULT_MAX_FUTURE_S, where: str = ""
) -> None:
    """Raise :class:`InputError` naming the field if ``event`` may not enter the log."""
    for name in ("user_id", "item_id"):
        _identifier(getattr(event, name), name, where)
    if event.event_type not in schemas.EVENT_TYPES:
        raise InputError(
            f"must be one of {', '.join(schemas.EVENT_TYPES)}",
            location=f"{where}field 'event_type'",
        )
    if event.value is not None and not _is_finite(event.value):
        raise InputError("must be a finite number or null", location=f"{where}field 'value'")
    ts = event.timestamp
    if not _is_finite(ts) or ts < MIN_TIMESTAMP:
        raise InputError(
            "must be unix seconds after 2000-01-01 (milliseconds by mistake?)",
            location=f"{where}field 'timestamp'",
        )
    if ts > now + max_future_s:
        raise InputError(
            f"is {ts - now:.0f} s in the future (at most {max_future_s:.0f} s allowed)",
            location=f"{where}field 'timestamp'",
        )
    if event.device is not None:
        _identifier(event.device, "device", where)


def _identifier(value: object, name: str, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise InputError("must be a non-empty string", location=f"{where}field '{name}'")
    if len(value) > MAX_ID_LENGTH:
        raise InputError(
            f"is longer than {MAX_ID_LENGTH} characters", location=f"{where}field '{name}'"
        )


def _number(value: object, name: str) -> float:
    # bool is an int subclass; `true` as a rating is a client bug, not 1.0.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError("must be a number", location=f"field '{name}'")
    return float(value)


def _is_finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
