"""The merchant portal end to end, through real processes and a real browser (Debian's chromium driven by sync
Playwright): nothing is faked.

1. A fresh SQLite data directory: `listener merchants import` (two shops, "Amal" an alias of the first),
   `listener import` of a CSV of #LoveLocal posts (one about a person called Amal, one hostile, one about the
   other shop), `listener analyse` (the real models link the posts), `listener users add` a curator, and
   `listener merchants invite` prints the shop owner's single-use link.
2. One `listener serve --port 0`. The owner's browser (French) opens the link, chooses a password, lands on
   the shop's portal signed in: only the shop's mentions, none of the other shop's; the volume chart has one
   bar per day of the period and the mentions in the right days, the trend chart one point per day with
   mentions. The owner flags the post about the person as not about the shop.
3. The curator signs in, opens the merchant's page, sees the request and accepts it.
4. The owner reloads: the mention is gone, the chart counts one fewer. The link does not work twice.
Throughout: hostile text shows literally, nothing injected runs, no console error, no CSP violation.
"""

from __future__ import annotations

import csv
import io
import re
import signal
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.repositories._sql import utcnow
from tests.processes import LISTENER, listener, listener_env, run_cli
from tests.web.browsers import launch_chromium
from web.i18n import catalogue

pytestmark = pytest.mark.browser

FR = catalogue("fr")
CURATOR, OWNER = "curatrice@example.org", "proprietaire@amal.example"
PASSWORD, OWNER_PASSWORD = "correct horse battery staple", "du pain frais chaque matin"
MERCHANTS = "name;aliases;city\nBoulangerie Amal;Amal;Casablanca\nÉpicerie Zitouna;Zitouna;Rabat\n"
HOSTILE = '<img src=x onerror="window.__pwned=1"> Amal <script>window.__pwned=2</script> #LoveLocal'
PERSON = "Amal m'a aidée à porter mes courses au marché, merci à elle ! #LoveLocal"
POSTS = [  # (id, hours ago, author, text)
    ("9101", 3, "salma", "J'adore la Boulangerie Amal, le pain est délicieux, je recommande ! #LoveLocal"),
    ("9102", 27, "karim", PERSON),
    ("9103", 51, "nadia", "Déçu par la Boulangerie Amal ce matin, pain trop cuit. #LoveLocal"),
    ("9104", 75, "pwn3r", HOSTILE),
    ("9105", 4, "tom", "Les olives de l'Épicerie Zitouna sont parfaites #LoveLocal"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def posts_csv() -> tuple[str, dict[str, Any]]:
    now = utcnow()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["platform", "id", "url", "created_at", "author_id", "author_handle", "author_name",
                     "author_followers", "text", "lang", "hashtags"])  # fmt: skip
    dates = {}
    for post_id, hours, author, text in POSTS:
        created = now - timedelta(hours=hours)
        dates[post_id] = created
        writer.writerow(["x", post_id, f"https://x.com/{author}/status/{post_id}", created.isoformat(),
                         f"u{post_id}", author, author.title(), "120", text, "fr", "LoveLocal"])  # fmt: skip
    return out.getvalue(), dates


class Watched:
    """A page whose console messages, page errors and failed requests are collected."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.messages: list[str] = []
        page.on("console", lambda msg: self.messages.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))
        page.on("response", lambda r: self.messages.append(f"http {r.status}: {r.url}") if r.status >= 400 else None)

    def clean(self) -> None:
        assert self.page.evaluate("typeof window.__pwned") == "undefined"
        assert self.messages == []

    def submit(self, button: Any) -> None:
        with self.page.expect_navigation(wait_until="load") as navigation:
            button.click()
        response = navigation.value
        assert response is not None
        assert response.status == 200, response.url


def prepare(tmp_path: Path) -> tuple[dict[str, str], str, dict[str, Any]]:
    env = listener_env(tmp_path)

    def cli(*args: str) -> str:
        done = run_cli(list(args), env, tmp_path)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    (tmp_path / "merchants.csv").write_text(MERCHANTS, encoding="utf-8")
    assert "2 created" in cli("merchants", "import", str(tmp_path / "merchants.csv"))
    text, dates = posts_csv()
    (tmp_path / "posts.csv").write_text(text, encoding="utf-8")
    cli("import", str(tmp_path / "posts.csv"), "--format", "csv", "--campaign", "lovelocal")
    assert '"analysed": 5' in cli("analyse", "--json")
    added = subprocess.run(
        [str(LISTENER), "users", "add", CURATOR, "--role", "curator", "--password-stdin"],
        input=PASSWORD + "\n", env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    amal = next(line.split()[0] for line in cli("merchants", "list").splitlines() if "Boulangerie Amal" in line)
    [line] = cli("merchants", "invite", "--merchant", amal, "--email", OWNER).splitlines()
    link = line.split()[1]
    return env, link.split("/invite/", 1)[1], dates


def counts_by_bar(page: Any) -> list[int]:
    return [
        int(n) for n in page.eval_on_selector_all("svg#volume-chart rect.bar", "bars => bars.map(b => b.dataset.count)")
    ]


def mention_texts(page: Any) -> list[str]:
    return [str(t) for t in page.locator("article.mention p.post-text").all_inner_texts()]


def test_an_invited_merchant_sees_only_its_mentions_flags_one_and_a_curator_accepts(
    browser: Any, tmp_path: Path
) -> None:
    env, token, dates = prepare(tmp_path)
    shots = tmp_path / "shots"
    shots.mkdir()
    with listener(["serve", "--port", "0"], env, tmp_path) as service:
        app = service.wait_for_url().rstrip("/")
        owner = browser.new_context(locale="fr-FR")
        try:
            page = Watched(owner.new_page())
            p = page.page
            response = p.goto(f"{app}/invite/{token}", wait_until="load")
            assert response is not None
            assert response.status == 200
            assert p.locator("html").get_attribute("lang") == "fr"
            assert p.locator(".invite-merchant").inner_text() == "Boulangerie Amal"
            assert p.locator("#email").input_value() == OWNER
            p.fill("#password", OWNER_PASSWORD)
            p.fill("#password_again", OWNER_PASSWORD)
            page.submit(p.locator("main button[type=submit]"))
            assert re.fullmatch(rf"{re.escape(app)}/merchant/\d+", p.url), p.url
            shop_url = p.url

            # Only the shop's mentions: the four posts naming Amal, never the other shop's.
            texts = mention_texts(p)
            assert sorted(texts) == sorted(text for _, _, _, text in POSTS[:4])
            assert not any("Zitouna" in text for text in texts)
            assert p.locator("article.mention").filter(has_text="window.__pwned=1").locator("img, script").count() == 0
            # The charts: one bar per day of the default 30 days, the mentions on their days, one point per day.
            counts = counts_by_bar(p)
            assert len(counts) == 30
            assert sum(counts) == 4
            days = {dates[post_id].date() for post_id, *_ in POSTS[:4]}
            assert sum(1 for c in counts if c) == len(days)
            assert p.locator("svg#trend-chart circle.point").count() == len(days)
            assert p.locator("svg#volume-chart").get_attribute("role") == "img"
            assert p.locator("svg#volume-chart > title").text_content() == FR["portal.volume_title"]
            page.clean()
            p.screenshot(path=str(shots / "portal.png"), full_page=True)

            # Flag the post about the person.
            person = p.locator("article.mention").filter(has_text="porter mes courses")
            person.locator("input[name=note]").fill("Amal est une cliente, pas notre boulangerie")
            page.submit(person.locator("button[type=submit]"))
            assert p.url == shop_url
            assert FR["portal.flagged"] in p.locator(".flash").inner_text()
            assert (
                FR["portal.flag_pending"]
                in p.locator("article.mention").filter(has_text="porter mes courses").inner_text()
            )
            page.clean()
        finally:
            owner.close()

        curator = browser.new_context(locale="fr-FR")
        try:
            page = Watched(curator.new_page())
            p = page.page
            merchant_id = shop_url.rsplit("/", 1)[1]
            p.goto(f"{app}/merchants/{merchant_id}", wait_until="load")
            assert "/login" in p.url
            p.fill("#email", CURATOR)
            p.fill("#password", PASSWORD)
            page.submit(p.locator("main button[type=submit]"))
            assert p.url == f"{app}/merchants/{merchant_id}"
            request = p.locator("article.request.not_us")
            assert request.count() == 1
            assert "porter mes courses" in request.inner_text()
            assert "Amal est une cliente" in request.inner_text()
            page.submit(request.locator("form.accept button[type=submit]"))
            assert FR["madmin.accepted"] in p.locator(".flash").inner_text()
            assert p.locator("article.request").count() == 0
            page.clean()
            p.screenshot(path=str(shots / "merchant_admin.png"), full_page=True)
        finally:
            curator.close()

        again = browser.new_context(locale="fr-FR")
        try:
            page = Watched(again.new_page())
            p = page.page
            # The invitation worked once: the link now says so.
            gone = p.goto(f"{app}/invite/{token}", wait_until="load")
            assert gone is not None
            assert gone.status == 410
            page.messages.clear()  # the 410 just checked
            p.goto(f"{app}/login", wait_until="load")
            p.fill("#email", OWNER)
            p.fill("#password", OWNER_PASSWORD)
            page.submit(p.locator("main button[type=submit]"))
            assert p.url == shop_url
            texts = mention_texts(p)
            assert len(texts) == 3
            assert not any("porter mes courses" in text for text in texts)
            assert sum(counts_by_bar(p)) == 3
            page.clean()
        finally:
            again.close()
        assert service.stop(signal.SIGTERM) == 0, service.text
