"""Shared setup for the curator page and API tests: the real app on a loopback socket, real users signed in
through POST /api/session, and real stories made by the real pipeline (posts ingested into a campaign,
analyses saved through the analyses repository, then the stories job run), all dated relative to now so
the job's lookback window and the public feed's "featured now" hold whatever day the tests run.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import aiohttp.test_utils as aiotest
from aiohttp import ClientResponse, web
from sqlalchemy import select

from jobs import stories as stories_job
from jobs.services import Services
from listener.post import Author, Post
from storage.models import Post as PostRow
from storage.models import Story
from storage.passwords import hash_password
from storage.repositories._sql import utcnow
from storage.repositories.ingest import ingest
from storage.repositories.users import Role, add_user
from tests.factories import make_post
from tests.storage.stories_setup import Analysed, add_merchant, store
from web.app import create_app

PASSWORD = "correct horse battery staple"
HASH = hash_password(PASSWORD)  # one Argon2id hash for the module: hashing is deliberately slow
HOSTILE = "<script>window.__pwned=1</script><img src=x onerror=alert(2)>"
Client = aiotest.TestClient[web.Request, web.Application]


@asynccontextmanager
async def client_for(services: Services) -> AsyncIterator[Client]:
    async with aiotest.TestClient(aiotest.TestServer(create_app(services), host="127.0.0.1")) as client:
        yield client


async def make_user(services: Services, email: str, role: Role = Role.CURATOR, locale: str | None = None) -> int:
    async with services.sessions.begin() as session:
        merchant_ids = [await add_merchant(session, f"Shop of {email}")] if role is Role.MERCHANT else []
        user = await add_user(session, email, role, HASH, merchant_ids)
        user.locale = locale
        return user.id


async def sign_in(client: Client, email: str) -> str:
    """Sign in through the API; returns the session's CSRF token (the cookie stays in the client)."""
    response = await client.post("/api/session", json={"email": email, "password": PASSWORD})
    assert response.status == 200, await response.text()
    return str((await response.json())["csrf_token"])


def csrf_in(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match.group(1)


@dataclass
class Seeded:
    """What `seed` made: story ids by name, the merchants, the posts (to reply to)."""

    stories: dict[str, int]
    posts: dict[str, Post]
    merchant_id: int
    opted_out_id: int


def recent(hours: float) -> datetime:
    return utcnow() - timedelta(hours=hours)


async def run_pipeline(services: Services, items: Sequence[tuple[Post, Analysed | None]]) -> dict[str, int]:
    """Store the posts in #LoveLocal, run the stories job now; returns platform id -> story id."""
    async with services.sessions.begin() as session:
        await store(session, services.campaign_ids["lovelocal"], items)
    await stories_job.run(services)
    async with services.sessions() as session:
        rows = await session.execute(select(PostRow.platform_id, Story.id).join(Story, Story.post_id == PostRow.id))
        return {str(pid): int(sid) for pid, sid in rows.all()}


async def seed(services: Services) -> Seeded:
    """A small real queue: good stories (one about an opted-out shop, one hostile), a duplicate, a complaint."""
    async with services.sessions.begin() as session:
        merchant = await add_merchant(session, "Boulangerie Amal", city="Casablanca", region="MENA")
        opted_out = await add_merchant(session, "Épicerie Discrète", opt_out=True, city="Rabat")
    hostile_author = Author(platform_id="u-hostile", handle="hostile", display_name=HOSTILE)
    posts = {
        "good": make_post(
            9001, text="J'adore la Boulangerie Amal, merci pour l'accueil ! #LoveLocal", created_at=recent(5)
        ),
        "english": make_post(
            9002, text="I love my corner bakery, thank you! #LoveLocal", created_at=recent(6), language_hint="en"
        ),
        "opted_out": make_post(
            9003, text="Merci à l'Épicerie Discrète, je recommande ! #LoveLocal", created_at=recent(7)
        ),
        "hostile": make_post(9004, text=HOSTILE + " #LoveLocal", author=hostile_author, created_at=recent(8)),
        "arabic": make_post(
            9005, text="شكرا لمخبزة أمل، أنصح بها! #LoveLocal", created_at=recent(9), language_hint="ar"
        ),
        "complaint": make_post(9006, text="Très déçu, je ne recommande pas. #LoveLocal", created_at=recent(10)),
    }
    posts["duplicate"] = replace(posts["good"], platform_id="1009007", url="https://example.test/status/9007",
                                 created_at=recent(4), author=make_post(9007).author)  # fmt: skip
    items = [
        (posts["good"], Analysed(merchant_id=merchant)),
        (posts["english"], Analysed(language="en", merchant_id=merchant)),
        (posts["opted_out"], Analysed(merchant_id=opted_out)),
        (posts["hostile"], Analysed()),
        (posts["arabic"], Analysed(language="ar", merchant_id=merchant)),
        (posts["complaint"], Analysed(sentiment="negative", sentiment_score=-0.7)),
        (posts["duplicate"], Analysed(merchant_id=merchant)),
    ]
    ids = await run_pipeline(services, items)
    return Seeded({name: ids[post.platform_id] for name, post in posts.items()}, posts, merchant, opted_out)


async def consent_reply(services: Services, to: Post, text: str, n: int) -> None:
    """The author's reply to `to`, collected like any post (ingested into the campaign)."""
    reply = replace(make_post(n, text=text, author=to.author, created_at=utcnow()), reply_to_id=to.platform_id)
    async with services.sessions.begin() as session:
        await ingest(session, [reply], campaign_ids=[services.campaign_ids["lovelocal"]])


class PageText(HTMLParser):
    """The tags and the visible text of a page (entities decoded)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.parts: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


# --- requests and pages ---------------------------------------------------------------------------------


async def curator(services: Services, client: Client, email: str = "curator@example.org") -> dict[str, str]:
    """Sign a curator in; returns the headers an API client sends on unsafe methods."""
    await make_user(services, email)
    return {"X-CSRF-Token": await sign_in(client, email)}


async def error_of(response: ClientResponse, status: int) -> str:
    """The API error's message, after checking the status and that the body is exactly {"error": ...}."""
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    return str(body["error"])


async def signed_in_curator(services: Services, client: Client, locale: str | None = None) -> str:
    await make_user(services, "curator@example.org", locale=locale)
    return await sign_in(client, "curator@example.org")


async def page(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path)
    assert response.status == status, (path, await response.text())
    assert response.content_type == "text/html"
    return await response.text()


async def post_form(client: Client, path: str, data: Any, *, status: int = 303) -> ClientResponse:
    response = await client.post(path, data=data, allow_redirects=False)
    assert response.status == status, (path, await response.text())
    return response


def only_external_scripts(html: str) -> None:
    """No inline script anywhere: every <script> tag loads a file from /static."""
    tags = re.findall(r"<script\b[^>]*>", html)
    assert all(re.search(r'src="/static/[a-z]+\.js"', tag) for tag in tags), tags
