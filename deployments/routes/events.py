"""Interaction events: durably logged, then applied to history and trending at once."""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from deployments.deps import EventWriter, State
from deployments.observability import EVENT_LAG, EVENTS
from deployments.schemas import EventsRequest, EventsResponse
from entertainai.serving import feed
from entertainai.serving.event_validation import validate_event
from entertainai.serving.service import live_rows

router = APIRouter(prefix="/v1", tags=["events"])


@router.post("/events", response_model=EventsResponse, status_code=202)
async def post_events(body: EventsRequest, state: State, _: EventWriter) -> EventsResponse:
    """Record a batch of interactions; acknowledged only once they are on disk."""
    now = time.time()
    events = [validate_event(**e.model_dump(), now=now) for e in body.events]
    accepted = await run_in_threadpool(state.service.ingest, events)  # fsync off the event loop
    await state.publish(feed.EVENTS, live_rows(events))  # the other replicas, within a poll
    EVENTS.inc(accepted)
    EVENT_LAG.set(state.service.last_event_lag_s)
    return EventsResponse(accepted=accepted)
