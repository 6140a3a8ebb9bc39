"""The app builder: ``serve run deployments.app:build_app registry=./artifacts``.

Resources, replicas and autoscaling live in ``serve_config.yaml``, not here.
"""

from __future__ import annotations

from ray.serve import Application

from deployments.batch import BatchRecommender
from deployments.gateway import Gateway
from deployments.settings import AppArgs


def build_app(args: AppArgs) -> Application:
    """The whole inference graph: the Gateway ingress composing the capability deployments."""
    settings = args.model_dump()
    batch = BatchRecommender.bind(settings)
    return Gateway.bind(settings, batch)
