"""Prometheus metrics and JSON request logs with request ids."""

from __future__ import annotations

import json
import logging
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
EVENT_LOG_FAILING = Gauge(
    "entertainai_event_log_failing",
    "1 while this replica's event log cannot write (POST /v1/events answers 507/503)",
    registry=REGISTRY,
)
EVENT_LOG_ERRORS = Counter(
    "entertainai_event_log_write_errors_total",
    "Event batches refused because the log could not write them",
    ["reason"],  # disk_full | io_error
    registry=REGISTRY,
)
FEED_REPLAYED = Counter(
    "entertainai_feed_updates_replayed_total",
    "Live updates (event batches, new items) replayed from other replicas",
    registry=REGISTRY,
)
FEED_MISSED = Counter(
    "entertainai_feed_updates_missed_total",
    "Live updates that left the feed's retention before this replica read them",
    registry=REGISTRY,
)
FEED_ERRORS = Counter(
    "entertainai_feed_errors_total", "Failed live-feed calls", ["op"], registry=REGISTRY
)
RELOADS = Counter("entertainai_model_reloads_total", "Model swaps", ["outcome"], registry=REGISTRY)
RELOAD_REFUSED = Gauge(
    "entertainai_model_reload_refused",
    "1 while a deployment serves another version than its registry alias names (refused)",
    ["deployment"],
    registry=REGISTRY,
)

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


class Observe:
    """Pure ASGI middleware: request id, Prometheus counters and latency, error access logs.

    (Starlette's ``@app.middleware("http")`` wraps every request in extra tasks and streams;
    on the hot path that costs more than the recommendation itself.)
    """

    def __init__(self, app: ASGIApp, echo_request_id: bool = True) -> None:
        self.app = app
        self.echo_request_id = echo_request_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        request_id = headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if self.echo_request_id:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"x-request-id", request_id.encode()),
                    ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method", "")
            REQUESTS.labels(route, method, str(status)).inc()
            LATENCY.labels(route, method).observe(elapsed)
            if status >= 400:
                access_log.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": request_id,
                            "route": route,
                            "method": method,
                            "status": status,
                            "ms": round(elapsed * 1000, 2),
                        }
                    },
                )


def metrics_response() -> Response:
    return Response(generate_latest(REGISTRY), media_type="text/plain; version=0.0.4")
