"""Users: erasure of a user's events, history and cached state; user-scoped tokens."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from deployments.deps import Admin, State, token_signer
from deployments.schemas import ErasureResponse, TokenRequest, TokenResponse
from entertainai.serving import feed

router = APIRouter(prefix="/v1", tags=["users"])


@router.delete("/users/{user_id}", response_model=ErasureResponse)
async def erase_user(user_id: str, state: State, _: Admin) -> ErasureResponse:
    """Erase a user's events, history, model rows and artifacts on every replica (admin)."""
    try:
        removed = await run_in_threadpool(state.erase_user, user_id)
    finally:
        # Even when a step failed here (the request is recorded, retried): other replicas
        # forget the user in memory within a feed poll, and apply the ledger to their logs
        # within reload_interval_s.
        await state.publish(feed.FORGET, state.service.stored_id(user_id))
    return ErasureResponse(
        user_id=user_id,
        events_removed=removed,
        other_replicas_within_s=state.args.reload_interval_s,
    )


@router.post("/users/{user_id}/tokens", response_model=TokenResponse, status_code=201)
async def issue_token(
    user_id: str, state: State, _: Admin, body: TokenRequest | None = None
) -> TokenResponse:
    """A token for this user's recommendations, segment and events only (admin issues it)."""
    token, expires = token_signer(state).issue(user_id, (body or TokenRequest()).ttl_s)
    return TokenResponse(user_id=user_id, token=token, expires=expires)
