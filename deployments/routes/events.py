"""Interaction events: durably logged, then applied to history and trending at once."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from deployments.deps import State, authorize_request
from deployments.observability import EVENT_LAG, EVENT_LOG_ERRORS, EVENT_LOG_FAILING, EVENTS
from deployments.schemas import EventsRequest, EventsResponse
from entertainai.serving import feed
from entertainai.serving.event_log import LogWriteFailed
from entertainai.serving.event_validation import validate_event
from entertainai.serving.service import live_rows

router = APIRouter(prefix="/v1", tags=["events"])

# A full disk needs an operator (507, retry after a while); an I/O error may pass (503).
RETRY_AFTER_S = {True: 30, False: 5}
_REFUSED = {"description": "not recorded: the event log cannot write (JSON error body)"}


@router.post(
    "/events",
    response_model=EventsResponse,
    status_code=202,
    responses={503: _REFUSED, 507: _REFUSED},
)
async def post_events(
    body: EventsRequest,
    request: Request,
    state: State,
    # Declared for the OpenAPI schema, as ``deps.require`` does; the key is read from the raw
    # headers by ``authorize_request``.
    x_api_key: Annotated[str | None, Header(description="API key or user token")] = None,
    authorization: Annotated[str | None, Header(description="Bearer key or token")] = None,
) -> Any:
    """Record a batch of interactions (a user token: its own user's only); acknowledged only
    once they are on disk."""
    # Whose events these are is in the body, not the path, so the key is checked here, once
    # the body is parsed (the key gate has refused requests without a valid key before that):
    # a key may write for anyone, a user token for its own user; one other user refuses the
    # whole batch (403) before anything is written.
    users = list(dict.fromkeys(e.user_id for e in body.events))
    writer = authorize_request(state, request.scope, "write-events", user_id=users[0])
    for user in users[1:]:
        writer.require_user(user)
    now = time.time()
    events = [validate_event(**e.model_dump(), now=now) for e in body.events]
    try:
        accepted = await run_in_threadpool(state.service.ingest, events)  # fsync off the loop
    except LogWriteFailed as exc:
        return refused(request, exc)
    EVENT_LOG_FAILING.set(0)
    await state.publish(feed.EVENTS, live_rows(events))  # the other replicas, within a poll
    EVENTS.inc(accepted)
    EVENT_LAG.set(state.service.last_event_lag_s)
    return EventsResponse(accepted=accepted)


def refused(request: Request, exc: LogWriteFailed) -> JSONResponse:
    """507 (disk full) or 503 (I/O error), counted and flagged for the alert; the log heals on
    a later write or ``/readyz`` once the disk is back."""
    EVENT_LOG_ERRORS.labels("disk_full" if exc.disk_full else "io_error").inc()
    EVENT_LOG_FAILING.set(1)
    body = {
        "error": "insufficient_storage" if exc.disk_full else "event_log_unavailable",
        "detail": str(exc),
        "request_id": getattr(request.state, "request_id", None),
    }
    return JSONResponse(
        body,
        status_code=507 if exc.disk_full else 503,
        headers={"Retry-After": str(RETRY_AFTER_S[exc.disk_full])},
    )
