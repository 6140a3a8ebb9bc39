"""The pages' JSON routes (``/web/api/...``): each is a thin call, or a few in parallel, to the
API app with the session's key, plus what the API has no route for (title search, the
analyst's history from the dataset, promote and rollback)."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from deployments.web import catalog, operations
from deployments.web.context import Admin, Csrf, Ctx, EventWriter, Reader, WebContext
from deployments.web.inner import ApiError
from deployments.web.sessions import Session
from entertainai.errors import InputError, NotFoundError
from entertainai.registry import PRODUCTION, Registry

router = APIRouter(prefix="/web/api")

WINDOWS = {"1h": "this hour", "1d": "today", "7d": "this week"}
RECOMMENDATIONS_K = 40  # enough to fill rows after the kind switch hides some
ROW_LENGTH = 20
BECAUSE_ROWS = 3
TRENDING_K = 20
SIMILAR_K = 12
FORECAST_HISTORY_DAYS = 90
FORECAST_HORIZON = 14
IMAGE_FIELDS = ("num", "seed", "scale")
GRID_SCALE = 2
STYLE_FIELDS = ("content", "style", "size", "steps", "seed", "style_weight", "content_weight")
MELODY_FIELDS = ("primer", "length_steps", "temperature", "top_k", "key", "tempo_bpm", "seed")
AUDIO_FIELDS = ("seconds", "temperature", "top_k", "seed")
Window = Annotated[Literal["1h", "1d", "7d"], Query()]


# --------------------------------------------------------------------------- viewer


def card(ctx: WebContext, item: dict[str, Any], explanation: str | None = None) -> dict[str, Any]:
    """An API item as a page card: with its kind and year, and an explanation always."""
    model = ctx.gateway.service.models.model
    index = int(model.item_indices([item["item_id"]])[0])
    year = int(model.catalogue_.years[index]) if index >= 0 else -1
    return {
        "item_id": item["item_id"],
        "title": item.get("title", ""),
        "genres": list(item.get("genres", [])),
        "year": year if year > 0 else None,
        "kind": ctx.data.kind_of(item["item_id"]),
        "reason": item.get("reason", ""),
        "explanation": item.get("explanation") or explanation or "",
    }


def trending_label(window: str, genre: str | None) -> str:
    return f"Trending{f' in {genre}' if genre else ''} {WINDOWS[window]}"


async def home_data(
    request: Request, ctx: WebContext, session: Session, window: str, genre: str | None
) -> dict[str, Any]:
    """Rows for the home page: top picks, "Because you watched ..." rows, trending."""
    recs, trending = await asyncio.gather(
        ctx.json(
            request,
            session,
            "GET",
            f"/v1/users/{session.user_id}/recommendations",
            params={"k": RECOMMENDATIONS_K},
        ),
        trending_json(request, ctx, session, window, genre),
    )
    cards = [card(ctx, item) for item in recs["items"]]
    rows = [{"id": "top", "title": f"Top picks for {session.user_id}", "items": cards[:ROW_LENGTH]}]
    because: dict[str, list[dict[str, Any]]] = {}
    for c in cards:
        if c["reason"] == "because_you_watched":
            because.setdefault(c["explanation"], []).append(c)
    groups = sorted(because.items(), key=lambda kv: -len(kv[1]))
    for n, (title, items) in enumerate(g for g in groups if len(g[1]) >= 2):
        if n >= BECAUSE_ROWS:
            break
        rows.append({"id": f"because-{n}", "title": title, "items": items[:ROW_LENGTH]})
    return {
        "user_id": session.user_id,
        "model": recs.get("model"),
        "rows": rows,
        "trending": trending,
    }


async def trending_json(
    request: Request, ctx: WebContext, session: Session, window: str, genre: str | None
) -> dict[str, Any]:
    params = {"k": TRENDING_K, "window": window, "genre": genre or None}
    body = await ctx.json(request, session, "GET", "/v1/trending", params=params)
    label = trending_label(window, genre)
    return {
        "window": window,
        "genre": genre,
        "title": label,
        "items": [card(ctx, item, label) for item in body["items"]],
    }


@router.get("/home")
async def home(
    request: Request, ctx: Ctx, session: Reader, window: Window = "1d", genre: str | None = None
) -> dict[str, Any]:
    """The home page's rows (after an event, the page asks again)."""
    return await home_data(request, ctx, session, window, genre)


@router.get("/trending")
async def trending(
    request: Request, ctx: Ctx, session: Reader, window: Window = "1d", genre: str | None = None
) -> dict[str, Any]:
    """Trending now, by window and genre."""
    return await trending_json(request, ctx, session, window, genre)


async def similar_json(
    request: Request, ctx: WebContext, session: Session, item_id: str, title: str
) -> list[dict[str, Any]]:
    body = await ctx.json(
        request, session, "GET", f"/v1/items/{item_id}/similar", params={"k": SIMILAR_K}
    )
    return [card(ctx, item, f"Similar to {title}") for item in body["items"]]


def item_details(ctx: WebContext, item_id: str) -> dict[str, Any]:
    """One catalogue item for its page (404 for unknown ids)."""
    model = ctx.gateway.service.models.model
    index = int(model.item_indices([item_id])[0])
    if index < 0:
        raise NotFoundError(f"unknown item {item_id!r}")
    catalogue = model.catalogue_
    view = ctx.data.view()
    year = int(catalogue.years[index])
    return {
        "item_id": item_id,
        "title": str(catalogue.titles[index]),
        "genres": list(catalogue.genre_lists[index]),
        "year": year if year > 0 else None,
        "kind": ctx.data.kind_of(item_id),
        "description": view.descriptions.get(item_id, "") if view else "",
        "blocked": item_id in ctx.gateway.service.blocked,
    }


def search_cards(
    ctx: WebContext, q: str, genre: str | None, kind: str | None
) -> list[dict[str, Any]]:
    service = ctx.gateway.service
    catalogue = service.models.model.catalogue_
    hits = catalog.search(
        catalogue, q, genre=genre, kind=kind, data=ctx.data, blocked=service.blocked
    )
    why = f"Title matches “{q.strip()}”" if q.strip() else "In the catalogue"
    if genre:
        why += f" · {genre}"
    return [
        card(
            ctx,
            {
                "item_id": str(catalogue.item_ids[i]),
                "title": str(catalogue.titles[i]),
                "genres": list(catalogue.genre_lists[i]),
            },
            why,
        )
        for i in hits
    ]


@router.get("/search")
async def search(
    ctx: Ctx,
    _: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    genre: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Items by title words, genre and kind."""
    return {"items": search_cards(ctx, q, genre or None, kind or None)}


@router.post("/events", status_code=202)
async def post_event(
    request: Request,
    ctx: Ctx,
    session: EventWriter,
    _: Csrf,
    item_id: Annotated[str, Body(min_length=1, max_length=256)],
    event_type: Annotated[Literal["play", "dislike"], Body()],
) -> dict[str, Any]:
    """Play or "not interested": one event for the signed-in viewer (POST /v1/events)."""
    event: dict[str, Any] = {
        "user_id": session.user_id,
        "item_id": item_id,
        "event_type": event_type,
    }
    if event_type == "play":
        event["value"] = 1.0
    body = await ctx.json(request, session, "POST", "/v1/events", body={"events": [event]})
    return {"accepted": body["accepted"], "event_type": event_type, "item_id": item_id}


# --------------------------------------------------------------------------- studio, music


def pick(body: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)}", location="body")
    return {k: body[k] for k in fields if k in body and body[k] not in (None, "")}


async def screen_images(
    request: Request, ctx: WebContext, session: Session, images: list[str], what: str
) -> dict[str, Any]:
    """The moderation capability's verdicts on generated PNGs (base64); flagged ones are
    withheld (``what`` names them in the refusal).

    Without the capability or its image model the images are shown, marked "not screened"."""
    answer = await ctx.call(
        request, session, "POST", "/v1/moderate/image", body={"images": images, "top_k": 3}
    )
    if answer.status == 503:
        return {"screened": False, "why": answer.detail(), "flagged": []}
    if not answer.ok:
        raise ApiError(answer)
    results = answer.json()["results"]
    flagged = [i for i, r in enumerate(results) if r.get("flagged")]
    reasons = sorted({x for i in flagged for x in results[i].get("reasons", [])})
    if flagged:
        raise InputError(f"{what} withheld by moderation: {', '.join(reasons or ['flagged'])}")
    return {
        "screened": True,
        "model": answer.json().get("model"),
        "flagged": flagged,
        "reasons": reasons,
    }


@router.post("/generate/image")
async def generate_image(
    request: Request, ctx: Ctx, session: Reader, _: Csrf, body: Annotated[dict, Body()]
) -> dict[str, Any]:
    """A grid of DCGAN samples (seed, count), screened by moderation."""
    payload = {**pick(body, IMAGE_FIELDS), "grid": True, "format": "json"}
    # The API refuses num x scale^2 x 2 (a grid) over its MAX_TILES (256): the studio form's
    # default 16 images fit at 2x, not 4x.
    payload.setdefault("scale", GRID_SCALE)
    out = await ctx.json(request, session, "POST", "/v1/generate/image", body=payload)
    moderation = await screen_images(request, ctx, session, [out["grid_base64"]], "generated grid")
    return {
        "model": out["model"],
        "seed": out["seed"],
        "num": len(out["images_base64"]),
        "scale": payload["scale"],
        "png_base64": out["grid_base64"],
        "elapsed_s": out["elapsed_s"],
        "moderation": moderation,
    }


@router.post("/generate/style")
async def style_transfer(
    request: Request, ctx: Ctx, session: Reader, _: Csrf, body: Annotated[dict, Body()]
) -> dict[str, Any]:
    """A content image in a style image's texture, screened by moderation."""
    payload = {**pick(body, STYLE_FIELDS), "format": "json"}
    out = await ctx.json(request, session, "POST", "/v1/generate/style-transfer", body=payload)
    moderation = await screen_images(request, ctx, session, [out["image_base64"]], "styled image")
    return {
        "model": out["model"],
        "png_base64": out["image_base64"],
        "width": out["width"],
        "height": out["height"],
        "steps_run": out["steps_run"],
        "stopped_early": out["stopped_early"],
        "elapsed_s": out["elapsed_s"],
        "moderation": moderation,
    }


@router.post("/generate/melody")
async def melody(
    request: Request, ctx: Ctx, session: Reader, _: Csrf, body: Annotated[dict, Body()]
) -> dict[str, Any]:
    """A melody from a primer: notes, WAV (to play) and MIDI (to download), base64."""
    payload = {**pick(body, MELODY_FIELDS), "format": "json"}
    return await ctx.json(request, session, "POST", "/v1/generate/melody", body=payload)


@router.post("/generate/audio")
async def audio(
    request: Request, ctx: Ctx, session: Reader, _: Csrf, body: Annotated[dict, Body()]
) -> dict[str, Any]:
    """WaveNet audio as base64 WAV."""
    answer = await ctx.call(
        request, session, "POST", "/v1/generate/audio", body=pick(body, AUDIO_FIELDS)
    )
    if not answer.ok:
        raise ApiError(answer)
    return {
        "model": answer.headers.get("x-model"),
        "sample_rate": int(answer.headers.get("x-sample-rate", "0") or 0),
        "wav_base64": base64.b64encode(answer.body).decode(),
    }


# --------------------------------------------------------------------------- analyst


async def _section(coro: Any) -> dict[str, Any]:
    """One dashboard section's data, or why it is missing (the others still show)."""
    try:
        return {"ok": True, "data": await coro}
    except ApiError as exc:
        return {"ok": False, "status": exc.answer.status, "why": exc.answer.detail()}


async def analyst_data(request: Request, ctx: WebContext, session: Session) -> dict[str, Any]:
    view = await run_in_threadpool(ctx.data.view)
    info = ctx.gateway.service.model_info()
    history: dict[str, Any] = {"available": view is not None}
    calls: dict[str, Any] = {
        "segments": ctx.json(request, session, "GET", "/v1/segments"),
        **{
            f"trending_{w}": ctx.json(
                request, session, "GET", "/v1/trending", params={"k": 8, "window": w}
            )
            for w in WINDOWS
        },
    }
    if view is not None:
        history.update(
            uri=view.uri,
            events=[catalog.series_json(s) for s in view.by_event_type.values()],
            genres=[catalog.series_json(s) for s in view.genres],
        )
        plays = view.by_event_type.get("play") or next(iter(view.by_event_type.values()), None)
        if plays is not None:
            series = catalog.series_json(plays, FORECAST_HISTORY_DAYS)
            calls["forecast"] = ctx.json(
                request,
                session,
                "POST",
                "/v1/forecast",
                body={
                    "series": [{"unique_id": series["name"], "ds": series["ds"], "y": series["y"]}],
                    "horizon": FORECAST_HORIZON,
                    "level": 0.9,
                },
            )
            history["forecast_history"] = series
        texts = [r["text"] for r in view.reviews]
        if texts:
            calls["sentiment"] = ctx.json(
                request, session, "POST", "/v1/analyze/sentiment", body={"texts": texts}
            )
            calls["emotion"] = ctx.json(
                request, session, "POST", "/v1/analyze/emotion", body={"texts": texts}
            )
    names = list(calls)
    answers = await asyncio.gather(*(_section(calls[n]) for n in names))
    sections = dict(zip(names, answers, strict=True))
    counts = view.counts if view else {}
    model = info["model"]
    events_7d = (
        sum(float(s.values[-7:].sum()) for s in view.by_event_type.values()) if view else None
    )
    kpis = [
        {"label": "Users", "value": model["users"]},
        {"label": "Titles", "value": model["items"]},
        {"label": "Events in the dataset", "value": counts.get("interactions")},
        {"label": "Events, last 7 days", "value": events_7d},
        {"label": "Active users, last 7 days", "value": view.users_last_7d if view else None},
        {
            "label": "Mean rating",
            "value": round(view.mean_rating, 2) if view and view.mean_rating else None,
        },
        {"label": "Reviews and comments", "value": counts.get("texts")},
        {"label": "Recommender", "value": f"{model['name']}@{model['version']}"},
        {"label": "Offline ndcg", "value": _round(model["metrics"].get("ndcg"))},
    ]
    catalogue = ctx.gateway.service.models.model.catalogue_
    titles = dict(zip(catalogue.item_ids.tolist(), catalogue.titles.tolist(), strict=True))
    reviews = (
        [{**r, "title": titles.get(r["item_id"], r["item_id"])} for r in view.reviews]
        if view
        else []
    )
    return {
        "kpis": kpis,
        "history": history,
        "reviews": reviews,
        "sections": sections,
    }


def _round(value: Any, digits: int = 4) -> Any:
    return round(value, digits) if isinstance(value, int | float) else value


@router.get("/analyst")
async def analyst(request: Request, ctx: Ctx, session: Reader) -> dict[str, Any]:
    """KPIs, history, trending, forecast, segments and review sentiment in one answer."""
    return await analyst_data(request, ctx, session)


@router.get("/analyst/export.csv")
async def export_csv(
    request: Request,
    ctx: Ctx,
    session: Reader,
    table: Literal["events", "genres", "forecast", "reviews"] = "events",
) -> Response:
    """One dashboard table as CSV."""
    data = await analyst_data(request, ctx, session)
    rows: list[dict[str, Any]] = []
    if table in ("events", "genres"):
        for s in data["history"].get(table, []):
            rows += [
                {"series": s["name"], "ds": d, "y": y} for d, y in zip(s["ds"], s["y"], strict=True)
            ]
    elif table == "forecast" and data["sections"].get("forecast", {}).get("ok"):
        for f in data["sections"]["forecast"]["data"]["forecasts"]:
            rows += f["points"]
    elif table == "reviews":
        sentiment = data["sections"].get("sentiment", {})
        results = sentiment.get("data", {}).get("results", []) if sentiment.get("ok") else []
        for n, review in enumerate(data["reviews"]):
            r = results[n] if n < len(results) else {}
            rows.append(
                {
                    "text_id": review["text_id"],
                    "item_id": review["item_id"],
                    "timestamp": review["timestamp"],
                    "rating": review["rating"],
                    "sentiment": r.get("label"),
                    "compound": r.get("compound"),
                    "text": review["text"],
                }
            )
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="entertainai-{table}.csv"'},
    )


# --------------------------------------------------------------------------- operator


async def operator_data(request: Request, ctx: WebContext, session: Session) -> dict[str, Any]:
    state = ctx.gateway
    registry = Registry(state.args.registry)
    models_answer, ready_answer = await asyncio.gather(
        ctx.call(request, session, "GET", "/v1/models"),
        ctx.call(request, session, "GET", "/readyz"),
    )
    table = await run_in_threadpool(operations.models_table, registry)
    traffic = operations.traffic(ctx.history)
    try:
        live = await asyncio.wait_for(run_in_threadpool(operations.live_replicas), 3.0)
    except TimeoutError:
        live = {"available": False, "why": "Serve status did not answer in 3 s"}
    serving = models_answer.json() if models_answer.ok else {"error": models_answer.detail()}
    ready = ready_answer.json() if ready_answer.status in (200, 503) else {}
    refused = dict(ready.get("refused") or {})
    reload_refused = (serving.get("reload") or {}).get("refused")
    if reload_refused and "recommendations" not in refused:
        refused["recommendations"] = reload_refused
    return {
        "serving": serving,
        "ready": ready,
        "refused": refused,
        "registry": table,
        "reload_interval_s": state.args.reload_interval_s,
        "traffic": traffic.to_json(),
        "alerts": operations.alerts(traffic),
        "autoscaling": operations.autoscaling_settings(),
        "replicas": live,
    }


@router.get("/operator")
async def operator(request: Request, ctx: Ctx, session: Admin) -> dict[str, Any]:
    """Models, aliases, what serves, traffic, alerts and replicas (admin)."""
    return await operator_data(request, ctx, session)


@router.post("/operator/promote")
async def promote(
    request: Request,
    ctx: Ctx,
    session: Admin,
    _: Csrf,
    name: Annotated[str, Body(min_length=1, max_length=64)],
    version: Annotated[int, Body(ge=1)],
    alias: Annotated[str, Body(max_length=32)] = PRODUCTION,
) -> dict[str, Any]:
    """Point ``name@alias`` at ``version`` after the CLI's promotion check (admin)."""
    state = ctx.gateway
    registry = Registry(state.args.registry)
    await run_in_threadpool(
        operations.promote, registry, name, version, alias, state.args.service_config()
    )
    await run_in_threadpool(state.reload_if_changed)  # this replica at once; others follow
    return {
        "done": f"{name}@{alias} -> version {version}",
        **await operator_data(request, ctx, session),
    }


@router.post("/operator/rollback")
async def rollback(
    request: Request,
    ctx: Ctx,
    session: Admin,
    _: Csrf,
    name: Annotated[str, Body(embed=True, min_length=1, max_length=64)],
) -> dict[str, Any]:
    """Move ``name@production`` back to the version it had before (admin)."""
    state = ctx.gateway
    previous = await run_in_threadpool(
        operations.rollback, Registry(state.args.registry), name, PRODUCTION
    )
    await run_in_threadpool(state.reload_if_changed)
    done = f"{name}@{PRODUCTION} -> version {previous} (rolled back)"
    return {"done": done, **await operator_data(request, ctx, session)}
