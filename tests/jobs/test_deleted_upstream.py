"""Posts deleted on their platform are deleted here by the engagement refresh, on real databases against the
loopback fakes of each platform, with recorded payloads.

Only a definite "not found" counts: X's `resource-not-found` lookup error (the recorded twarc error object,
whose lookup parameter is `ids` here), Mastodon's 410 and its JSON 404, a Bluesky record answering
`RecordNotFound`, Instagram's error 100 naming the ids that "do not exist". An outage, a refused token, a
rate limit, a suspended or protected account, an HTML 404 from a proxy, a deactivated repository: the post
stays.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from jobs.refresh import refresh_source
from jobs.services import Services
from listener.collectors.bluesky import BlueskyCollector
from listener.collectors.instagram import InstagramCollector
from listener.collectors.mastodon import MastodonCollector
from listener.parsers.bluesky import parse_search
from listener.parsers.instagram import parse_media_page
from listener.parsers.mastodon import parse_statuses
from listener.post import Post
from listener.session import make_session
from service.settings import Settings
from storage.models import Post as PostRow
from storage.models import PrivacyErasure, Report
from storage.repositories._sql import utcnow
from storage.repositories.ingest import ingest
from tests.listener.cassettes import load_cassette
from tests.listener.test_bluesky_collector import CREATE, PASSWORD, session_reply
from tests.listener.test_x_collector import FAST, TOO_MANY, run_x, settings, stored_posts, twarc, x_api  # noqa: F401
from tests.listener.test_x_refresh import LOOKUP, _make_recent, _refresh
from tests.listener.upstream import Reply, Upstream

pytestmark = pytest.mark.corpora


@pytest.fixture
def not_found(corpora: Path) -> Callable[[str], dict[str, Any]]:
    """X's recorded "Could not find tweet" error (twarc users.jsonl), for a tweet of the `ids` parameter."""
    with (corpora / "twarc-csv-test-data" / "users.jsonl").open(encoding="utf-8") as handle:
        recorded = json.loads(handle.readline())["errors"][0]
    assert recorded["title"] == "Not Found Error"

    def build(tweet_id: str) -> dict[str, Any]:
        return {
            **recorded,
            "value": tweet_id,
            "resource_id": tweet_id,
            "parameter": "ids",
            "detail": f"Could not find tweet with ids: [{tweet_id}].",
        }

    return build


@pytest.fixture
def suspended(corpora: Path) -> dict[str, Any]:
    """X's recorded error for a suspended account (twarc kpop.jsonl): resource-not-found, titled Forbidden."""
    with (corpora / "twarc-csv-test-data" / "kpop.jsonl").open(encoding="utf-8") as handle:
        error: dict[str, Any] = json.loads(handle.readline())["errors"][0]
    assert error["title"] == "Forbidden"
    return error


async def _erasures(services: Services) -> list[PrivacyErasure]:
    async with services.sessions() as session:
        return list((await session.scalars(select(PrivacyErasure))).all())


async def _add_report(services: Services, keys: list[str]) -> None:
    async with services.sessions.begin() as session:
        campaign = next(iter(services.campaign_ids.values()))
        rows = [{"post_key": k} for k in keys]
        session.add(Report(campaign_id=campaign, week="2026-W47", definitions_version="1", generated_at=utcnow(),
                           data={"top_posts": rows}))  # fmt: skip


# --- X ------------------------------------------------------------------------------------------------------


async def test_x_a_deleted_tweet_and_its_retweets_go(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], not_found: Callable[[str], Any]
) -> None:
    page = twarc("two_tweets", last=True)
    x_api.script("/2/tweets/search/recent", Reply.json(page))
    await run_x(services)
    before = await stored_posts(services)
    [original] = [pid for pid, p in before.items() if p.repost_of_id is None]
    [retweet] = [pid for pid, p in before.items() if p.repost_of_id == original]
    await _make_recent(services, days=1)
    await _add_report(services, [f"x:{original}", f"x:{retweet}", "x:1"])
    x_api.script(LOOKUP, Reply.json({"errors": [not_found(original)]}))

    figures = await _refresh(services)

    assert figures["status"] == "ok"
    assert figures["gone"] == 2  # the retweet carries the deleted text: it goes with it
    assert await stored_posts(services) == {}
    [audit] = await _erasures(services)
    assert (audit.kind, audit.platform, audit.actor, audit.subject) == ("deleted_upstream", "x", "job:refresh", None)
    assert audit.counts["posts"] == 2
    assert audit.counts["report_rows"] == 2
    async with services.sessions() as session:
        report = await session.scalar(select(Report))
    assert report is not None
    assert report.data == {"top_posts": [{"post_key": "x:1"}], "redactions": 2}


async def test_x_only_a_definite_not_found_counts(
    services: Services,
    x_api: Upstream,
    twarc: Callable[..., dict[str, Any]],
    not_found: Callable[[str], Any],
    suspended: dict[str, Any],
) -> None:
    page = twarc("brexit", last=True)
    x_api.script("/2/tweets/search/recent", Reply.json(page))
    await run_x(services)
    before = await stored_posts(services)
    reposted = {p.repost_of_id for p in before.values() if p.repost_of_id}
    originals = sorted(pid for pid, p in before.items() if p.repost_of_id is None)
    deleted = next(pid for pid in originals if pid in reposted)  # one with retweets stored
    protected, silent = [pid for pid in originals if pid != deleted][:2]
    await _make_recent(services, days=1)
    tweets = {t["id"]: t for t in page["data"] + page["includes"]["tweets"]}
    unauthorized = {
        "value": protected,
        "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{protected}].",
        "title": "Authorization Error",
        "resource_type": "tweet",
        "parameter": "ids",
        "resource_id": protected,
        "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
    }
    lookup = {
        "data": [tweets[pid] for pid in originals if pid not in (deleted, protected, silent)],
        "includes": copy.deepcopy(page["includes"]),
        "errors": [not_found(deleted), unauthorized, suspended, not_found("1")],  # "1": never asked for
    }
    x_api.script(LOOKUP, Reply.json(lookup))

    figures = await _refresh(services)

    retweets = {pid for pid, p in before.items() if p.repost_of_id == deleted}
    assert retweets
    assert figures["gone"] == 1 + len(retweets)
    assert set(await stored_posts(services)) == set(before) - {deleted} - retweets  # protected, silent: kept


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param([Reply(503)] * 3, id="outage"),
        pytest.param([Reply.json({"title": "Unauthorized", "status": 401}, status=401)], id="token refused"),
        pytest.param([Reply.json(TOO_MANY, status=429, headers={"x-rate-limit-remaining": "0"})], id="rate limit"),
    ],
)
async def test_x_no_answer_deletes_nothing(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], answer: list[Reply]
) -> None:
    x_api.script("/2/tweets/search/recent", Reply.json(twarc("two_tweets", last=True)))
    await run_x(services)
    before = set(await stored_posts(services))
    await _make_recent(services, days=1)
    x_api.script(LOOKUP, *answer)

    figures = await _refresh(services)

    assert figures["status"] != "ok"
    assert "gone" not in figures
    assert set(await stored_posts(services)) == before
    assert await _erasures(services) == []


async def test_x_the_rule_can_be_switched_off(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], not_found: Callable[[str], Any]
) -> None:
    x_api.script("/2/tweets/search/recent", Reply.json(twarc("two_tweets", last=True)))
    await run_x(services)
    before = await stored_posts(services)
    [original] = [pid for pid, p in before.items() if p.repost_of_id is None]
    await _make_recent(services, days=1)
    x_api.script(LOOKUP, Reply.json({"errors": [not_found(original)]}))
    retention = services.settings.retention.model_copy(update={"remove_deleted_upstream": False})
    services.settings = replace(services.settings, retention=retention)

    figures = await _refresh(services)

    assert "gone" not in figures
    assert set(await stored_posts(services)) == set(before)


# --- the other platforms: a plain loopback server each ------------------------------------------------------


@pytest.fixture
async def platform() -> AsyncIterator[Upstream]:
    async with Upstream() as server:
        yield server


async def _store(services: Services, posts: list[Post]) -> None:
    async with services.sessions.begin() as session:
        await ingest(session, posts, campaign_ids=[next(iter(services.campaign_ids.values()))])
        # Recent: inside the refresh window, newest first in the recorded order.
        for n, post in enumerate(posts):
            await session.execute(
                update(PostRow)
                .where(PostRow.platform_id == post.platform_id)
                .values(created_at=utcnow() - timedelta(hours=1 + n))
            )


async def _stored(services: Services, platform: str) -> set[str]:
    async with services.sessions() as session:
        return set(await session.scalars(select(PostRow.platform_id).where(PostRow.platform == platform)))


async def test_mastodon_410_and_json_404_are_gone_an_html_404_is_not(
    services: Services, platform: Upstream, corpora: Path, settings_for: Callable[..., Settings], db_url: str
) -> None:
    [recorded] = load_cassette(corpora / "rtoot-fixtures" / "get_timeline_hashtag_default.yml")
    statuses = recorded.json()
    posts = parse_statuses(statuses, query="#rstats", instance=platform.url).posts
    originals = [p for p in posts if p.repost_of_id is None]
    assert len(originals) >= 4
    await _store(services, originals)
    by_uri = {s["uri"]: s for s in statuses}
    record_gone, gone_410, proxy_404 = (by_uri[p.platform_id] for p in originals[1:4])
    for status in statuses:  # each status answers as itself...
        platform.set_default(Reply.json(status), f"/api/v1/statuses/{status['id']}")
    # ...but these: Mastodon's own 404 (its JSON error body), a 410, and a proxy's HTML 404 page.
    platform.set_default(Reply.json({"error": "Record not found"}, status=404), f"/api/v1/statuses/{record_gone['id']}")
    platform.set_default(Reply.json({"error": "Gone"}, status=410), f"/api/v1/statuses/{gone_410['id']}")
    html = Reply(404, "<html><body>404 Not Found</body></html>", content_type="text/html")
    platform.set_default(html, f"/api/v1/statuses/{proxy_404['id']}")

    settings = settings_for(db_url, LISTENER_MASTODON_INSTANCES=platform.url)
    async with make_session(settings.sources) as http:
        collector = MastodonCollector(settings.sources.mastodon, None, http, policy=FAST)
        figures = await refresh_source(services, collector)

    assert figures["status"] == "ok"
    assert figures["gone"] == 2
    assert await _stored(services, "mastodon") == {p.platform_id for p in originals} - {
        record_gone["uri"],
        gone_410["uri"],
    }


async def test_mastodon_an_outage_deletes_nothing(
    services: Services, platform: Upstream, corpora: Path, settings_for: Callable[..., Settings], db_url: str
) -> None:
    [recorded] = load_cassette(corpora / "rtoot-fixtures" / "get_timeline_hashtag_default.yml")
    originals = [p for p in parse_statuses(recorded.json(), instance=platform.url).posts if p.repost_of_id is None]
    await _store(services, originals)
    platform.set_default(Reply(503, "upstream down", content_type="text/plain"))
    settings = settings_for(db_url, LISTENER_MASTODON_INSTANCES=platform.url)
    async with make_session(settings.sources) as http:
        figures = await refresh_source(services, MastodonCollector(settings.sources.mastodon, None, http, policy=FAST))
    assert figures["status"] == "SourceUnavailable"
    assert await _stored(services, "mastodon") == {p.platform_id for p in originals}
    assert await _erasures(services) == []


async def test_bluesky_a_missing_record_is_gone_a_deactivated_repository_is_not(
    services: Services, platform: Upstream, corpora: Path, settings_for: Callable[..., Settings], db_url: str
) -> None:
    [recorded] = load_cassette(corpora / "bskyr-vcr" / "f_search.yml")
    found = recorded.json()
    posts = parse_search(found, query="#redistricting").posts
    await _store(services, posts)
    omitted = {posts[3].platform_id, posts[7].platform_id}
    lookup = {"posts": [p for p in found["posts"] if p["uri"] not in omitted]}
    platform.script(CREATE, session_reply(1))
    platform.script("/xrpc/app.bsky.feed.getPosts", Reply.json(lookup, headers=dict(recorded.headers)))
    record = "/xrpc/com.atproto.repo.getRecord"
    platform.script(
        record,
        Reply.json({"error": "RecordNotFound", "message": "Could not locate record"}, status=400),
        Reply.json({"error": "RepoDeactivated", "message": "Repo has been deactivated"}, status=400),
    )
    settings = settings_for(
        db_url,
        LISTENER_BLUESKY_BASE_URL=platform.url,
        LISTENER_BLUESKY_HANDLE="lovelocal-listener.bsky.social",
        LISTENER_BLUESKY_APP_PASSWORD=PASSWORD,
    )
    async with make_session(settings.sources) as http:
        collector = BlueskyCollector(
            settings.sources.bluesky, settings.secrets.get("bluesky_app_password"), http, policy=FAST
        )
        figures = await refresh_source(services, collector)

    first, second = platform.requests_to(record)
    assert "Authorization" not in first.headers  # a public read
    deleted = f"at://{first.params['repo']}/{first.params['collection']}/{first.params['rkey']}"
    deactivated = f"at://{second.params['repo']}/{second.params['collection']}/{second.params['rkey']}"
    assert {deleted, deactivated} == omitted
    assert figures["gone"] == 1
    assert await _stored(services, "bluesky") == {p.platform_id for p in posts} - {deleted}


async def test_instagram_ids_that_do_not_exist_are_gone_and_the_rest_refreshed(
    services: Services, platform: Upstream, corpora: Path, settings_for: Callable[..., Settings], db_url: str
) -> None:
    page = json.loads((corpora / "python-facebook-instagram" / "hashtag_recent_medias_p1.json").read_text("utf-8"))
    posts = parse_media_page(page, datetime.now(UTC), query="#developers").posts
    await _store(services, posts)
    missing = posts[1].platform_id
    error = {
        "message": f"(#100) Some of the aliases you requested do not exist: {missing}",
        "type": "OAuthException",
        "code": 100,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    fresh = {m["id"]: {**m, "like_count": 99} for m in page["data"] if m["id"] != missing}
    platform.script("/v21.0/", Reply.json({"error": error}, status=400), Reply.json(fresh))
    settings = settings_for(
        db_url,
        LISTENER_INSTAGRAM_BASE_URL=f"{platform.url}/v21.0",
        LISTENER_INSTAGRAM_BUSINESS_ACCOUNT_ID="17841400000000000",
        LISTENER_INSTAGRAM_ACCESS_TOKEN="instagram-test-token-0123456789",
    )
    async with make_session(settings.sources) as http:
        token = settings.secrets.get("instagram_access_token")
        collector = InstagramCollector(settings.sources.instagram, token, http, ["developers"], policy=FAST)
        figures = await refresh_source(services, collector)

    first, second = platform.requests_to("/v21.0/")
    assert missing in first.params["ids"].split(",")
    assert second.params["ids"].split(",") == [p.platform_id for p in posts if p.platform_id != missing]
    assert figures["gone"] == 1
    assert figures["updated"] == len(posts) - 1
    assert await _stored(services, "instagram") == {p.platform_id for p in posts} - {missing}


async def test_instagram_an_unreadable_object_is_not_taken_as_deleted(
    services: Services, platform: Upstream, corpora: Path, settings_for: Callable[..., Settings], db_url: str
) -> None:
    page = json.loads((corpora / "python-facebook-instagram" / "hashtag_recent_medias_p1.json").read_text("utf-8"))
    posts = parse_media_page(page, datetime.now(UTC)).posts
    await _store(services, posts)
    ambiguous = {
        "message": f"Unsupported get request. Object with ID '{posts[0].platform_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        "type": "GraphMethodException",
        "code": 100,
        "error_subcode": 33,
    }
    platform.script("/v21.0/", Reply.json({"error": ambiguous}, status=400))
    settings = settings_for(
        db_url,
        LISTENER_INSTAGRAM_BASE_URL=f"{platform.url}/v21.0",
        LISTENER_INSTAGRAM_BUSINESS_ACCOUNT_ID="17841400000000000",
        LISTENER_INSTAGRAM_ACCESS_TOKEN="instagram-test-token-0123456789",
    )
    async with make_session(settings.sources) as http:
        token = settings.secrets.get("instagram_access_token")
        collector = InstagramCollector(settings.sources.instagram, token, http, ["developers"], policy=FAST)
        figures = await refresh_source(services, collector)
    assert figures["status"] == "SourceUnavailable"
    assert await _stored(services, "instagram") == {p.platform_id for p in posts}
