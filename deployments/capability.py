"""What every capability deployment (generation, analytics, moderation) shares.

A capability deployment is a thin Serve class over core pipelines in ``entertainai/``. It loads
its models from the registry by alias *lazily*, so the graph deploys before every model is
trained (a request for an untrained one answers 503 with the ref it looked for), and it follows
alias moves (promote/rollback) on the next request after ``reload_interval_s``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from entertainai.errors import ArtifactError, NotFoundError
from entertainai.model import Model, load_model
from entertainai.registry import ModelVersion, Registry

log = logging.getLogger(__name__)

# Every generation stops within this, whatever the client asks: below the HTTP request timeout
# (serve_config.yaml: request_timeout_s 30), so the answer (or its "stopped early") reaches
# the client instead of the proxy giving up on it while the replica keeps computing.
MAX_TIME_BUDGET_S = 25.0


def knobs_within_budget(
    request: dict[str, Any], names: tuple[str, ...], budget: str
) -> dict[str, Any]:
    """The pipeline's keyword arguments from ``request``, with the ``budget`` knob always set
    and never above :data:`MAX_TIME_BUDGET_S` (clients cannot switch the limit off)."""
    knobs = {k: request[k] for k in names if request.get(k) is not None}
    knobs[budget] = min(float(knobs.get(budget, MAX_TIME_BUDGET_S)), MAX_TIME_BUDGET_S)
    return knobs


class ModelSlots:
    """Role -> registry ref, each loaded on first use and re-resolved when its alias moves."""

    def __init__(
        self,
        registry: str,
        refs: dict[str, str],
        *,
        reload_interval_s: float = 5.0,
        loader: Callable[[str], Model] = load_model,
    ) -> None:
        self.registry = Registry(registry)
        self.refs = dict(refs)
        self.reload_interval_s = reload_interval_s
        self._loader = loader
        self._loaded: dict[str, tuple[ModelVersion, Model]] = {}
        self._checked: dict[str, float] = {}
        self._refused: dict[str, tuple[int, str]] = {}  # role -> (version, why), not retried
        self._lock = threading.Lock()

    def get(self, role: str) -> Model:
        """The model serving ``role`` (loading or swapping it in if its alias moved)."""
        if role not in self.refs:
            raise NotFoundError(f"no model role {role!r}; known: {sorted(self.refs)}")
        now = time.monotonic()
        current = self._loaded.get(role)
        if current is not None and now - self._checked.get(role, 0.0) < self.reload_interval_s:
            return current[1]
        with self._lock:
            ref = self.refs[role]
            try:
                wanted = self.registry.get(ref)
            except NotFoundError:
                if current is not None:  # alias removed: keep serving what we have
                    return current[1]
                raise ArtifactError(
                    f"no model for {role!r}: {ref} is not in the registry; train it first"
                ) from None
            self._checked[role] = now
            if current is not None and current[0].version == wanted.version:
                self._refused.pop(role, None)
                return current[1]
            refused = self._refused.get(role)
            if current is not None and refused and refused[0] == wanted.version:
                return current[1]  # already tried and explained
            try:
                model = self._loader(str(self.registry.local_path(wanted.ref)))
            except ArtifactError as exc:
                if current is not None:  # a bad new version must not take down the old one
                    self._refused[role] = (wanted.version, str(exc))
                    log.warning(
                        "%s: wanted %s, serving %s, because %s",
                        role, wanted.ref, current[0].ref, exc,
                    )  # fmt: skip
                    return current[1]
                raise
            self._refused.pop(role, None)
            self._loaded[role] = (wanted, model)
            log.info("%s now serves %s", role, wanted.ref)
            return model

    def refused(self) -> dict[str, str]:
        """Roles whose wanted version was refused: "wanted vN, serving vM, because ..."."""
        out = {}
        for role, (version, why) in self._refused.items():
            current = self._loaded.get(role)
            serving = f"v{current[0].version}" if current else "nothing"
            out[role] = f"wanted v{version}, serving {serving}, because {why}"
        return out

    def versions(self) -> dict[str, str | None]:
        """What each role serves now (None: not loaded yet)."""
        return {role: (v[0].ref if (v := self._loaded.get(role)) else None) for role in self.refs}


class ServesModels:
    """Base of every capability deployment: what its ``ModelSlots`` serve and refuse, for
    the Gateway's ``/readyz``."""

    models: ModelSlots

    def model_status(self) -> dict[str, Any]:
        return {"serving": self.models.versions(), "refused": self.models.refused()}


class InProcessHandle:
    """A DeploymentHandle look-alike over a plain instance: ``h.method.remote(...)`` awaits.

    Lets the same routes run under plain uvicorn (the benchmark baseline) and in FastAPI
    TestClient tests without Ray; ``options(stream=True)`` yields from generator methods.
    """

    def __init__(self, target: Any, *, stream: bool = False) -> None:
        self._target = target
        self._stream = stream

    def options(self, *, stream: bool = False, **_: Any) -> InProcessHandle:
        return InProcessHandle(self._target, stream=stream)

    def __getattr__(self, name: str) -> _Method:
        return _Method(getattr(self._target, name), self._stream)


class _Method:
    def __init__(self, fn: Callable[..., Any], stream: bool) -> None:
        self._fn = fn
        self._stream = stream

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        if self._stream:
            return _agen(self._fn(*args, **kwargs))
        if inspect.iscoroutinefunction(self._fn):
            return self._fn(*args, **kwargs)
        return asyncio.to_thread(self._fn, *args, **kwargs)


async def _agen(result: Any) -> Any:
    if inspect.isasyncgen(result):
        async for item in result:
            yield item
    else:
        for item in result:
            yield item
