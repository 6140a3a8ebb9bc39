"""Checks before an alias moves: the artifact loads and can fill the role it will serve.

``entertainai models promote`` calls :func:`check_promotion` so that a version replicas
would refuse is refused at the command line, in one line, before anything changes.
"""

from __future__ import annotations

from pathlib import Path

from entertainai.errors import EntertainAIError, InputError
from entertainai.model import MODEL_KINDS, load_model
from entertainai.registry import Registry
from entertainai.serving.service import ServiceConfig, check_servable

# The Serve config shipped beside the package (an editable or source install).
SHIPPED_SERVE_CONFIG = Path(__file__).resolve().parents[2] / "deployments" / "serve_config.yaml"


def serving_config(path: str | None) -> ServiceConfig:
    """The refs the Serve graph serves, from its config file's ``args`` (defaults if absent)."""
    import yaml

    file = Path(path) if path else SHIPPED_SERVE_CONFIG
    if not file.exists():
        if path:
            raise InputError(f"{path}: no such Serve config")
        return ServiceConfig()
    try:
        app = (yaml.safe_load(file.read_text()) or {}).get("applications", [{}])[0]
    except yaml.YAMLError as exc:
        raise InputError(f"{file}: not valid YAML ({exc})") from None
    args = app.get("args", {}) or {}
    return ServiceConfig(
        model=args.get("model", ServiceConfig.model), trending=args.get("trending")
    )


def family(kind: str) -> str:
    """The package a kind lives in (recommend, generate, analytics, moderation)."""
    return MODEL_KINDS.get(kind, kind).split(".")[1] if "." in MODEL_KINDS.get(kind, "") else kind


def check_promotion(
    registry: Registry, name: str, version: int, alias: str, serving: ServiceConfig
) -> None:
    """Raise InputError saying why ``name@version`` cannot become ``name@alias``."""
    mv = registry.get(f"{name}@{version}")
    try:
        model = load_model(registry.local_path(mv.ref))
    except EntertainAIError as exc:
        raise InputError(f"{mv.ref} does not load: {exc}") from None
    if alias == "production":
        for role, ref in (("model", serving.model), ("trending", serving.trending)):
            if ref and "/" not in ref and ref.split("@")[0] == name:
                try:
                    check_servable(model, role, serving)
                except InputError as exc:
                    raise InputError(
                        f"refusing to promote {mv.ref}: the Serve graph serves {ref} as its "
                        f"{'recommender' if role == 'model' else 'trending model'} and {exc}"
                    ) from None
    current = registry.aliases(name).get(alias)
    if current is not None and current != version:
        now = registry.get(f"{name}@{current}")
        if family(now.kind) != family(mv.kind):
            raise InputError(
                f"refusing to promote {mv.ref}: {name}@{alias} serves a {now.kind} model and "
                f"version {version} is a {mv.kind} model (use another name, or --force)"
            )


def rollback_target(registry: Registry, name: str, alias: str) -> int | None:
    """The version ``alias`` pointed at before its last move (None: nothing to go back to)."""
    history = [h for h in registry.alias_history(name) if h["alias"] == alias]
    return history[-1]["previous"] if history else None


def rollback(registry: Registry, name: str, alias: str) -> int:
    """Move ``alias`` back to the version it had before; returns that version. The CLI's
    ``models rollback`` and the web app's operator page both roll back through this."""
    previous = rollback_target(registry, name, alias)
    if previous is None:
        raise InputError(f"{name}@{alias} has no earlier version to roll back to")
    registry.set_alias(name, alias, previous)
    return previous
