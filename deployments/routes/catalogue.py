"""Items: similar items, trending, and new catalogue entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from deployments.deps import Admin, Reader, State
from deployments.routes.convert import items_table, to_items
from deployments.schemas import ItemsAdded, ItemsRequest, ItemsResponse
from entertainai.serving import feed

router = APIRouter(prefix="/v1", tags=["catalogue"])


@router.get("/items/{item_id}/similar", response_model=ItemsResponse)
async def similar_items(
    item_id: str, state: State, _: Reader, k: Annotated[int, Query(ge=1, le=200)] = 10
) -> ItemsResponse:
    """Items most similar to one item."""
    return ItemsResponse(items=to_items(state.service.similar(item_id, k)))


@router.get("/trending", response_model=ItemsResponse)
async def trending(
    state: State,
    _: Reader,
    k: Annotated[int, Query(ge=1, le=200)] = 10,
    window: Annotated[str, Query(pattern="^(1h|1d|7d)$")] = "1d",
    genre: str | None = None,
) -> ItemsResponse:
    """What is trending now (fed by events in real time), optionally in one genre."""
    return ItemsResponse(items=to_items(state.service.trending(k, window=window, genre=genre)))


@router.post("/items", response_model=ItemsAdded, status_code=201)
async def add_items(body: ItemsRequest, state: State, _: Admin) -> ItemsAdded:
    """Add catalogue items; recommendable at once (moderation-flagged ones are blocked)."""
    flagged = await state.screen_new_items(
        [(i.item_id, f"{i.title}\n{i.description}".strip()) for i in body.items]
    )
    table = items_table(body.items)
    # Recorded under the registry first: replicas and models that come later get them too.
    added = await run_in_threadpool(state.service.add_items, table, blocked=flagged)
    if flagged:
        state.service.block(flagged, source="new_items")
    await state.publish(feed.ITEMS, {"table": table, "blocked": flagged})
    return ItemsAdded(added=added, blocked=flagged)
