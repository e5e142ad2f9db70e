"""RssCollector end to end: feeds served by a loopback web server, rows in real databases (SQLite and
PostgreSQL).

The corpora hold no feeds, so the feeds are written here in the real formats (RSS 2.0 with guid, pubDate
and content:encoded; Atom with id and updated). What is checked: conditional GETs (an unchanged feed is a
304 that stores nothing), the campaign filter (hashtags, keywords, excluded terms; only the visible text
counts, never a script), and hostile or broken feeds going to the quarantine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from jobs.collect import SourceResult, collect
from jobs.services import Services
from listener.collectors.rss import RssCollector
from listener.http import RetryPolicy
from listener.session import make_session
from service.settings import Settings
from storage.models import Post, Quarantine, Source
from storage.repositories.ingest import load_checkpoint
from tests.listener.upstream import Reply, Upstream

FEED = "/actualites/feed.xml"
ATOM_FEED = "/blog/atom.xml"
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
ETAG = '"5f3e-1731747600"'
LAST_MODIFIED = "Mon, 16 Nov 2026 09:00:00 GMT"
CONFIG = """
[campaigns.lovelocal]
name = "#LoveLocal"
hashtags = ["LoveLocal"]
keywords = ["boulangerie"]
excluded = ["giveaway"]
languages = ["fr", "ar"]
"""
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, timeout=1.0)


def item(guid: str, title: str, html: str, date: str = "Mon, 16 Nov 2026 08:00:00 +0100") -> str:
    return f"""
    <item>
      <title>{title}</title>
      <link>https://journal.example/{guid}</link>
      <guid isPermaLink="false">{guid}</guid>
      <pubDate>{date}</pubDate>
      <dc:creator>Rédaction</dc:creator>
      <description>{title}</description>
      <content:encoded><![CDATA[{html}]]></content:encoded>
    </item>"""


def rss(*items: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Le Journal du Quartier</title>
    <link>https://journal.example/</link>
    <description>Actualités locales</description>
    <language>fr</language>{"".join(items)}
  </channel>
</rss>
""".encode()


HASHTAG = item("a-1", "Les commerçants du centre", "<p>Samedi, tout le quartier fête le <b>#LoveLocal</b>.</p>")
KEYWORD = item("a-2", "La Boulangerie des Trois Épis rouvre", "<p>Après travaux, le four est rallumé.</p>")
ARABIC = item("a-3", "دعم المتاجر الصغيرة", "<p>حملة #lovelocal في الدار البيضاء</p>")
OTHER = item("a-4", "Travaux rue de la Gare", "<p>La circulation sera coupée lundi.</p>")
EXCLUDED = item("a-5", "Grand giveaway #LoveLocal", "<p>Gagnez un panier garni.</p>")
SCRIPT_ONLY = item(
    "a-6",
    "Résultats sportifs",
    "<p>Le club a gagné.</p><script>var tags = ['#LoveLocal', 'boulangerie'];</script>",
)
SCRIPTED = item(
    "a-7",
    "Marché de Noël",
    '<p>Soutenez le <a href="https://lovelocal.example/">#LoveLocal</a>'
    "<script>document.write('<img src=https://tracker.example/p.gif>')</script>"
    "<style>.ad{display:block} /* giveaway */</style> ce week-end.</p>",
)
MATCHING = {"a-1", "a-2", "a-3"}


# --- the fake site and the services pointed at it -------------------------------------------------------


@pytest.fixture
async def site() -> AsyncIterator[Upstream]:
    async with Upstream() as server:
        yield server


@pytest.fixture
def settings(db_url: str, settings_for, site: Upstream, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    config = tmp_path / "listener.toml"
    config.write_text(CONFIG, encoding="utf-8")
    built: Settings = settings_for(
        db_url,
        LISTENER_CONFIG=str(config),
        LISTENER_RSS_FEEDS=f"{site.url}{FEED}",
        LISTENER_X_ENABLED="false",
        LISTENER_MASTODON_ENABLED="false",
        LISTENER_BLUESKY_ENABLED="false",
        LISTENER_INSTAGRAM_ENABLED="false",
    )
    return built


async def run_rss(services: Services) -> SourceResult:
    settings = services.settings
    async with make_session(settings.sources) as http:
        [result] = await collect(services, collectors=[RssCollector(settings.sources.rss, http, policy=FAST)])
    return result


async def source_row(services: Services) -> Source:
    async with services.sessions() as session:
        source = await session.scalar(select(Source).where(Source.name == "rss"))
    assert source is not None
    return source


async def checkpoint(services: Services, url: str) -> dict[str, Any] | None:
    source = await source_row(services)
    async with services.sessions() as session:
        return await load_checkpoint(session, source.id, services.campaign_ids["lovelocal"], f"feed:{url}")


async def stored(services: Services) -> dict[str, Post]:
    """Stored RSS posts by their entry guid."""
    async with services.sessions() as session:
        rows = list((await session.execute(select(Post).where(Post.platform == "rss"))).scalars())
    by_guid = {str((p.raw or {})["id"]): p for p in rows}
    assert len(by_guid) == len(rows)
    return by_guid


def feed_reply(body: bytes, etag: str = ETAG, last_modified: str = LAST_MODIFIED) -> Reply:
    return Reply(body=body, content_type=RSS_TYPE, headers={"ETag": etag, "Last-Modified": last_modified})


# --- conditional GET ------------------------------------------------------------------------------------


async def test_an_unchanged_feed_is_a_304_that_stores_nothing(services: Services, site: Upstream) -> None:
    url = f"{site.url}{FEED}"
    site.script(FEED, feed_reply(rss(HASHTAG, KEYWORD, OTHER)))

    first = await run_rss(services)

    assert (first.status, first.pages, first.new) == ("ok", 1, 2)
    [request] = site.requests
    assert "If-None-Match" not in request.headers
    assert "If-Modified-Since" not in request.headers
    assert "application/rss+xml" in request.headers["Accept"]
    assert set(await stored(services)) == {"a-1", "a-2"}
    assert await checkpoint(services, url) == {"etag": ETAG, "last_modified": LAST_MODIFIED}

    site.script(FEED, Reply(status=304, headers={"ETag": ETAG}))
    unchanged = await run_rss(services)

    assert (unchanged.status, unchanged.pages, unchanged.new, unchanged.unchanged) == ("ok", 0, 0, 0)
    conditional = site.requests[1]
    assert conditional.headers["If-None-Match"] == ETAG
    assert conditional.headers["If-Modified-Since"] == LAST_MODIFIED
    assert set(await stored(services)) == {"a-1", "a-2"}
    assert await checkpoint(services, url) == {"etag": ETAG, "last_modified": LAST_MODIFIED}

    newer_etag, newer_date = '"5f3e-1731751200"', "Mon, 16 Nov 2026 10:00:00 GMT"
    site.script(FEED, feed_reply(rss(ARABIC, HASHTAG, KEYWORD, OTHER), newer_etag, newer_date))
    changed = await run_rss(services)

    assert (changed.status, changed.new, changed.unchanged) == ("ok", 1, 2)
    assert site.requests[2].headers["If-None-Match"] == ETAG
    assert set(await stored(services)) == MATCHING
    assert await checkpoint(services, url) == {"etag": newer_etag, "last_modified": newer_date}


async def test_a_feed_without_validators_is_fetched_whole_each_time(services: Services, site: Upstream) -> None:
    site.set_default(Reply(body=rss(HASHTAG), content_type=RSS_TYPE), FEED)

    await run_rss(services)
    again = await run_rss(services)

    assert (again.status, again.new, again.unchanged) == ("ok", 0, 1)
    assert "If-None-Match" not in site.requests[1].headers
    assert "If-Modified-Since" not in site.requests[1].headers
    assert await checkpoint(services, f"{site.url}{FEED}") == {}


# --- the campaign filter and HTML -----------------------------------------------------------------------


async def test_entries_are_kept_by_hashtag_or_keyword_and_dropped_by_excluded_terms(
    services: Services, site: Upstream
) -> None:
    site.script(FEED, feed_reply(rss(HASHTAG, KEYWORD, ARABIC, OTHER, EXCLUDED)))

    result = await run_rss(services)

    assert (result.status, result.new, result.quarantined) == ("ok", 3, 0)
    posts = await stored(services)
    assert set(posts) == MATCHING
    hashtag = posts["a-1"]
    assert hashtag.text == "Les commerçants du centre\n\nSamedi, tout le quartier fête le #LoveLocal."
    assert hashtag.url == "https://journal.example/a-1"
    assert hashtag.query == "#LoveLocal OR boulangerie"
    assert posts["a-3"].text == "دعم المتاجر الصغيرة\n\nحملة #lovelocal في الدار البيضاء"  # case-folded match
    async with services.sessions() as session:
        authors = set((await session.execute(select(Post.author_id))).scalars())
    assert len(authors) == 1  # the feed is the author


async def test_html_and_scripts_never_reach_the_text_nor_the_filter(services: Services, site: Upstream) -> None:
    site.script(FEED, feed_reply(rss(SCRIPT_ONLY, SCRIPTED)))

    result = await run_rss(services)

    assert (result.status, result.new) == ("ok", 1)
    posts = await stored(services)
    assert set(posts) == {"a-7"}  # a-6 names the campaign only inside a script
    text = posts["a-7"].text
    assert text.startswith("Marché de Noël\n\nSoutenez le #LoveLocal ce week-end.")
    for hidden in ("document.write", "tracker.example", "display:block", "<", ">"):
        assert hidden not in text
    assert "https://lovelocal.example/" in posts["a-7"].urls


# --- hostile and broken feeds ---------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY a "#LoveLocal #LoveLocal #LoveLocal #LoveLocal #LoveLocal #LoveLocal #LoveLocal #LoveLocal">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
  <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
  <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<rss version="2.0"><channel><title>bomb</title>
<item><guid>1</guid><title>&g;</title></item></channel></rss>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>xxe</title>
<item><guid>1</guid><title>#LoveLocal</title><description>&secret;</description></item></channel></rss>
"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, rss(HASHTAG)[:200]], ids=["bomb", "xxe", "cut"])
async def test_a_hostile_or_broken_feed_is_quarantined_unexpanded(
    services: Services, site: Upstream, body: bytes
) -> None:
    site.script(FEED, feed_reply(body))

    result = await run_rss(services)

    assert (result.status, result.quarantined, result.new) == ("degraded", 1, 0)
    async with services.sessions() as session:
        [row] = list((await session.execute(select(Quarantine))).scalars())
    assert (row.source, row.platform) == ("rss", "rss")
    assert row.payload == body.decode()  # the document as sent, not expanded
    assert "root:" not in row.payload
    assert "not a readable RSS or Atom document" in row.error
    assert await stored(services) == {}
    assert (await source_row(services)).status == "degraded"
    assert not await checkpoint(services, f"{site.url}{FEED}")  # no validators kept: fetched whole next time


async def test_an_atom_feed_and_an_entry_without_id(
    services: Services,
    settings_for,
    db_url: str,
    tmp_path: Path,
    site: Upstream,  # type: ignore[no-untyped-def]
) -> None:
    atom = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Blog des commerçants</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-11-16T10:00:00Z</updated>
  <entry>
    <title>Notre boulangerie préférée</title>
    <link href="https://blog.example/boulangerie"/>
    <id>tag:blog.example,2026:1</id>
    <updated>2026-11-16T09:45:00+01:00</updated>
    <content type="html">&lt;p&gt;Merci à tous &lt;em&gt;#LoveLocal&lt;/em&gt;&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>#LoveLocal sans identifiant</title>
    <updated>2026-11-16T09:00:00Z</updated>
  </entry>
</feed>
""".encode()
    site.script(ATOM_FEED, Reply(body=atom, content_type=ATOM_TYPE, headers={"ETag": 'W/"atom-1"'}))
    config = tmp_path / "atom.toml"
    config.write_text(CONFIG, encoding="utf-8")
    settings: Settings = settings_for(db_url, LISTENER_CONFIG=str(config), LISTENER_RSS_FEEDS=f"{site.url}{ATOM_FEED}")
    services = Services(settings=settings, engine=services.engine, sessions=services.sessions,
                        campaign_ids=services.campaign_ids)  # fmt: skip

    result = await run_rss(services)

    assert (result.status, result.new, result.quarantined) == ("ok", 1, 1)
    [post] = (await stored(services)).values()
    assert post.text == "Notre boulangerie préférée\n\nMerci à tous #LoveLocal"
    assert post.url == "https://blog.example/boulangerie"
    async with services.sessions() as session:
        [row] = list((await session.execute(select(Quarantine))).scalars())
    assert "no guid, id or link" in row.error
    assert "sans identifiant" in row.payload
    assert await checkpoint(services, f"{site.url}{ATOM_FEED}") == {"etag": 'W/"atom-1"'}
