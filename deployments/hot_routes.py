"""The hot GET routes, in one table: every place that matches them reads it.

The fast lane answers the routes it has a handler for (``deployments/fastlane.py``), the
FastAPI routers declare the same path strings, Serve's proxy hints (``ingress_hints.py``)
skip the disconnect watch for all of them, and user tokens may call the ``shared`` ones
(lists that tell nothing about any user). Kept free of FastAPI and the model code: Serve's
proxy imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class HotRoute:
    """A hot GET route: its path pattern (as FastAPI declares it) and whether it is shared."""

    path: str
    shared: bool = False  # about no user (a user token may read it)

    @property
    def regex(self) -> re.Pattern[str]:
        # "{name}" matches one non-empty path segment, as FastAPI's str path parameters do.
        return re.compile(
            "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
        )


USER_RECOMMENDATIONS = HotRoute("/v1/users/{user_id}/recommendations")
SIMILAR_ITEMS = HotRoute("/v1/items/{item_id}/similar", shared=True)
TRENDING = HotRoute("/v1/trending", shared=True)
HOT_GETS = (USER_RECOMMENDATIONS, SIMILAR_ITEMS, TRENDING)
SHARED_PATHS = frozenset(r.path for r in HOT_GETS if r.shared)
_MATCHERS = [(route, route.regex) for route in HOT_GETS]


def match(path: str) -> tuple[HotRoute, dict[str, str]] | None:
    """The hot route ``path`` (percent-decoded, as ASGI gives it) names and its path
    parameters, or None."""
    for route, regex in _MATCHERS:
        found = regex.match(path)
        if found is not None:
            return route, found.groupdict()
    return None


def router_path(route: HotRoute, prefix: str = "/v1") -> str:
    """The path a router with ``prefix`` declares for ``route``."""
    if not route.path.startswith(prefix):
        raise ValueError(f"{route.path!r} is not under {prefix!r}")
    return route.path[len(prefix) :]
