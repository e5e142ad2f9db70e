"""`forget_author` on real recorded payloads of Mastodon (rtoot's #rstats timeline) and Bluesky (bskyr's
searchPosts page, with replies and quotes among other people's posts): after the erasure no table holds the
author's account id, handle, post ids or texts, and everyone else's posts are still there. Both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs.services import Services
from listener.parsers.bluesky import parse_search
from listener.parsers.mastodon import parse_statuses
from listener.post import Post
from storage.models import Post as PostRow
from storage.repositories.ingest import ingest
from storage.repositories.privacy import forget_author, resolve_author
from tests.listener.cassettes import load_cassette
from tests.storage.stories_setup import NOW
from tests.storage.test_privacy_forget import traces_of

pytestmark = pytest.mark.corpora


def _mastodon(corpora: Path) -> list[Post]:
    [recorded] = load_cassette(corpora / "rtoot-fixtures" / "get_timeline_hashtag_default.yml")
    return parse_statuses(recorded.json(), query="#rstats", instance="https://fosstodon.org").posts


def _bluesky(corpora: Path) -> list[Post]:
    [recorded] = load_cassette(corpora / "bskyr-vcr" / "f_search.yml")
    return parse_search(recorded.json(), query="redistricting").posts


@pytest.mark.parametrize(
    ("platform", "load", "handle", "quotes"),
    [
        ("mastodon", _mastodon, "zkamvar@hachyderm.io", 0),
        ("bluesky", _bluesky, "mcpli.bsky.social", 1),  # stemgal.bsky.social's post quotes one of theirs
    ],
)
async def test_forget_on_recorded_posts(
    services: Services, corpora: Path, platform: str, load: object, handle: str, quotes: int
) -> None:
    posts: list[Post] = load(corpora)  # type: ignore[operator]
    async with services.sessions.begin() as session:
        await ingest(session, posts, campaign_ids=[services.campaign_ids["lovelocal"]])
    theirs = [p for p in posts if p.author.handle == handle]
    author = theirs[0].author
    needles = (author.platform_id, handle, *(p.platform_id for p in theirs), *(p.text[:60] for p in theirs if p.text))
    assert await traces_of(services, needles)

    async with services.sessions.begin() as session:
        found = await resolve_author(session, platform, handle=f"@{handle.upper()}")
        assert found.platform_id == author.platform_id
        result = await forget_author(session, found, key=services.pseudonym_key(), now=NOW)

    assert result.counts["posts"] == len(theirs)
    assert result.counts.get("quotes_stripped", 0) == quotes  # kept, without the embedded original
    assert await traces_of(services, needles) == []
    async with services.sessions() as session:
        left = await session.scalar(select(func.count()).select_from(PostRow))
    assert left == len({p.platform_id for p in posts}) - len(theirs)
