"""The home page in a real headless browser: Debian's chromium driven by Playwright (never a downloaded one).

The app is the real `listener serve --port 0` process on 127.0.0.1, with an admin added by the real
`listener users add` first (the home page is for admins and curators; the browser signs in through the
login page); the browser is sync Playwright in a plain test, so no event loop of ours runs in this thread.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import LISTENER, listener, listener_env
from tests.web.browsers import launch_chromium

pytestmark = pytest.mark.browser

ADMIN = "admin@example.org"
PASSWORD = "correct horse battery staple"
HOSTILE_NAME = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def serve(tmp_path: Path, config: str | None = None) -> Iterator[str]:
    extra = {}
    if config is not None:
        path = tmp_path / "listener.toml"
        path.write_text(config, encoding="utf-8")
        extra["LISTENER_CONFIG"] = str(path)
    env = listener_env(tmp_path, **extra)
    added = subprocess.run(
        [str(LISTENER), "users", "add", ADMIN, "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    with listener(["serve", "--port", "0"], env, tmp_path) as service:
        yield service.wait_for_url()
        assert service.stop(signal.SIGTERM) == 0, service.text


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path)


@pytest.fixture
def hostile_url(tmp_path: Path) -> Iterator[str]:
    yield from serve(
        tmp_path,
        "[campaigns.hostile]\n"
        f"name = '{HOSTILE_NAME}'\n"
        'hashtags = ["LoveLocal"]\n'
        "region = '<script>window.__pwned=3</script>'\n",
    )


def open_page(browser: Any, url: str) -> tuple[Any, list[str]]:
    """A fresh page at `url`, signed in as the admin through the login page it is sent to, with every console
    message and page error collected."""
    page = browser.new_page()
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
    page.on("response", lambda r: messages.append(f"http {r.status}: {r.url}") if r.status >= 400 else None)
    response = page.goto(url, wait_until="load")
    assert response is not None
    assert response.status == 200
    assert page.url.startswith(url.rstrip("/") + "/login?next=")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    with page.expect_navigation(wait_until="load") as navigation:
        page.click("button[type=submit]")
    response = navigation.value
    assert response is not None
    assert response.status == 200
    assert response.headers["x-frame-options"] == "DENY"
    return page, messages


def test_the_home_page_renders_and_is_styled(browser: Any, app_url: str, tmp_path: Path) -> None:
    page, messages = open_page(browser, app_url)
    try:
        assert page.title() == "campaign-listener · status"
        assert page.locator("h1").inner_text() == "Campaigns"
        rows = page.locator("tr.campaign")
        assert rows.count() == 2
        assert "#LoveLocal" in rows.nth(0).inner_text()
        assert "#SoutenonsnosTPEPME" in rows.nth(1).inner_text()
        assert "x: disabled, set LISTENER_X_BEARER_TOKEN" in page.locator("ul.sources").inner_text()
        # The stylesheet came from /static under the CSP: no violation, no error.
        sheets = page.evaluate("Array.from(document.styleSheets).map(s => s.cssRules.length)")
        assert sheets
        assert sheets[0] > 0
        # No CSP violation, no failed request (not even the browser's /favicon.ico guess), no script error.
        assert messages == []

        shot = tmp_path / "home.png"
        page.screenshot(path=str(shot), full_page=True)
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) > 1000
    finally:
        page.close()


def test_a_hostile_campaign_name_runs_nothing_and_shows_literally(
    browser: Any, hostile_url: str, tmp_path: Path
) -> None:
    page, _ = open_page(browser, hostile_url)
    try:
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof window.__pwned") == "undefined"
        row = page.locator("tr.campaign")
        assert row.count() == 1
        assert row.locator("td").nth(1).inner_text() == HOSTILE_NAME
        assert row.locator("td").nth(4).inner_text() == "<script>window.__pwned=3</script>"
        assert page.locator("main img").count() == 0
        assert page.locator("script").count() == 0
        page.screenshot(path=str(tmp_path / "hostile.png"))
        assert (tmp_path / "hostile.png").stat().st_size > 0
    finally:
        page.close()
