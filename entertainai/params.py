"""``KEY=VALUE`` hyperparameters from command lines (CLI, Ray jobs, Tune, benchmarks)."""

from __future__ import annotations

import json
from typing import Any

from entertainai.errors import InputError


def parse_value(raw: str) -> Any:
    """JSON where it parses (numbers, lists, true); ``a,b,c`` is a list of such values."""
    try:
        return json.loads(raw)
    except ValueError:
        pass
    if "," in raw:
        return [parse_value(part.strip()) for part in raw.split(",")]
    return raw


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, each value read by :func:`parse_value`."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--param {pair!r}: expected KEY=VALUE")
        params[key] = parse_value(raw)
    return params
