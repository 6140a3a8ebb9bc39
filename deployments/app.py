"""The app builder: ``serve run deployments.app:build_app registry=./artifacts``.

Resources, replicas and autoscaling live in ``serve_config.yaml``, not here.
"""

from __future__ import annotations

from typing import Any

from ray.serve import Application

from deployments.batch import BatchRecommender
from deployments.gateway import Gateway
from deployments.settings import AppArgs


def build_app(args: AppArgs, options: dict[str, dict[str, Any]] | None = None) -> Application:
    """The whole inference graph: the Gateway ingress composing the capability deployments.

    ``options`` (deployment name -> ``.options()`` kwargs) lets a launcher apply the Serve config
    file's deployment settings when it runs the app programmatically.
    """
    options = options or {}
    settings = args.model_dump()
    batch = BatchRecommender.options(**options.get("BatchRecommender", {})).bind(settings)
    return Gateway.options(**options.get("Gateway", {})).bind(settings, batch)
