"""The web app over the real service (TestClient, no Ray): sign-in and sessions, CSRF, scopes,
the pages' data, promote/rollback, and that the API beside it is unchanged."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.capability import InProcessHandle
from deployments.web import catalog, operations
from deployments.web.entrance import is_web_path
from deployments.web.sessions import COOKIE, SESSION_DIR, SessionStore
from entertainai.serving.service import ReloadStatus
from tests.ui.app import ADMIN_KEY, KEYS_ENV, READ_KEY, WRITE_KEY, build_app, train_registry

BASE = "http://127.0.0.1:8000"
WEB = Path(__file__).resolve().parents[2] / "deployments" / "web"


@pytest.fixture(scope="module")
def web_registry(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_registry(tmp_path_factory.mktemp("web") / "registry", demo_dir)


@pytest.fixture()
def app(web_registry: Path, demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ENTERTAINAI_API_KEYS", KEYS_ENV)
    monkeypatch.setenv("ENTERTAINAI_WEB_DATA", str(demo_dir))
    # Promote/rollback tests move aliases: each test gets its own copy of the registry.
    import shutil

    registry = tmp_path / "registry"
    shutil.copytree(web_registry, registry)
    return build_app(registry, tmp_path / "events")


@pytest.fixture()
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        yield c


def sign_in(client: TestClient, key: str, user: str = "u00001") -> str:
    """Sign in; returns the page's CSRF token."""
    r = client.post(
        "/web/signin", data={"api_key": key, "user_id": user, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    page = client.get("/")
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def page_data(html: str) -> dict:
    raw = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    return json.loads(raw.group(1))


def test_pages_need_a_session_and_the_key_stays_on_the_server(client: TestClient, app) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/web/signin?next=/"
    assert client.get("/web/api/home").status_code == 401
    bad = client.post("/web/signin", data={"api_key": "nope", "user_id": "u00001"})
    assert bad.status_code == 401 and COOKIE not in client.cookies

    r = client.post(
        "/web/signin",
        data={"api_key": WRITE_KEY, "user_id": "u00001", "next": "/web/search"},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"]
    assert r.headers["location"] == "/web/search"
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and WRITE_KEY not in cookie
    texts = [client.get(p).text for p in ("/", "/web/search?q=a", "/web/studio", "/web/analyst")]
    texts += [client.get("/web/api/home").text, client.get("/web/api/analyst").text]
    assert all(WRITE_KEY not in t for t in texts)
    # The record on disk holds the key sealed, not in clear.
    records = list((Path(app.state.gateway.args.registry) / SESSION_DIR).glob("*.json"))
    assert records and all(WRITE_KEY not in p.read_text() for p in records)
    # The cookie is no API key: the API beside the pages still refuses it.
    assert client.get("/v1/trending").status_code == 401


def test_sessions_are_shared_by_replicas_signed_and_revocable(tmp_path: Path) -> None:
    a, b = SessionStore(str(tmp_path)), SessionStore(str(tmp_path))
    session, cookie = a.create("fan", frozenset({"read"}), "u00001", "secret-key-0123456789")
    found = b.get(cookie)  # another replica: same records, same secret
    assert found is not None and found.key == "secret-key-0123456789" and found.user_id == "u00001"
    sid, _, signature = cookie.partition(".")
    assert b.get(f"{sid}.{'A' * len(signature)}") is None  # forged signature
    assert b.get(sid) is None and b.get(None) is None
    assert a.check_csrf(session, b.csrf_token(found)) and not a.check_csrf(session, "x")
    a.delete(session)
    assert a.get(cookie) is None
    expired = SessionStore(str(tmp_path), ttl_s=-1.0)
    _, old = expired.create("fan", frozenset({"read"}), "u1", None)
    assert expired.get(old) is None


def test_every_state_change_needs_the_csrf_token(client: TestClient) -> None:
    token = sign_in(client, WRITE_KEY)
    body = {"item_id": "i00003", "event_type": "play"}
    assert client.post("/web/api/events", json=body).status_code == 403
    assert (
        client.post("/web/api/events", json=body, headers={"x-csrf-token": "x"}).status_code == 403
    )
    cross = {"x-csrf-token": token, "origin": "http://evil.example"}
    assert client.post("/web/api/events", json=body, headers=cross).status_code == 403
    ok = client.post("/web/api/events", json=body, headers={"x-csrf-token": token, "origin": BASE})
    assert ok.status_code == 202 and ok.json()["accepted"] == 1
    assert client.post("/web/signout", data={}).status_code == 403
    assert client.post("/web/profile", data={"user_id": "u00002"}).status_code == 403
    out = client.post("/web/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_played_title_leaves_the_rows_at_once(client: TestClient) -> None:
    token = sign_in(client, WRITE_KEY)
    before = client.get("/web/api/home").json()
    top = before["rows"][0]["items"]
    assert top and all(c["explanation"] for c in top)  # every card says why
    assert all(c["explanation"] for c in before["trending"]["items"])
    assert {c["kind"] for c in top} <= {"movie", "series", "music", "documentary"}
    played = top[0]["item_id"]
    r = client.post(
        "/web/api/events",
        json={"item_id": played, "event_type": "play"},
        headers={"x-csrf-token": token},
    )
    assert r.status_code == 202
    after = client.get("/web/api/home").json()
    assert played not in [c["item_id"] for c in after["rows"][0]["items"]]
    disliked = after["rows"][0]["items"][0]["item_id"]
    client.post(
        "/web/api/events",
        json={"item_id": disliked, "event_type": "dislike"},
        headers={"x-csrf-token": token},
    )
    again = client.get("/web/api/home").json()
    assert disliked not in [c["item_id"] for c in again["rows"][0]["items"]]
    bad = client.post(
        "/web/api/events",
        json={"item_id": played, "event_type": "purchase"},
        headers={"x-csrf-token": token},
    )
    assert bad.status_code == 422


def test_a_viewer_sees_no_writes_and_no_admin(client: TestClient) -> None:
    token = sign_in(client, READ_KEY)
    home = client.get("/")
    assert 'data-can-write="0"' in home.text and "/web/operator" not in home.text
    item = client.get("/web/items/i00001").text
    assert 'data-action="play"' not in item
    r = client.post(
        "/web/api/events",
        json={"item_id": "i00001", "event_type": "play"},
        headers={"x-csrf-token": token},
    )
    assert r.status_code == 403
    assert client.get("/web/operator").status_code == 403
    assert client.get("/web/api/operator").status_code == 403
    promote = client.post(
        "/web/api/operator/promote",
        json={"name": "hybrid", "version": 2},
        headers={"x-csrf-token": token},
    )
    assert promote.status_code == 403


def test_search_item_page_and_similar(client: TestClient, app) -> None:
    sign_in(client, READ_KEY)
    catalogue = app.state.gateway.service.models.model.catalogue_
    title = str(catalogue.titles[5])
    word = title.split()[-1]
    found = client.get("/web/api/search", params={"q": word}).json()["items"]
    assert found and all(word.casefold() in c["title"].casefold() for c in found)
    assert found[0]["explanation"].startswith("Title matches")
    genre = str(catalogue.genre_names[0])
    in_genre = client.get("/web/api/search", params={"genre": genre}).json()["items"]
    assert in_genre and all(genre in c["genres"] for c in in_genre)
    series = client.get("/web/api/search", params={"kind": "series"}).json()["items"]
    assert series and {c["kind"] for c in series} == {"series"}
    assert "result" in client.get("/web/search", params={"q": word}).text
    page = client.get("/web/items/i00001")
    data = page_data(page.text)
    assert page.status_code == 200 and data["item"]["description"]
    assert data["similar"] and all(
        c["explanation"].startswith("Similar to") for c in data["similar"]
    )
    assert client.get("/web/items/nope").status_code == 404


def test_studio_and_music_go_through_the_api_and_moderation(client: TestClient, app) -> None:
    token = sign_in(client, READ_KEY)
    h = {"x-csrf-token": token}
    # The studio form's defaults (16 images, the endpoint's scale) fit the API's tile cap.
    grid = client.post("/web/api/generate/image", json={"seed": 3, "num": 16}, headers=h)
    assert grid.status_code == 200, grid.text
    body = grid.json()
    assert body["model"] == "dcgan@1" and body["moderation"]["screened"]
    assert base64.b64decode(body["png_base64"])[:4] == b"\x89PNG"
    assert client.post("/web/api/generate/image", json={"num": 999}, headers=h).status_code == 422
    assert client.post("/web/api/generate/image", json={"bogus": 1}, headers=h).status_code == 422
    melody = client.post(
        "/web/api/generate/melody", json={"primer": "60,62", "length_steps": 16}, headers=h
    )
    assert melody.status_code == 200 and melody.json()["notes"]
    assert base64.b64decode(melody.json()["wav_base64"])[:4] == b"RIFF"
    audio = client.post("/web/api/generate/audio", json={"seconds": 0.1}, headers=h)
    assert audio.status_code == 200 and audio.json()["model"] == "wavenet@1"

    class Strict:  # a moderator that flags every image
        def check_images(self, images: list[bytes], top_k: int = 3) -> dict:
            verdict = {"flagged": True, "reasons": ["noise"], "scores": {"noise": 1.0}, "tags": []}
            return {"model": "strict", "results": [verdict] * len(images)}

    app.state.gateway.capabilities["moderate"] = InProcessHandle(Strict())
    withheld = client.post("/web/api/generate/image", json={"seed": 3, "num": 4}, headers=h)
    assert withheld.status_code == 422 and "withheld by moderation" in withheld.json()["detail"]


def test_analyst_dashboard_and_csv(client: TestClient) -> None:
    sign_in(client, READ_KEY)
    data = client.get("/web/api/analyst").json()
    sections = data["sections"]
    assert sections["forecast"]["ok"] and sections["segments"]["ok"] and sections["sentiment"]["ok"]
    assert not sections["emotion"]["ok"] and "emotion" in sections["emotion"]["why"]  # untrained
    points = sections["forecast"]["data"]["forecasts"][0]["points"]
    assert len(points) == 14 and all(
        p["yhat_lower"] <= p["yhat"] <= p["yhat_upper"] for p in points
    )
    assert data["history"]["events"] and data["kpis"][0]["value"] > 0
    csv = client.get("/web/api/analyst/export.csv", params={"table": "events"})
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith("series,ds,y")
    reviews = client.get("/web/api/analyst/export.csv", params={"table": "reviews"}).text
    assert reviews.startswith("text_id,") and ("positive" in reviews or "negative" in reviews)


def test_promote_and_rollback_change_what_serves(client: TestClient, app) -> None:
    token = sign_in(client, ADMIN_KEY)
    h = {"x-csrf-token": token}
    page = page_data(client.get("/web/operator").text)
    assert page["serving"]["model"]["version"] == 1
    assert {a["alert"] for a in page["alerts"]} >= {
        "EntertainAIHighErrorRate",
        "EntertainAIEventLag",
    }
    r = client.post("/web/api/operator/promote", json={"name": "hybrid", "version": 2}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["serving"]["model"]["version"] == 2
    models = client.get("/v1/models", headers={"x-api-key": ADMIN_KEY}).json()
    assert models["model"]["version"] == 2
    hybrid = next(m for m in r.json()["registry"] if m["name"] == "hybrid")
    assert hybrid["rollback_to"] == 1
    back = client.post("/web/api/operator/rollback", json={"name": "hybrid"}, headers=h)
    assert back.status_code == 200 and back.json()["serving"]["model"]["version"] == 1
    wrong = client.post(
        "/web/api/operator/promote", json={"name": "hybrid", "version": 9}, headers=h
    )
    assert wrong.status_code == 404
    gateway = app.state.gateway
    gateway.service.reload_status = ReloadStatus({"model": 3}, {"model": 1}, "artifact corrupt")
    refused = client.get("/web/api/operator").json()["refused"]
    assert refused["recommendations"] == "model: wanted v3, serving v1, because artifact corrupt"


def test_traffic_and_alerts_from_the_apps_own_metrics() -> None:
    assert operations.quantile(0.5, {0.1: 50, 0.2: 100, float("inf"): 100}) == pytest.approx(0.1)
    assert operations.quantile(0.99, {0.001: 0, float("inf"): 0}) is None
    history = operations.MetricsHistory()
    traffic = operations.traffic(history)
    rules = operations.alerts(traffic)
    names = {r["alert"] for r in rules}
    assert "EntertainAIModelReloadRefused" in names
    restarts = next(r for r in rules if r["alert"] == "EntertainAIReplicaRestarts")
    assert restarts["firing"] is None  # a Ray metric: not the app's to evaluate
    assert operations.autoscaling_settings()[0]["deployment"] == "Gateway"


def test_web_paths_never_shadow_the_api(client: TestClient) -> None:
    assert is_web_path("/") and is_web_path("/web/x") and not is_web_path("/v1/trending")
    assert not is_web_path("/webhooks") and not is_web_path("/metrics")
    assert client.get("/v1/users/u00001/recommendations").status_code == 401
    ok = client.get("/v1/users/u00001/recommendations", headers={"x-api-key": READ_KEY})
    assert ok.status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
    page = client.get("/web/signin")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_no_asset_comes_from_elsewhere() -> None:
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("static/*")]:
        text = path.read_text()
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), path
        assert "<script>" not in text and " style=" not in text, path  # CSP: no inline code


def test_dataset_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(catalog.DATA_ENV, raising=False)
    assert catalog.dataset_uri(str(tmp_path / "artifacts"), None) is None
    assert catalog.dataset_uri("s3://bucket/registry", "data/x") == "data/x"
    (tmp_path / "data" / "demo").mkdir(parents=True)
    (tmp_path / "data" / "demo" / "manifest.json").write_text("{}")
    assert catalog.dataset_uri(str(tmp_path / "artifacts"), None) == str(tmp_path / "data/demo")
    assert catalog.WebData(None).view() is None


def test_the_analyst_report_is_linked_and_served(client: TestClient) -> None:
    sign_in(client, READ_KEY)
    assert 'href="/web/analyst/report"' in client.get("/web/analyst").text
    r = client.get("/web/analyst/report")
    assert r.status_code == 200 and "EntertainAI analyst report" in r.text
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none'


def test_a_revoked_key_ends_its_sessions(client: TestClient, app) -> None:
    sign_in(client, WRITE_KEY)
    from entertainai.serving.security import ApiKeyStore, parse_env

    gateway = app.state.gateway
    gateway.keys = ApiKeyStore([e for e in parse_env(KEYS_ENV) if e.name != "fan"])
    assert client.get("/web/api/home").status_code == 401
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/web/signin")


def test_without_api_keys_sign_in_needs_only_a_profile(web_registry: Path, tmp_path: Path) -> None:
    app = build_app(web_registry, tmp_path / "events", require_api_key=False)
    with TestClient(app, base_url=BASE) as c:
        r = c.post("/web/signin", data={"api_key": "", "user_id": "u00004"}, follow_redirects=False)
        assert r.status_code == 303
        home = c.get("/web/api/home").json()
        assert home["user_id"] == "u00004" and home["rows"][0]["items"]
        assert "/web/operator" in c.get("/").text  # anonymous holds every scope here


def viewer_token(client: TestClient, user: str, ttl_s: float = 600) -> str:
    return issue_token(client, user, ttl_s)[0]


def issue_token(client: TestClient, user: str, ttl_s: float) -> tuple[str, int]:
    r = client.post(
        f"/v1/users/{user}/tokens", json={"ttl_s": ttl_s}, headers={"x-api-key": ADMIN_KEY}
    )
    assert r.status_code == 201, r.text
    return r.json()["token"], r.json()["expires"]


def test_a_viewer_token_signs_in_to_its_own_pages_only(client: TestClient, app) -> None:
    """Issue 18: sign-in with a user-scoped token; the session is that viewer's, nothing more."""
    token = viewer_token(client, "u00002")
    # The form's profile is ignored: the token names its user.
    r = client.post(
        "/web/signin", data={"api_key": token, "user_id": "u00001"}, follow_redirects=False
    )
    assert r.status_code == 303 and token not in r.headers["set-cookie"]
    home = client.get("/")
    assert home.status_code == 200 and page_data(home.text)["user_id"] == "u00002"
    assert token not in home.text and 'name="user_id"' not in home.text  # no profile switch
    for hidden in ("/web/operator", "/web/studio", "/web/music", "/web/analyst"):
        assert f'href="{hidden}"' not in home.text
    assert 'data-can-write="1"' in home.text
    assert client.get("/web/api/home").json()["user_id"] == "u00002"
    assert client.get("/web/search?q=a").status_code == 200
    assert client.get("/web/items/i00001").status_code == 200
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text).group(1)
    for path in ("/web/operator", "/web/studio", "/web/analyst", "/web/api/analyst"):
        assert client.get(path).status_code == 403, path
    switched = client.post("/web/profile", data={"user_id": "u00001", "csrf_token": csrf})
    assert switched.status_code == 403
    assert client.get("/web/api/home").json()["user_id"] == "u00002"
    # Play and "not interested" are the viewer's own: recorded, and the next rows change.
    h = {"x-csrf-token": csrf}
    top = client.get("/web/api/home").json()["rows"][0]["items"]
    played = top[0]["item_id"]
    play = client.post("/web/api/events", json={"item_id": played, "event_type": "play"}, headers=h)
    assert play.status_code == 202, play.text
    after = [c["item_id"] for c in client.get("/web/api/home").json()["rows"][0]["items"]]
    assert played not in after
    disliked = after[0]
    no = client.post(
        "/web/api/events", json={"item_id": disliked, "event_type": "dislike"}, headers=h
    )
    assert no.status_code == 202, no.text
    again = [c["item_id"] for c in client.get("/web/api/home").json()["rows"][0]["items"]]
    assert disliked not in again
    assert 'data-action="play"' in client.get(f"/web/items/{played}").text
    # Written for the token's user, never the profile typed at sign-in; no admin action opens.
    log = "".join(p.read_text() for p in Path(app.state.gateway.args.event_dir).rglob("seg-*"))
    assert played in log and disliked in log and "u00002" in log and "u00001" not in log
    assert client.get("/web/api/operator").status_code == 403
    promote = client.post(
        "/web/api/operator/promote", json={"name": "hybrid", "version": 2}, headers=h
    )
    assert promote.status_code == 403
    # Server side only: the record holds the token sealed.
    records = list((Path(app.state.gateway.args.registry) / SESSION_DIR).glob("*.json"))
    assert records and all(token not in p.read_text() for p in records)


def test_bad_and_expired_viewer_tokens_do_not_sign_in(client: TestClient) -> None:
    token, expires = issue_token(client, "u00002", ttl_s=1)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    bad = client.post("/web/signin", data={"api_key": forged, "user_id": "u00002"})
    assert bad.status_code == 401 and COOKIE not in client.cookies
    import time

    time.sleep(max(0.0, expires - time.time()) + 0.05)
    expired = client.post("/web/signin", data={"api_key": token, "user_id": "u00002"})
    assert expired.status_code == 401 and "expired" in expired.text


def test_the_api_serves_alone_when_the_web_app_is_off(
    web_registry: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("ENTERTAINAI_API_KEYS", KEYS_ENV)
    app = build_app(web_registry, tmp_path / "events", web_app=False)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as client:
        key = {"x-api-key": READ_KEY}
        # No page: without a key the gate refuses / like any unknown path, with one it is 404.
        assert client.get("/", follow_redirects=False).status_code == 401
        assert client.get("/", headers=key, follow_redirects=False).status_code == 404
        assert client.get("/web/signin", headers=key).status_code == 404
        r = client.get("/v1/users/u00001/recommendations?k=3", headers=key)
        assert r.status_code == 200 and len(r.json()["items"]) == 3
