"""A one-argument app builder over ``deployments.app.build_app`` for ``serve deploy``.

Serve's config-file deploys call ``import_path`` builders with exactly one parameter (the
``args`` dict); ``deployments.app.build_app(args, options=None)`` has two, so Ray 2.60 refuses
it ("Application builder functions should take exactly one parameter"). The cluster test uses
this wrapper until the shipped builder takes one parameter, then deploys the shipped one.
"""

from __future__ import annotations

import inspect
from typing import Any

from ray.serve import Application

from deployments.app import build_app
from deployments.settings import AppArgs

SHIPPED = "deployments.app:build_app"
WRAPPER = "tests.cluster.serve_app:build"


def build(args: dict[str, Any]) -> Application:
    return build_app(AppArgs(**args))


def import_path() -> str:
    """The shipped builder when Serve can call it from a config file, else this wrapper."""
    return SHIPPED if len(inspect.signature(build_app).parameters) == 1 else WRAPPER
