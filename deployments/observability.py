"""Prometheus metrics and JSON request logs with request ids."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from entertainai.serving.security import redact

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "entertainai_requests_total", "HTTP requests", ["route", "method", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "entertainai_request_seconds",
    "HTTP request latency",
    ["route", "method"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
MODEL_VERSION = Gauge(
    "entertainai_model_version", "Version serving per role", ["role", "name"], registry=REGISTRY
)
BATCH_SIZE = Histogram(
    "entertainai_batch_size",
    "Users per batched model call",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    registry=REGISTRY,
)
EVENTS = Counter("entertainai_events_ingested_total", "Events durably logged", registry=REGISTRY)
EVENT_LAG = Gauge(
    "entertainai_event_lag_seconds",
    "Now minus the newest event's timestamp at ingestion",
    registry=REGISTRY,
)
RELOADS = Counter("entertainai_model_reloads_total", "Model swaps", ["outcome"], registry=REGISTRY)

access_log = logging.getLogger("entertainai.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        payload.update(getattr(record, "fields", {}))
        return json.dumps(payload)


def configure_json_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    access_log.handlers[:] = [handler]
    access_log.propagate = False
    access_log.setLevel(logging.INFO)


def route_of(request: Request) -> str:
    """The route template (``/v1/users/{user_id}/recommendations``), never the raw path."""
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


async def observe(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    request.state.request_id = request_id
    start = time.perf_counter()
    response = await call_next(request)
    elapsed = time.perf_counter() - start
    route = route_of(request)
    REQUESTS.labels(route, request.method, str(response.status_code)).inc()
    LATENCY.labels(route, request.method).observe(elapsed)
    response.headers["x-request-id"] = request_id
    if response.status_code >= 400 or access_log.isEnabledFor(logging.DEBUG):
        access_log.info(
            "request",
            extra={
                "fields": {
                    "request_id": request_id,
                    "route": route,
                    "method": request.method,
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 2),
                }
            },
        )
    return response


def metrics_response() -> Response:
    return Response(generate_latest(REGISTRY), media_type="text/plain; version=0.0.4")
