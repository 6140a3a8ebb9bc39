"""The pages: server-rendered templates whose data is embedded as JSON (no extra request to
show them), plus sign-in, sign-out and the viewer-profile switch."""

from __future__ import annotations

import re
import tempfile
import threading
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from deployments.deps import token_signer
from deployments.web import endpoints
from deployments.web.context import (
    CSRF_FIELD,
    Admin,
    Ctx,
    MaybeSession,
    Reader,
    SignedIn,
    WebContext,
    is_https,
    read_form,
    require_csrf,
    same_origin,
)
from deployments.web.sessions import COOKIE, Session
from entertainai.errors import InputError, NotFoundError, Unauthenticated, Unavailable
from entertainai.serving.security import SCOPES, TOKEN_PREFIX

router = APIRouter()
router.include_router(endpoints.router)

USER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_report_lock = threading.Lock()

# (page, link, label, scope needed); a user token's session sees the VIEWER_PAGES only.
NAV = [
    ("home", "/", "Home", "read"),
    ("search", "/web/search", "Search", "read"),
    ("studio", "/web/studio", "Studio", "read"),
    ("music", "/web/music", "Music", "read"),
    ("analyst", "/web/analyst", "Analyst", "read"),
    ("operator", "/web/operator", "Operator", "admin"),
]
VIEWER_PAGES = frozenset({"home", "search"})


def render(
    request: Request,
    ctx: WebContext,
    session: Session | None,
    template: str,
    page: str,
    title: str,
    data: Any = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    """A page with the header for ``session`` (only the links its scopes allow)."""
    nav = [
        (p, href, label)
        for p, href, label, need in NAV
        if session and session.allows(need) and (not session.user_bound or p in VIEWER_PAGES)
    ]
    context = {
        "page": page,
        "title": title,
        "session": session,
        "csrf": ctx.store.csrf_token(session) if session else "",
        "nav": nav,
        "data": data if data is not None else {},
        "can_write": bool(session and session.allows("write-events")),
        "is_admin": bool(session and session.is_admin and not session.user_bound),
        "charts": page in ("analyst", "operator", "music"),
        **extra,
    }
    return request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status_code
    )


def safe_next(target: str | None) -> str:
    """Only a path of this web app (no open redirect to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    from deployments.web.entrance import is_web_path

    return target if is_web_path(target.split("?", 1)[0]) else "/"


def token_expiry(token: str) -> float:
    """A verified token's expiry (unix seconds): the session ends with it."""
    return float(token.split(".")[2])


def default_user(ctx: WebContext) -> str:
    users = ctx.gateway.service.models.model.user_ids_
    return str(users[0]) if len(users) else "new-viewer"


# --------------------------------------------------------------------------- sign-in


@router.get("/web", include_in_schema=False)
async def web_root() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)


@router.get("/web/signin", response_class=HTMLResponse)
async def signin_page(
    request: Request, ctx: Ctx, session: MaybeSession, next: str = "/"
) -> Response:
    """The sign-in form: an API key and the viewer profile to browse as."""
    return render(
        request,
        ctx,
        None,
        "signin.html",
        "signin",
        "Sign in",
        next=safe_next(next),
        user_id=session.user_id if session else default_user(ctx),
        keys_required=ctx.gateway.args.require_api_key,
        error=None,
    )


@router.post("/web/signin", response_class=HTMLResponse)
async def signin(request: Request, ctx: Ctx, session: MaybeSession) -> Response:
    """Check the key or user token against the API's key store; keep it server-side in a new
    session (a token's session is bound to the token's user)."""
    same_origin(request)
    form = await read_form(request)
    state = ctx.gateway
    target = safe_next(form.get("next"))
    user_id = form.get("user_id", "").strip() or default_user(ctx)
    key = form.get("api_key", "").strip() or None
    client = request.client.host if request.client else "unknown"

    def refuse(message: str, status: int) -> Response:
        return render(
            request,
            ctx,
            None,
            "signin.html",
            "signin",
            "Sign in",
            status_code=status,
            next=target,
            user_id=user_id,
            keys_required=state.args.require_api_key,
            error=message,
        )

    if not USER_ID.match(user_id) and not (key or "").startswith(TOKEN_PREFIX):
        return refuse("Viewer profile: 1-128 letters, digits or _ . : @ -", 422)
    expires: float | None = None
    if state.args.require_api_key:
        token_signer(state)  # user tokens verify on every replica, before any API call
        try:
            principal = state.keys.authenticate(key)
        except Unauthenticated:  # a genuine token, expired
            return refuse("That token has expired; ask for a new one.", 401)
        if principal is None:
            if ctx.signin_limiter.check(client) > 0:
                return refuse("Too many failed sign-ins; wait a few seconds.", 429)
            return refuse("That API key or token is not valid.", 401)
        name, scopes = principal.name, principal.scopes
        if principal.user_id is not None:  # a user token: its user, whatever the form said
            user_id = principal.user_id
            expires = token_expiry(key or "")
    else:
        name, scopes, key = "anonymous", frozenset(SCOPES), None
    if not (set(scopes) & {"read", "admin"}):
        return refuse("That key cannot read (it needs the read scope).", 403)
    if session is not None:
        ctx.store.delete(session)  # a new id at every sign-in (no fixation)
    new, cookie = await run_in_threadpool(
        partial(
            ctx.store.create,
            name,
            frozenset(scopes),
            user_id,
            key,
            user_bound=expires is not None,
            expires=expires,
        )
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(ctx.store.ttl_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )
    return response


@router.post("/web/signout")
async def signout(request: Request, ctx: Ctx, session: SignedIn) -> Response:
    form = await read_form(request)
    require_csrf(request, ctx, session, form.get(CSRF_FIELD))
    await run_in_threadpool(ctx.store.delete, session)
    response = RedirectResponse("/web/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.post("/web/profile")
async def switch_profile(request: Request, ctx: Ctx, session: SignedIn) -> Response:
    """Browse as another viewer profile (the key and its scopes stay the same; a user
    token's session keeps its user)."""
    form = await read_form(request)
    require_csrf(request, ctx, session, form.get(CSRF_FIELD))
    user_id = form.get("user_id", "").strip()
    if not USER_ID.match(user_id):
        raise InputError("viewer profile: 1-128 letters, digits or _ . : @ -", location="user_id")
    await run_in_threadpool(ctx.store.with_user, session, user_id)
    return RedirectResponse(safe_next(form.get("next")), status_code=303)


# --------------------------------------------------------------------------- viewer


def genre_names(ctx: WebContext) -> list[str]:
    return [str(g) for g in ctx.gateway.service.models.model.catalogue_.genre_names]


def kind_names(ctx: WebContext) -> list[str]:
    view = ctx.data.view()
    return view.kind_names if view else []


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, ctx: Ctx, session: Reader) -> Response:
    """Personalised rows, trending by window and genre, movie/series switch."""
    await run_in_threadpool(ctx.data.view)  # read once per replica, off the event loop
    data = await endpoints.home_data(request, ctx, session, "1d", None)
    data.update(genres=genre_names(ctx), kinds=kind_names(ctx))
    return render(request, ctx, session, "home.html", "home", "Home", data)


@router.get("/web/search", response_class=HTMLResponse)
async def search(
    request: Request,
    ctx: Ctx,
    session: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    genre: Annotated[str, Query(max_length=100)] = "",
    kind: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """Search by title and genre (and kind)."""
    await run_in_threadpool(ctx.data.view)
    searched = bool(q.strip() or genre or kind)
    items = endpoints.search_cards(ctx, q, genre or None, kind or None) if searched else []
    data = {"items": items, "searched": searched}
    return render(
        request,
        ctx,
        session,
        "search.html",
        "search",
        "Search",
        data,
        q=q,
        genre=genre,
        kind=kind,
        genres=genre_names(ctx),
        kinds=kind_names(ctx),
    )


@router.get("/web/items/{item_id}", response_class=HTMLResponse)
async def item(request: Request, ctx: Ctx, session: Reader, item_id: str) -> Response:
    """One title: details, play / not interested, and similar titles."""
    await run_in_threadpool(ctx.data.view)
    details = endpoints.item_details(ctx, item_id)
    similar = await endpoints.similar_json(request, ctx, session, item_id, details["title"])
    data = {"item": details, "similar": similar}
    return render(request, ctx, session, "item.html", "item", details["title"], data, item=details)


# --------------------------------------------------------------------------- creators


@router.get("/web/studio", response_class=HTMLResponse)
async def studio(request: Request, ctx: Ctx, session: Reader) -> Response:
    """Image grids and style transfer, with this session's gallery."""
    caps = sorted(ctx.gateway.capabilities)
    return render(request, ctx, session, "studio.html", "studio", "Studio", {"capabilities": caps})


@router.get("/web/music", response_class=HTMLResponse)
async def music(request: Request, ctx: Ctx, session: Reader) -> Response:
    """Melodies from a primer (play, MIDI download) and WaveNet audio."""
    caps = sorted(ctx.gateway.capabilities)
    return render(request, ctx, session, "music.html", "music", "Music", {"capabilities": caps})


# --------------------------------------------------------------------------- analyst


@router.get("/web/analyst", response_class=HTMLResponse)
async def analyst(request: Request, ctx: Ctx, session: Reader) -> Response:
    """The dashboard shell; its data comes in one call (forecasts take a moment)."""
    return render(request, ctx, session, "analyst.html", "analyst", "Analyst")


@router.get("/web/analyst/report", response_class=HTMLResponse)
async def report(ctx: Ctx, _: Reader) -> Response:
    """The analyst report of the dataset (``entertainai report``), built once per replica."""
    view = await run_in_threadpool(ctx.data.view)
    if view is None:
        raise NotFoundError("no dataset behind the web app: set ENTERTAINAI_WEB_DATA")
    html = ctx.report.get(view.uri)
    if html is None:
        html = await run_in_threadpool(_build_report, ctx, view.uri)
    return HTMLResponse(html, headers={"content-security-policy": REPORT_CSP})


def _build_report(ctx: WebContext, uri: str) -> bytes:
    from entertainai.analytics.report import build_report
    from entertainai.model import load_model
    from entertainai.registry import Registry

    with _report_lock:
        if uri in ctx.report:
            return ctx.report[uri]
        registry = Registry(ctx.gateway.args.registry)
        try:
            segments = load_model(registry.local_path("segments@production"))
        except Exception:  # no segments model: the report fits its own
            segments = None
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = build_report(uri, Path(tmp) / "report.html", segments=segments)
            except InputError as exc:
                raise Unavailable(f"the report could not be built: {exc}") from None
            ctx.report[uri] = path.read_bytes()
        return ctx.report[uri]


# --------------------------------------------------------------------------- operator


@router.get("/web/operator", response_class=HTMLResponse)
async def operator(request: Request, ctx: Ctx, session: Admin) -> Response:
    """Models and aliases, promote/rollback, traffic, alerts and replicas (admin only)."""
    data = await endpoints.operator_data(request, ctx, session)
    return render(request, ctx, session, "operator.html", "operator", "Operator", data)
