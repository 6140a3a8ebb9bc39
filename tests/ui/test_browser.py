"""Every page in a real browser: Debian's headless Chromium driven by Playwright, over the
real service served in-process by uvicorn on a free port (no Ray).

Skips where ``/usr/bin/chromium`` or the ``playwright`` package is missing (``apt-get install
-y chromium``; Playwright's own browser download is not used). ``make screenshots`` runs this
module with ``ENTERTAINAI_SCREENSHOTS=runs/ui``: a 1280x800 PNG of each page and
``figures.json`` (first render time and requests per page) land there.
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.app import ADMIN_KEY, KEYS_ENV, READ_KEY, WRITE_KEY, build_app, train_registry

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT = {"width": 1280, "height": 800}
SHOTS = os.environ.get("ENTERTAINAI_SCREENSHOTS")

pytestmark = [
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing (apt-get install -y chromium)"
    ),
    pytest.mark.timeout(300),
]
sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    root = tmp_path_factory.mktemp("ui")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENTERTAINAI_API_KEYS", KEYS_ENV)
        mp.setenv("ENTERTAINAI_WEB_DATA", str(demo_dir))
        registry = train_registry(root / "registry", demo_dir)
        app = build_app(registry, root / "events")
        port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        uv = uvicorn.Server(config)
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not uv.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert uv.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[str, Any]]:
    out: dict[str, Any] = {}
    yield out
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SHOTS) / "figures.json").write_text(json.dumps(out, indent=2))
    for name, f in out.items():
        print(f"{name:<10} first render {f['first_render_ms']:7.1f} ms, {f['requests']} requests")


class Tab:
    """A page with its console errors and the requests it made."""

    def __init__(self, browser: Any, base: str) -> None:
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def sign_in(self, key: str, user: str = "u00001") -> None:
        self.page.goto(self.base + "/")
        assert "/web/signin" in self.page.url
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_label("Viewer profile (user id)").fill(user)
        self.page.get_by_label("API key").press("Enter")  # the keyboard submits the form
        self.page.wait_for_url(self.base + "/")

    def visit(self, path: str, name: str, figures: dict[str, Any], ready: str) -> None:
        """Load ``path``, wait for ``ready``, record render time and requests, screenshot."""
        self.requests.clear()
        self.page.goto(self.base + path)
        self.page.wait_for_selector(ready, state="attached")
        self.page.wait_for_load_state("networkidle")
        timing = self.page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " const p = performance.getEntriesByName('first-contentful-paint')[0];"
            " return {fcp: p ? p.startTime : n.domContentLoadedEventEnd, load: n.loadEventEnd}; }"
        )
        figures[name] = {
            "first_render_ms": round(timing["fcp"], 1),
            "load_ms": round(timing["load"], 1),
            "requests": len(self.requests),
        }
        self.shot(name)
        self.no_errors()

    def shot(self, name: str) -> None:
        if SHOTS:
            (Path(SHOTS) / "full").mkdir(parents=True, exist_ok=True)
            self.page.mouse.move(VIEWPORT["width"] - 1, VIEWPORT["height"] - 1)  # no hover
            self.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))
            self.page.evaluate("() => window.scrollTo(0, 0)")
            self.page.screenshot(path=str(Path(SHOTS) / "full" / f"{name}.png"), full_page=True)

    def no_errors(self) -> None:
        assert not self.errors, self.errors

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def tab(browser: Any, server: str) -> Iterator[Tab]:
    t = Tab(browser, server)
    yield t
    t.close()


def card_ids(page: Any, row: str) -> list[str]:
    return page.eval_on_selector_all(f"{row} li.card", "els => els.map(e => e.dataset.item)")


def unlabelled(page: Any) -> list[str]:
    """Controls without an accessible name (label, aria-label or text)."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
              'input:not([type=hidden]), select, button, textarea, a[href]')]
            .filter(e => e.offsetParent !== null || e.type === 'radio')
            .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label')
                           || e.textContent.trim()))
            .map(e => e.outerHTML.slice(0, 80))"""
    )


def test_sign_in_then_home_with_explained_rows(tab: Tab, figures: dict[str, Any]) -> None:
    tab.page.goto(tab.base + "/web/signin")
    tab.shot("signin")
    tab.sign_in(WRITE_KEY)
    tab.visit("/", "home", figures, "#row-top-cards li.card")
    page = tab.page
    assert page.locator("#row-top h2, #row-top").first.inner_text().startswith("Top picks")
    whys = page.eval_on_selector_all(".card .why", "els => els.map(e => e.textContent)")
    assert whys and all(whys)  # an explanation on every card
    assert page.locator("#trending-cards li.card").count() > 0
    assert not unlabelled(page)
    # The key is nowhere the page's JavaScript can reach.
    assert WRITE_KEY not in page.content()
    assert WRITE_KEY not in page.evaluate("() => document.cookie + JSON.stringify(localStorage)")


def test_play_and_not_interested_change_the_rows_at_once(tab: Tab) -> None:
    tab.sign_in(WRITE_KEY, "u00002")
    page = tab.page
    page.wait_for_selector("#row-top-cards li.card")
    first = card_ids(page, "#row-top-cards")[0]
    page.locator(f'#row-top-cards li.card[data-item="{first}"] button[data-action="play"]').click()
    page.wait_for_function(
        f"() => ![...document.querySelectorAll('#row-top-cards li.card')].some(e => e.dataset.item === '{first}')"
    )
    assert "Playing" in page.locator("#status").inner_text()
    second = card_ids(page, "#row-top-cards")[0]
    button = page.locator(
        f'#row-top-cards li.card[data-item="{second}"] button[data-action="dislike"]'
    )
    button.focus()
    page.keyboard.press("Enter")  # the keyboard works the actions too
    page.wait_for_function(
        f"() => ![...document.querySelectorAll('#row-top-cards li.card')].some(e => e.dataset.item === '{second}')"
    )
    tab.no_errors()


def test_kind_switch_and_trending_window(tab: Tab) -> None:
    tab.sign_in(WRITE_KEY)
    page = tab.page
    page.wait_for_selector("#row-top-cards li.card")
    page.locator("label[for=kind-series]").click()
    kinds = page.eval_on_selector_all(
        "#row-top-cards li.card", "els => els.map(e => e.dataset.kind)"
    )
    assert kinds and set(kinds) == {"series"}
    page.locator("label[for=kind-all]").click()
    page.get_by_label("Window").select_option("7d")
    page.wait_for_function(
        "() => document.querySelector('#trending-title').textContent.includes('this week')"
    )
    tab.no_errors()


def test_search_and_item_page(tab: Tab, figures: dict[str, Any]) -> None:
    tab.sign_in(READ_KEY)
    page = tab.page
    assert page.locator('button[data-action="play"]').count() == 0  # read scope: no writes
    assert page.get_by_role("link", name="Operator").count() == 0  # nor admin actions
    tab.visit("/web/search", "search-empty", figures, "#q")
    page.get_by_label("Title").fill("the")
    page.get_by_label("Title").press("Enter")
    page.wait_for_selector("#results li.card")
    tab.visit(page.url.replace(tab.base, ""), "search", figures, "#results li.card")
    assert not unlabelled(page)
    page.locator("#results li.card h3 a").first.click()
    page.wait_for_selector("#similar-cards li.card")
    item = page.url.replace(tab.base, "")
    tab.visit(item, "item", figures, "#similar-cards li.card")
    assert page.locator("#similar-cards .why").first.inner_text().startswith("Similar to")


def png_bytes(value: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (24, 24), (value, 255 - value, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def test_studio_generates_a_grid_and_a_styled_image(tab: Tab, figures: dict[str, Any]) -> None:
    tab.sign_in(READ_KEY)
    tab.visit("/web/studio", "studio-empty", figures, "#image-form")
    page = tab.page
    assert not unlabelled(page)
    page.get_by_label("Seed").first.fill("7")
    page.get_by_label("Count").fill("9")
    page.get_by_role("button", name="Generate grid").click()
    page.wait_for_function("() => document.querySelector('#image-out').naturalWidth > 0")
    assert "passed moderation" in page.locator("#image-caption").inner_text()
    page.get_by_label("Content image").set_input_files(
        {"name": "content.png", "mimeType": "image/png", "buffer": png_bytes(40)}
    )
    page.get_by_label("Style image").set_input_files(
        {"name": "style.png", "mimeType": "image/png", "buffer": png_bytes(200)}
    )
    page.get_by_label("Steps").fill("3")
    page.get_by_label("Output size (px)").fill("32")
    page.get_by_role("button", name="Transfer style").click()
    page.wait_for_function(
        "() => document.querySelector('#style-out').naturalWidth > 0", timeout=60_000
    )
    assert page.locator("#gallery li img").count() == 2
    link = page.locator("#gallery a[download]").first
    assert link.get_attribute("href").startswith("data:image/png;base64,")
    tab.shot("studio")
    tab.no_errors()


def test_music_composes_and_plays(tab: Tab, figures: dict[str, Any]) -> None:
    tab.sign_in(READ_KEY)
    tab.visit("/web/music", "music-empty", figures, "#melody-form")
    page = tab.page
    assert not unlabelled(page)
    page.get_by_role("button", name="Compose").click()
    page.wait_for_selector("#melody-result:not([hidden])")
    page.wait_for_function("() => document.querySelector('#melody-audio').duration > 0")
    played = page.evaluate(
        "async () => { const a = document.querySelector('#melody-audio'); await a.play();"
        " await new Promise(r => setTimeout(r, 300)); return a.currentTime; }"
    )
    assert played > 0
    assert page.locator("#melody-roll rect").count() > 0
    assert page.locator("#melody-midi").get_attribute("href").startswith("data:audio/midi;base64,")
    page.get_by_role("button", name="Generate audio").click()
    page.wait_for_function("() => document.querySelector('#audio-player').duration > 0")
    tab.shot("music")
    tab.no_errors()


def test_analyst_dashboard_draws_from_the_api(tab: Tab, figures: dict[str, Any]) -> None:
    tab.sign_in(READ_KEY)
    tab.visit("/web/analyst", "analyst", figures, "#chart-forecast svg")
    page = tab.page
    assert page.locator("#kpis li").count() >= 6
    assert page.locator("#chart-events svg path").count() >= 2
    assert page.locator("#chart-forecast path.band").count() == 1
    assert page.locator("#segments li").count() == 4
    assert page.locator("#reviews tbody tr").count() > 0
    assert (
        page.get_by_role("link", name="Full HTML report").get_attribute("href")
        == "/web/analyst/report"
    )
    assert not unlabelled(page)


def test_operator_promotes_after_confirmation(tab: Tab, figures: dict[str, Any]) -> None:
    tab.sign_in(ADMIN_KEY)
    tab.visit("/web/operator", "operator", figures, "#serving-table")
    page = tab.page
    assert "hybrid@1" in page.locator("#serving-table").inner_text()
    assert page.locator("#alerts li[data-alert]").count() >= 7
    promote = page.get_by_role("button", name="Promote hybrid version 2 to production")
    promote.click()
    page.keyboard.press("Escape")  # the dialog cancels from the keyboard: nothing changes
    assert "hybrid@1" in page.locator("#serving-table").inner_text()
    promote.click()
    assert page.locator("#confirm").is_visible()
    page.locator("#confirm-ok").click()
    page.wait_for_function(
        "() => document.querySelector('#serving-table').textContent.includes('hybrid@2')"
    )
    assert "version 2" in page.locator("#status").inner_text()
    tab.shot("operator-promoted")
    page.get_by_role("button", name="Roll back hybrid production to version 1").click()
    page.locator("#confirm-ok").click()
    page.wait_for_function(
        "() => document.querySelector('#serving-table').textContent.includes('hybrid@1')"
    )
    tab.no_errors()


def test_keyboard_reaches_content_first(tab: Tab) -> None:
    tab.sign_in(WRITE_KEY)
    page = tab.page
    page.wait_for_selector("#row-top-cards li.card")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.closest('main') !== null")
    assert focused


def test_a_viewer_token_sees_only_its_viewer_pages(tab: Tab) -> None:
    """Issue 18: sign in with a user-scoped token (issued by an admin key)."""
    import urllib.request

    request = urllib.request.Request(
        tab.base + "/v1/users/u00003/tokens",
        data=b"{}",
        method="POST",
        headers={"x-api-key": ADMIN_KEY, "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # nosec B310 - local test server
        token = json.load(answer)["token"]
    tab.sign_in(token, "u00001")  # the profile typed is ignored: the token names its user
    page = tab.page
    page.wait_for_selector("#row-top-cards li.card")
    assert "u00003" in page.locator("#row-top").first.inner_text()
    nav = page.eval_on_selector_all("nav a", "els => els.map(e => e.getAttribute('href'))")
    assert nav == ["/", "/web/search"]
    assert page.locator("form.profile").count() == 0
    assert token not in page.content()
    assert token not in page.evaluate("() => document.cookie + JSON.stringify(localStorage)")
    # The viewer's own play and "not interested": the next rows change at once.
    for action in ("play", "dislike"):
        first = card_ids(page, "#row-top-cards")[0]
        page.locator(
            f'#row-top-cards li.card[data-item="{first}"] button[data-action="{action}"]'
        ).click()
        page.wait_for_function(
            f"() => ![...document.querySelectorAll('#row-top-cards li.card')].some(e => e.dataset.item === '{first}')"
        )
    assert "Noted" in page.locator("#status").inner_text()
    tab.no_errors()
    assert page.goto(tab.base + "/web/operator").status == 403
