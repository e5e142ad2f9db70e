"""`make demo` as a newcomer sees it: the real `listener demo` process loads the sample campaign and serves it;
Debian's Chromium (sync Playwright) signs in with the logins the command printed and looks at the story queue
(as the curator), the merchant portal (as the merchant user) and the weekly report, checking what each shows
and taking a screenshot of each (under the test's tmp_path). Hostile sample text shows literally and runs
nothing: no dialog opens, no script error, no refused or failed request.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import processes
from tests.processes import listener, listener_env
from tests.web.browsers import launch_chromium
from tests.web.e2e_setup import png_facts

pytestmark = pytest.mark.browser

LOAD_TIMEOUT = 300.0  # the demo loads (French model, ~200 posts analysed) before it listens
ZITOUNA = "Café Zitouna (fictif)"
FEATURED = "Ce matin au Café Zitouna à Tunis : un accueil adorable"
HOSTILE = "<script>alert('demo')</script> J'adore le Café Zitouna, merci pour l'accueil ! #LoveLocal"
LOGIN_LINE = re.compile(r"^  (admin|curator|merchant) +(\S+@\S+) +password (\S+)", re.MULTILINE)
REPORT_LINE = re.compile(r"^report #LoveLocal (\d{4}-W\d{2}): (\d+) post\(s\)", re.MULTILINE)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def printed_logins(console: str) -> dict[str, tuple[str, str]]:
    logins = {role: (email, password) for role, email, password in LOGIN_LINE.findall(console)}
    assert set(logins) == {"admin", "curator", "merchant"}, console
    return logins


class Visitor:
    """A signed-in browser page whose dialogs, console messages, page errors and failed requests are kept."""

    def __init__(self, browser: Any, app: str, login: tuple[str, str]) -> None:
        self.context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.app = app
        self.problems: list[str] = []
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on(
            "response", lambda r: self.problems.append(f"http {r.status}: {r.url}") if r.status >= 400 else None
        )
        self.goto("/login")
        self.page.fill("#email", login[0])
        self.page.fill("#password", login[1])
        with self.page.expect_navigation(wait_until="load"):
            self.page.click("button[type=submit]")
        assert "/login" not in self.page.url, self.page.locator("main").inner_text()

    def goto(self, path: str) -> None:
        response = self.page.goto(self.app + path, wait_until="load")
        assert response is not None
        assert response.status == 200, (path, response.status)

    def clean(self) -> None:
        # Hostile markup stayed text: the only scripts are the app's own files, and no image was injected.
        sources = self.page.eval_on_selector_all("script", "nodes => nodes.map(n => n.getAttribute('src'))")
        assert all(isinstance(s, str) and re.fullmatch(r"/static/[a-z_]+\.js", s) for s in sources), sources
        assert self.page.locator("main img").count() == 0
        assert self.problems == []

    def shot(self, path: Path) -> None:
        self.page.screenshot(path=str(path), full_page=True)
        width, height, variety = png_facts(path)
        assert width >= 1000
        assert height > 400
        assert variety > 32  # drawn text, not a blank page

    def close(self) -> None:
        self.context.close()


def check_queue(visitor: Visitor, shots: Path) -> None:
    """The curator's queue: candidates in three languages; the featured story and a hostile one, filtered."""
    page = visitor.page
    visitor.goto("/queue")
    rows = page.locator("tr.story")
    assert rows.count() >= 30
    texts = rows.locator("p.post-text").all_inner_texts()
    assert any(re.search("[\u0600-\u06ff]", t) for t in texts)  # Arabic
    assert any("#SoutenonsnosTPEPME" in t for t in texts)
    assert any(" the " in t for t in texts)  # English
    visitor.shot(shots / "queue.png")

    page.select_option("#f-merchant", label=f"{ZITOUNA} (Tunis)")
    page.check("input[name=state][value=featured]")
    with page.expect_navigation(wait_until="load"):
        page.click("form.filters button[type=submit]")
    featured = page.locator("tr.story").filter(has_text=FEATURED)
    assert featured.count() == 1
    assert featured.locator("p.post-text").inner_text().startswith(FEATURED)
    hostile = page.locator("tr.story").filter(has_text="<script>")
    assert hostile.count() == 1
    assert hostile.locator("p.post-text").inner_text() == HOSTILE  # shown literally
    assert page.evaluate("typeof window.__pwned") == "undefined"
    visitor.clean()
    visitor.shot(shots / "queue-zitouna.png")


def check_portal(visitor: Visitor, shots: Path) -> None:
    """The merchant user sees their own shop's mentions, and the story featured about it."""
    page = visitor.page
    visitor.goto("/merchant")
    assert re.search(r"/merchant/\d+$", page.url), page.url
    assert ZITOUNA in page.locator("main").inner_text()
    mentions = page.locator("article.mention")
    assert mentions.count() >= 10
    texts = mentions.locator("p.post-text").all_inner_texts()
    assert all(re.search("zitouna|الزيتونة", t, re.IGNORECASE) for t in texts), texts  # only their own
    assert any(t.startswith("First coffee of the day at Café Zitouna") for t in texts)
    assert HOSTILE in texts  # literally, here too
    visitor.clean()
    visitor.shot(shots / "portal.png")

    visitor.goto(page.url.removeprefix(visitor.app) + "/stories")
    story = page.locator("article.featured-story").filter(has_text=FEATURED)
    assert story.count() == 1
    assert story.locator(".author").inner_text() == "Salma B."  # the name she agreed to, from her reply
    visitor.clean()


def check_report(visitor: Visitor, week: str, posts: int, shots: Path) -> None:
    """The #LoveLocal report of the last complete week, as the demo built it: its headline figures."""
    page = visitor.page
    visitor.goto("/reports")
    section = page.locator("section[aria-labelledby=campaign-lovelocal]")
    row = section.locator("table.reports tbody tr").filter(has_text=week)
    assert row.count() == 1
    assert row.locator("td.num").first.inner_text() == str(posts)
    with page.expect_navigation(wait_until="load"):
        row.locator(f"a[href='/reports/lovelocal/{week}']").click()
    assert page.url == f"{visitor.app}/reports/lovelocal/{week}"

    def this_week(key: str) -> str:
        return str(page.locator(f"table.headline tr#figure-{key} td.num").first.inner_text())

    assert this_week("posts") == str(posts)
    assert posts >= 20  # a week of the sample campaign, not an empty report
    for key in ("unique_authors", "potential_reach", "engagements", "likes"):
        figure = this_week(key)
        assert re.fullmatch(r"[\d\u202f\u00a0 ]+", figure), (key, figure)  # a number (French grouping)
        assert int(re.sub(r"\D", "", figure)) > 0, (key, figure)
    assert page.locator("table.headline tbody tr").count() >= 10
    visitor.clean()
    visitor.shot(shots / "report.png")


def test_the_demo_shows_a_populated_queue_merchant_portal_and_report(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "START_TIMEOUT", LOAD_TIMEOUT)
    shots = tmp_path / "shots"
    shots.mkdir()
    port = free_port()
    args = ["demo", "--data-dir", str(tmp_path / "demo"), "--port", str(port)]
    with listener(args, listener_env(tmp_path), tmp_path) as demo:
        app = demo.wait_for_url().rstrip("/")
        assert app == f"http://127.0.0.1:{port}"
        logins = printed_logins(demo.text)
        assert f"sign in at {app}/login" in demo.text

        curator = Visitor(browser, app, logins["curator"])
        try:
            check_queue(curator, shots)
        finally:
            curator.close()

        merchant = Visitor(browser, app, logins["merchant"])
        try:
            check_portal(merchant, shots)
        finally:
            merchant.close()

        built = REPORT_LINE.search(demo.text)
        assert built is not None, demo.text
        admin = Visitor(browser, app, logins["admin"])
        try:
            check_report(admin, built.group(1), int(built.group(2)), shots)
        finally:
            admin.close()

        assert demo.stop() == 0, demo.text
    assert "stopped cleanly" in demo.text
