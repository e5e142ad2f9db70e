"""Issue 5 end to end: from a collected post to a story on a campaign site, through real processes and a real
browser (Debian's chromium driven by sync Playwright). The only fake is X itself, on loopback TLS.

1. A fresh SQLite data directory: `listener merchants import` (three fictitious shops), `listener users add` a
   curator, then `listener collect --source x` against the fake X answering a recent search in the API v2
   shape: French, English and Arabic #LoveLocal posts, one a glowing first-person story, one a hostile post
   (`<script>`, `<img onerror>`, and a hostile author name), one a complaint. `listener analyse` (the real
   models, once) and `listener stories` make the queue.
2. One `listener serve --port 0` process for the whole browser part. The curator signs in through /login (in
   French, as campaign managers work), filters the queue (language, platform), ticks two stories and
   shortlists them with the bulk action, opens each story page and records a rights request whose suggested
   message names #OuiLoveLocal.
3. The consent replies arrive THROUGH THE COLLECTOR: X now answers with the authors' replies (and a stranger's
   reply carrying the hashtag, which must grant nothing); `listener collect` (asking only for tweets newer
   than the first run) and `listener stories` grant the rights; the story page shows them granted with the
   evidence; the curator features both stories with the default window.
4. A campaign site on another loopback origin, under its own strict CSP, pastes the widget snippet: the
   featured stories appear with the author's public name, the merchant and the text.
5. Throughout: hostile text and names show literally, nothing runs (`window.__pwned` stays undefined), and no
   page logs anything (no CSP violation, no failed request, no script error). Screenshots go to tmp_path.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.repositories._sql import utcnow
from tests.processes import LISTENER, listener, listener_env, run_cli
from tests.web.browsers import launch_chromium
from tests.web.e2e_setup import (
    BackgroundLoop,
    FakeX,
    background_loop,
    campaign_site,
    png_facts,
    x_search_page,
    x_tweet,
    x_user,
)
from web.i18n import catalogue

pytestmark = pytest.mark.browser

FR = catalogue("fr")  # campaign managers work in French: the browser asks for it
CURATOR = "curatrice@example.org"
PASSWORD = "correct horse battery staple"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAEndToEndFakeBearerToken0123456789abcdefXYZ"
CONFIG = """
[campaigns.lovelocal]
name = "#LoveLocal"
hashtags = ["LoveLocal"]
languages = ["ar", "fr", "en"]
region = "MENA"
timezone = "Africa/Casablanca"
consent_hashtag = "OuiLoveLocal"
"""
MERCHANTS = (
    "name;aliases;handles;city;region;category\n"
    "Boulangerie Amal;Amal|مخبزة أمل;x:@amal_bakery;Casablanca;MENA;boulangerie\n"
    "Librairie du Port;;;Tanger;MENA;librairie\n"
    "Épicerie Zitouna;Zitouna;;Rabat;MENA;épicerie\n"
)

HOSTILE_TEXT = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
HOSTILE_NAME = '<img src=x onerror="window.__pwned=3">'
STORY = (
    "Hier j'ai découvert la Boulangerie Amal : un accueil chaleureux, un pain délicieux et des gâteaux "
    "excellents. J'adore, je recommande, merci à toute l'équipe ! #LoveLocal"
)
HOSTILE = HOSTILE_TEXT + " J'adore l'Épicerie Zitouna, merci pour l'accueil ! #LoveLocal"
ENGLISH = "I love the Librairie du Port: they found me a rare book in two days. Thank you! #LoveLocal"
ARABIC = "شكرا لمخبزة أمل، الخبز طازج كل صباح وأنصح بها الجميع! #LoveLocal"
COMPLAINT = "Très déçu par le service, je ne recommande pas. #LoveLocal"

SALMA = x_user("2001", "salma_cuisine", "Salma Benali", 820)
TOM = x_user("2002", "tom_reads", "Tom Reader", 310)
YOUSSEF = x_user("2003", "youssef_casa", "يوسف", 540)
PWNER = x_user("2004", "pwn3r", HOSTILE_NAME, 12)
KARIM = x_user("2005", "karim_casa", "Karim", 90)
# Snowflake ids grow with time: the oldest post has the smallest id.
COMPLAINT_ID, HOSTILE_ID, ARABIC_ID, ENGLISH_ID, STORY_ID = (f"18000000000000000{n}" for n in range(11, 16))
STRANGER_YES, SALMA_YES, PWNER_YES = (f"18000000000000001{n:02d}" for n in range(1, 4))


@dataclass
class World:
    """The data directory, the environment every `listener` command gets, and the fake X."""

    tmp_path: Path
    env: dict[str, str]
    x: FakeX
    loop: BackgroundLoop

    def cli(self, *args: str) -> str:
        done = run_cli(list(args), self.env, self.tmp_path)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    config = tmp_path / "listener.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with background_loop() as loop, FakeX(loop, tmp_path / "tls") as x:
        env = listener_env(tmp_path, LISTENER_CONFIG=str(config), **x.env(TOKEN))
        yield World(tmp_path, env, x, loop)


# --- step 1: the pipeline, command by command -----------------------------------------------------------


def collect_and_analyse(world: World) -> None:
    now = utcnow()
    registry = world.tmp_path / "merchants.csv"
    registry.write_text(MERCHANTS, encoding="utf-8")
    assert "3 created" in world.cli("merchants", "import", str(registry))
    added = subprocess.run(
        [str(LISTENER), "users", "add", CURATOR, "--role", "curator", "--password-stdin"],
        input=PASSWORD + "\n", env=world.env, cwd=world.tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr

    world.x.serve_search(
        x_search_page(
            [
                x_tweet(STORY_ID, SALMA["id"], STORY, now - timedelta(hours=3), lang="fr", likes=48),
                x_tweet(ENGLISH_ID, TOM["id"], ENGLISH, now - timedelta(hours=4), lang="en", likes=12),
                x_tweet(ARABIC_ID, YOUSSEF["id"], ARABIC, now - timedelta(hours=5), lang="ar", likes=9),
                x_tweet(HOSTILE_ID, PWNER["id"], HOSTILE, now - timedelta(hours=6), lang="fr", likes=3),
                x_tweet(COMPLAINT_ID, KARIM["id"], COMPLAINT, now - timedelta(hours=7), lang="fr"),
            ],
            [SALMA, TOM, YOUSSEF, PWNER, KARIM],
        )
    )
    assert "x: ok · 1 page(s), 5 new" in world.cli("collect", "--source", "x")
    [search] = world.x.searches()
    assert search.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "#LoveLocal" in search.params["query"]
    assert "#OuiLoveLocal" in search.params["query"]  # consent replies are collected by the same search
    assert "since_id" not in search.params

    assert json.loads(world.cli("analyse", "--json"))["analysed"] == 5
    scored = json.loads(world.cli("stories", "--json"))
    assert scored["stories"] == 5
    assert scored["candidates"] >= 2


def consent_arrives(world: World) -> None:
    """The authors answer the requests on X; the collector brings the replies; the stories job grants."""
    now = utcnow()  # after the requests were recorded
    replies = [
        # Someone else's reply with the hashtag comes first: it must not count as the author's consent.
        (STRANGER_YES, KARIM, "Oui ! #OuiLoveLocal", (STORY_ID, SALMA), now - timedelta(seconds=20)),
        (SALMA_YES, SALMA, "Avec plaisir, c'est d'accord ! #OuiLoveLocal", (STORY_ID, SALMA), now),
        (PWNER_YES, PWNER, "#OuiLoveLocal " + HOSTILE_TEXT, (HOSTILE_ID, PWNER), now),
    ]
    tweets = [
        x_tweet(tweet_id, user["id"], text, at, lang="fr", reply_to=(to, to_user["id"]))
        for tweet_id, user, text, (to, to_user), at in replies
    ]
    world.x.serve_search(x_search_page(tweets, [SALMA, PWNER, KARIM]))
    assert "x: ok · 1 page(s), 3 new" in world.cli("collect", "--source", "x")
    # The second run asks X only for what is newer than the first run's newest tweet.
    assert world.x.searches()[-1].params["since_id"] == STORY_ID
    granted = json.loads(world.cli("stories", "--json"))
    assert granted["rights_granted"] == 2


# --- the browser side -----------------------------------------------------------------------------------


class Watched:
    """A page whose console messages, page errors and failed requests are all collected."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.messages: list[str] = []
        page.on("console", lambda msg: self.messages.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))
        page.on("response", lambda r: self.messages.append(f"http {r.status}: {r.url}") if r.status >= 400 else None)

    def clean(self) -> None:
        """Nothing injected ran, and nothing was refused or failed (a CSP violation is a console error).

        Called once the page is loaded: `load` waits for images (an injected <img onerror> would have fired)."""
        assert self.page.evaluate("typeof window.__pwned") == "undefined"
        assert self.messages == []

    def submit(self, button: str) -> None:
        """Click a form's submit button and land on the page it redirects to (Post/Redirect/Get)."""
        with self.page.expect_navigation(wait_until="load") as navigation:
            self.page.click(button)
        response = navigation.value
        assert response is not None
        assert response.status == 200, response.url

    def goto(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is not None
        assert response.status == 200, url


def only_our_scripts(page: Any) -> None:
    """The app's pages load scripts from /static only: no inline script, no injected one."""
    sources = page.eval_on_selector_all("script", "nodes => nodes.map(n => n.getAttribute('src'))")
    assert all(isinstance(s, str) and re.fullmatch(r"/static/[a-z]+\.js", s) for s in sources), sources
    assert page.locator("main img").count() == 0


def flash(page: Any) -> str:
    return str(page.locator(".flash").inner_text())


def sign_in(page: Watched, app: str) -> None:
    page.goto(f"{app}/queue")
    assert page.page.url.startswith(f"{app}/login?next=")
    page.page.fill("#email", CURATOR)
    page.page.fill("#password", PASSWORD)
    page.submit("button[type=submit]")
    assert page.page.url == f"{app}/queue"
    assert page.page.locator("html").get_attribute("lang") == "fr"


def row_for(page: Any, text: str) -> Any:
    rows = page.locator("tr.story").filter(has_text=text)
    assert rows.count() == 1, text
    return rows


def work_the_queue(page: Watched, app: str, shots: Path) -> dict[str, int]:
    """Filter to French X posts, check the hostile row, shortlist two stories in bulk; returns their ids."""
    p = page.page
    for text in (STORY, HOSTILE, ENGLISH, ARABIC):  # the candidates; the complaint was rejected
        row_for(p, text[:40])
    assert p.locator("tr.story").filter(has_text=COMPLAINT[:30]).count() == 0
    assert row_for(p, ARABIC[:20]).locator("p.post-text").get_attribute("dir") == "auto"  # read right to left

    p.select_option("#f-language", "fr")
    p.select_option("#f-platform", "x")
    page.submit("form.filters button[type=submit]")
    assert "language=fr" in p.url
    assert "platform=x" in p.url
    texts = p.locator("tr.story p.post-text").all_inner_texts()
    assert sorted(texts) == sorted([STORY, HOSTILE])  # English and Arabic are filtered out
    story, hostile = row_for(p, "Boulangerie Amal"), row_for(p, "Zitouna")
    assert story.locator(".author").inner_text() == "Salma Benali"
    assert story.locator("td").nth(5).inner_text() == "Boulangerie Amal"
    # The hostile post: its markup is text, shown literally; its author's name too.
    assert hostile.locator("p.post-text").inner_text() == HOSTILE
    assert hostile.locator(".author").inner_text() == HOSTILE_NAME
    assert hostile.locator("img, script").count() == 0
    only_our_scripts(p)
    page.clean()
    p.screenshot(path=str(shots / "queue.png"), full_page=True)

    ids = {name: int(row.get_attribute("data-story")) for name, row in (("story", story), ("hostile", hostile))}
    story.locator("input[name=ids]").check()
    hostile.locator("input[name=ids]").check()
    p.select_option("#b-action", "shortlist")
    page.submit("#bulk button[type=submit]")
    assert FR["queue.bulk_done.shortlist"].format(count=2) in flash(p)
    # Back on the same filtered queue (candidates only): both left it.
    assert "language=fr" in p.url
    assert p.locator("tr.story").count() == 0
    page.clean()
    return ids


def request_rights(page: Watched, app: str, story_id: int, handle: str) -> None:
    p = page.page
    page.goto(f"{app}/stories/{story_id}")
    assert p.locator("h1 .state").inner_text() == FR["state.shortlisted"]
    message = p.locator("#r-message").input_value()
    assert "#OuiLoveLocal" in message
    assert f"@{handle}" in message
    assert message.startswith("Bonjour")  # the suggestion is in the post's language
    page.submit("form[action$='/rights-request'] button[type=submit]")
    assert "#OuiLoveLocal" in flash(p)
    assert p.locator("h1 .state").inner_text() == FR["state.rights_requested"]
    pending = p.locator("tr.rights-request.pending")
    assert pending.count() == 1
    reply = pending.locator("a[href^='https://twitter.com/intent/tweet']").get_attribute("href")
    assert reply is not None
    assert "in_reply_to=" in reply
    assert p.locator("form[action$='/feature']").count() == 0  # not featurable without the author's consent
    page.clean()


def feature(page: Watched, app: str, story_id: int, public_name: str, evidence: str) -> None:
    """The reloaded story page shows the rights granted with the evidence; feature it with the default window."""
    p = page.page
    page.goto(f"{app}/stories/{story_id}")
    assert p.locator("h1 .state").inner_text() == FR["state.rights_granted"]
    granted = p.locator("tr.rights-request.granted")
    assert granted.count() == 1
    assert FR["rights.granted"] in granted.inner_text()
    assert granted.locator("a", has_text=FR["story.evidence"]).get_attribute("href") == evidence
    assert f"#OuiLoveLocal: {evidence}" in p.locator("table.history").inner_text()
    facts = p.locator("section[aria-labelledby=post-h] dl.facts")
    assert facts.locator("dt", has_text=FR["story.public_name"]).count() == 1
    assert public_name in facts.inner_text()
    start, end = p.locator("#f-from").input_value(), p.locator("#f-until").input_value()
    assert start  # the default window, as the form offers it
    assert end > start
    page.submit("form[action$='/feature'] button[type=submit]")
    assert FR["story.featured"].split("{")[0] in flash(p)
    assert p.locator("h1 .state").inner_text() == FR["state.featured"]
    page.clean()


def check_hostile_story_page(page: Watched) -> None:
    p = page.page
    assert p.locator("blockquote.post-text").inner_text() == HOSTILE
    author = p.locator("section[aria-labelledby=post-h] dd").first
    assert HOSTILE_NAME in author.inner_text()
    assert p.locator("section[aria-labelledby=post-h]").locator("img, script").count() == 0
    only_our_scripts(p)
    page.clean()


def check_widget(page: Watched, site: str, shots: Path) -> None:
    p = page.page
    page.goto(site)
    p.wait_for_selector("#listener-featured[data-state='ready']", timeout=10_000)
    p.wait_for_load_state("networkidle")  # anything the cards could have pulled in has been asked for
    cards = p.locator("#listener-featured article.lf-card")
    assert cards.count() == 2
    story = cards.filter(has_text="Boulangerie Amal")
    assert story.locator("blockquote").inner_text() == STORY
    assert story.locator(".lf-author").inner_text() == "Salma Benali"
    assert story.locator(".lf-merchant").inner_text() == "Boulangerie Amal · Casablanca"
    link = story.locator("a.lf-link")
    assert link.get_attribute("href") == f"https://x.com/salma_cuisine/status/{STORY_ID}"
    assert link.inner_text() == "Lire la publication d'origine"
    hostile = cards.filter(has_text="Zitouna")
    assert hostile.locator("blockquote").inner_text() == HOSTILE
    assert hostile.locator(".lf-author").inner_text() == HOSTILE_NAME
    assert hostile.locator(".lf-merchant").inner_text() == "Épicerie Zitouna · Rabat"
    assert p.locator("#listener-featured img, #listener-featured script").count() == 0
    for card in (story, hostile):
        assert card.is_visible()
    page.clean()
    p.locator("#listener-featured").screenshot(path=str(shots / "widget.png"))
    box = p.locator("#listener-featured").bounding_box()
    assert box is not None
    width, height, variety = png_facts(shots / "widget.png")
    assert abs(width - box["width"]) <= 1  # the element, to the pixel (rounding aside)
    assert abs(height - box["height"]) <= 1
    assert height > 40
    assert variety > 32  # text was drawn: not a blank rectangle


def test_a_curator_secures_a_collected_story_and_it_appears_in_the_widget(
    browser: Any, world: World, tmp_path: Path
) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    collect_and_analyse(world)

    with listener(["serve", "--port", "0"], world.env, tmp_path) as service:
        app = service.wait_for_url().rstrip("/")
        context = browser.new_context(locale="fr-FR")
        try:
            page = Watched(context.new_page())
            sign_in(page, app)
            ids = work_the_queue(page, app, shots)

            request_rights(page, app, ids["story"], "salma_cuisine")
            request_rights(page, app, ids["hostile"], "pwn3r")
            check_hostile_story_page(page)

            consent_arrives(world)

            feature(page, app, ids["hostile"], HOSTILE_NAME, f"https://x.com/pwn3r/status/{PWNER_YES}")
            check_hostile_story_page(page)
            feature(page, app, ids["story"], "Salma Benali", f"https://x.com/salma_cuisine/status/{SALMA_YES}")
            page.page.screenshot(path=str(shots / "story.png"), full_page=True)
            assert page.page.locator("blockquote.post-text").is_visible()
            assert page.page.locator("blockquote.post-text").inner_text() == STORY
        finally:
            context.close()

        # A visitor of the campaign site: another origin, no cookie of the app.
        visitor = browser.new_context(locale="fr-FR")
        try:
            with campaign_site(world.loop, app) as site:
                check_widget(Watched(visitor.new_page()), site, shots)
        finally:
            visitor.close()
        assert service.stop(signal.SIGTERM) == 0, service.text

    for name in ("queue.png", "story.png"):
        width, height, variety = png_facts(shots / name)
        assert width > 300
        assert height > 300
        assert variety > 32, name
