"""The app builder: ``serve run deployments.app:build_app registry=./artifacts``.

One graph: the Gateway ingress answers the hot path in its own replicas and composes the
batch recommender and every capability deployment through ``DeploymentHandle``s; the live
feed carries events and new items between the replicas that hold state. Resources,
replicas and autoscaling live in ``serve_config.yaml``, not here.
"""

# No ``from __future__ import annotations`` here: Serve reads ``build_app``'s annotation to
# validate a config file's ``args`` into ``AppArgs``, and a string annotation defeats that.
from typing import Any

from ray.serve import Application
from ray.serve.deployment import Deployment

from deployments.batch import BatchRecommender
from deployments.feed import LiveFeedDeployment
from deployments.gateway import Gateway
from deployments.generate_image import ImageGenerator
from deployments.generate_music import MusicGenerator
from deployments.generate_text import TextGenerator
from deployments.insights import Insights
from deployments.moderation import Moderator
from deployments.settings import CAPABILITY_NAMES, AppArgs
from deployments.text_analytics import TextAnalyzer

# Capability name (the key routes ask for, see deps.capability) -> its deployment.
CAPABILITIES: dict[str, Deployment] = {
    "generate_text": TextGenerator,
    "generate_image": ImageGenerator,
    "generate_music": MusicGenerator,
    "analyze_text": TextAnalyzer,
    "moderate": Moderator,
    "insights": Insights,
}
assert set(CAPABILITIES) == set(CAPABILITY_NAMES)


def build_app(args: AppArgs) -> Application:
    """The whole inference graph (Serve calls this with the config file's ``args``)."""
    return build_graph(args)


def build_graph(args: AppArgs, options: dict[str, dict[str, Any]] | None = None) -> Application:
    """``build_app`` with per-deployment ``.options()`` (name -> kwargs), for launchers that
    apply the Serve config file's deployment settings programmatically."""
    options = options or {}
    settings = args.model_dump()
    feed = LiveFeedDeployment.options(**options.get("LiveFeed", {})).bind(settings)
    handles = {
        name: deployment.options(**options.get(deployment.name, {})).bind(settings)
        for name, deployment in CAPABILITIES.items()
        if name in args.capabilities
    }
    # The batch path follows the same curation block list as the Gateway.
    batch = BatchRecommender.options(**options.get("BatchRecommender", {})).bind(
        settings, feed, handles.get("moderate")
    )
    return Gateway.options(**options.get("Gateway", {})).bind(settings, batch, feed, **handles)
