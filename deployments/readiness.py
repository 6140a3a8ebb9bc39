"""What the graph wants to serve that it cannot, for ``/readyz``, ``/v1/models`` and the
launcher: models the registry lacks (with the command that trains each) and refused reloads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from deployments.settings import AppArgs
from entertainai.errors import EntertainAIError
from entertainai.registry import Registry

# Registry name -> the command that trains and registers its production version.
RECOMMENDER_COMMAND = "make run (python -m train.pipeline)"


def train_command(name: str) -> str:
    from entertainai.model import MODEL_KINDS

    kind_module = MODEL_KINDS.get(name, "")
    if name == "hybrid" or kind_module.startswith("entertainai.recommend."):
        return f"{RECOMMENDER_COMMAND}, or entertainai train recommender --model {name}"
    return f"python -m train.capabilities --only {name}"


def capability_refs(args: AppArgs, names: Iterable[str]) -> dict[str, dict[str, str]]:
    """Capability -> role -> registry ref, as each of ``names`` resolves them."""
    from deployments import (
        generate_image,
        generate_music,
        generate_text,
        insights,
        moderation,
        text_analytics,
    )

    modules = {
        "generate_text": generate_text,
        "generate_image": generate_image,
        "generate_music": generate_music,
        "analyze_text": text_analytics,
        "moderate": moderation,
        "insights": insights,
    }
    out = {}
    for name in names:
        defaults: dict[str, str] = modules[name].DEFAULT_REFS
        optional = getattr(modules[name], "OPTIONAL_ROLES", frozenset())
        out[name] = {
            role: args.capability_models.get(role, ref)
            for role, ref in defaults.items()
            if role not in optional or role in args.capability_models
        }
    return out


def missing_models(args: AppArgs, capabilities: Iterable[str]) -> list[dict[str, str]]:
    """Every ref the graph serves that the registry does not hold (cheap JSON reads)."""
    registry = Registry(args.registry)
    wanted = [("recommendations", "model", args.model)]
    if args.trending:
        wanted.append(("recommendations", "trending", args.trending))
    for capability, roles in capability_refs(args, capabilities).items():
        wanted += [(capability, role, ref) for role, ref in roles.items()]
    missing = []
    for capability, role, ref in wanted:
        if "/" in ref:
            continue  # a directory, not a registry ref
        try:
            registry.get(ref)
        except EntertainAIError:
            name = ref.split("@")[0]
            missing.append(
                {"capability": capability, "role": role, "ref": ref, "train": train_command(name)}
            )
    return missing


async def capability_refusals(
    capabilities: dict[str, Any], timeout_s: float = 2.0
) -> dict[str, str]:
    """ "capability/role" -> "wanted vN, serving vM, because ..." from each deployment."""

    async def ask(name: str, handle: Any) -> dict[str, str]:
        try:
            status = await asyncio.wait_for(handle.model_status.remote(), timeout_s)
        except Exception:  # an unreachable deployment says nothing here; its routes will
            return {}
        return {f"{name}/{role}": why for role, why in status.get("refused", {}).items()}

    answers = await asyncio.gather(*(ask(n, h) for n, h in capabilities.items()))
    return {k: v for answer in answers for k, v in answer.items()}


def event_log_status(service: Any) -> dict[str, Any]:
    """The event log's health; a failed log is given one chance to heal here (a probe write),
    so a replica that takes no events still turns ready once the disk is back."""
    from deployments.observability import EVENT_LOG_FAILING

    events = service.events
    if events is None:
        return {"ok": True, "error": None, "disk_full": False, "since": None}
    if not events.status()["ok"]:
        events.heal()
    status: dict[str, Any] = events.status()
    EVENT_LOG_FAILING.set(0 if status["ok"] else 1)
    return status


async def readiness(state: Any) -> dict[str, Any]:
    """``/readyz``'s body: "ready" when everything wanted is served and the event log writes,
    else "degraded" and why."""
    from starlette.concurrency import run_in_threadpool

    reload = state.service.reload_status.to_json()
    missing = await run_in_threadpool(missing_models, state.args, state.capabilities)
    refused = {"recommendations": reload["refused"]} if reload["refused"] else {}
    refused.update(await capability_refusals(state.capabilities))
    event_log = await run_in_threadpool(event_log_status, state.service)
    return {
        "status": "degraded" if (missing or refused or not event_log["ok"]) else "ready",
        "serving": reload["serving"],
        "wanted": reload["wanted"],
        "refused": refused,
        "missing": missing,
        "event_log": event_log,
    }
