"""The curator's actions, once, for the pages and the API: each runs in its own transaction and turns the
repositories' refusals into HTTP errors (unknown story or name: 404; a move the rules forbid: 409 with the
rule's own message; input the repositories would refuse as malformed: 400 before anything is written).

Handlers parse their input (web/params.py), call one of these, and present the result as a page or JSON.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from jobs.services import Services
from storage.models import Campaign, DiscoveredBusiness, Merchant, Story
from storage.repositories import discovered as review
from storage.repositories import stories as repo
from storage.repositories._sql import utcnow
from storage.repositories.merchants import get_merchant
from storage.repositories.story_candidates import has_hashtag
from storage.repositories.story_states import WORKFLOW_ONLY
from web.params import MAX_MESSAGE, bad, no_control_characters

# The merchants table's column widths (PostgreSQL enforces them; SQLite would not).
NAME_MAX, CITY_MAX, CATEGORY_MAX = 300, 200, 200
MAX_WINDOW = timedelta(days=366)


@dataclass(frozen=True)
class StoryCampaign:
    """What an action needs to know of a story's campaign before acting."""

    story_id: int
    slug: str
    timezone: ZoneInfo
    consent_hashtag: str | None


def conflict(message: str) -> web.HTTPConflict:
    return web.HTTPConflict(text=message)


def no_story(story_id: int) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=f"there is no story #{story_id}")


async def queue_page(services: Services, filters: repo.QueueFilters, limit: int, offset: int) -> repo.QueuePage:
    """One page of the queue, for the queue page and the API; ValueError on a filter the repository refuses.
    On SQLite it is read on a reader thread in one hop (storage.sqlite_reader), elsewhere in a session."""
    reader = services.reader
    if reader is not None:
        dialect = services.engine.dialect
        return await reader.run(
            functools.partial(repo.queue_page_sqlite, dialect=dialect, filters=filters, limit=limit, offset=offset)
        )
    async with services.sessions() as session:
        return await repo.queue_page(session, filters, limit=limit, offset=offset)


async def story_campaign(services: Services, story_id: int) -> StoryCampaign:
    """The story's campaign (404 when there is no such story); reads columns only, never the story entity,
    so the action's own locked read of the story is never served from a stale identity map."""
    async with services.sessions() as session:
        row = (
            await session.execute(
                select(Campaign.slug, Campaign.timezone, Campaign.consent_hashtag)
                .join(Story, Story.campaign_id == Campaign.id)
                .where(Story.id == story_id)
            )
        ).one_or_none()
    if row is None:
        raise no_story(story_id)
    tag = (row.consent_hashtag or "").strip().lstrip("#") or None
    return StoryCampaign(story_id, row.slug, ZoneInfo(row.timezone), tag)


async def detail(services: Services, story_id: int) -> repo.StoryDetail:
    async with services.sessions() as session:
        found = await repo.story_detail(session, story_id)
    if found is None:
        raise no_story(story_id)
    return found


async def move(services: Services, actor: int, story_id: int, to: str, reason: str | None) -> None:
    """Shortlist, archive, reject, or withdraw a rights request (back to shortlisted)."""
    await story_campaign(services, story_id)
    try:
        async with services.sessions.begin() as session:
            await repo.transition(session, story_id, to, actor_user_id=actor, reason=reason, now=utcnow())
    except repo.TransitionError as exc:
        raise conflict(str(exc)) from None


async def bulk_move(services: Services, actor: int, ids: list[int], to: str, reason: str | None) -> repo.BulkResult:
    """Every story that may move moves; the others come back in `refused` with why."""
    target = repo.StoryState(to)
    if target in WORKFLOW_ONLY:
        raise bad(f"a bulk action cannot move stories to {to}: {WORKFLOW_ONLY[target]}")
    async with services.sessions.begin() as session:
        return await repo.transition_many(session, ids, to, actor_user_id=actor, reason=reason, now=utcnow())


async def undo(services: Services, actor: int, story_id: int) -> None:
    await story_campaign(services, story_id)
    try:
        async with services.sessions.begin() as session:
            await repo.undo_last(session, story_id, actor, utcnow())
    except repo.TransitionError as exc:
        raise conflict(str(exc)) from None


async def ask_rights(services: Services, actor: int, story_id: int, message: str | None) -> repo.RightsRequestResult:
    """Record a rights request; a custom `message` must name the consent hashtag (400 otherwise)."""
    campaign = await story_campaign(services, story_id)
    text = (message or "").strip() or None
    if text is not None:
        no_control_characters(text, "message")
        if len(text) > MAX_MESSAGE:
            raise bad(f"message is too long ({len(text)} characters, at most {MAX_MESSAGE})")
        if campaign.consent_hashtag and not has_hashtag(text, (), campaign.consent_hashtag):
            raise bad(
                f"the message must name the consent hashtag #{campaign.consent_hashtag}: the author replies with it"
            )
    expiry = timedelta(days=services.settings.stories.rights_expiry_days)
    try:
        async with services.sessions.begin() as session:
            return await repo.request_rights(session, story_id, actor, text, utcnow(), expiry)
    except repo.TransitionError as exc:
        raise conflict(str(exc)) from None


async def feature(
    services: Services, actor: int, story_id: int, start: datetime | None, end: datetime | None
) -> repo.FeatureResult:
    """Feature from `start` (default now) to `end` (default stories.feature_days later); 409 with the rule
    that refuses it (rights not granted, the merchant opted out, the weekly cap, the campaign dates)."""
    await story_campaign(services, story_id)
    now = utcnow()
    if end is not None and end <= (start or now):
        raise bad("until must be after from (and after now when from is not given)")
    if end is not None and end - (start or now) > MAX_WINDOW:
        # The weekly cap is checked week by week: a window of years would cost a query per week.
        raise bad(f"a feature window lasts at most {MAX_WINDOW.days} days")
    try:
        async with services.sessions.begin() as session:
            return await repo.feature(session, story_id, actor, now, start, end, rules=services.settings.stories)
    except repo.TransitionError as exc:
        raise conflict(str(exc)) from None


# --- discovered businesses ----------------------------------------------------------------------------


def _field(value: str | None, name: str, limit: int) -> str | None:
    cleaned = no_control_characters(" ".join((value or "").split()), name)
    if len(cleaned) > limit:
        raise bad(f"{name} is too long ({len(cleaned)} characters, at most {limit})")
    return cleaned or None


async def _check_pending(services: Services, discovered_id: int) -> None:
    async with services.sessions() as session:
        row = await session.get(DiscoveredBusiness, discovered_id)
    if row is None:
        raise web.HTTPNotFound(text=f"there is no discovered business #{discovered_id}")


async def add_to_registry(
    services: Services, discovered_id: int, name: str | None, city: str | None, category: str | None
) -> Merchant:
    clean_name = _field(name, "name", NAME_MAX)
    if clean_name is None:
        raise bad("name is required: the merchant's name as it should appear in the registry")
    clean_city, clean_category = _field(city, "city", CITY_MAX), _field(category, "category", CATEGORY_MAX)
    await _check_pending(services, discovered_id)
    try:
        async with services.sessions.begin() as session:
            return await review.add_to_registry(
                session, discovered_id, name=clean_name, city=clean_city, category=clean_category, now=utcnow()
            )
    except review.ReviewError as exc:
        raise conflict(str(exc)) from None


async def merge_into(services: Services, discovered_id: int, merchant_id: int) -> Merchant:
    await _check_pending(services, discovered_id)
    async with services.sessions() as session:
        if await get_merchant(session, merchant_id) is None:
            raise bad(f"merchant {merchant_id} does not exist: choose one from the registry")
    try:
        async with services.sessions.begin() as session:
            return await review.merge_into(session, discovered_id, merchant_id, utcnow())
    except review.ReviewError as exc:
        raise conflict(str(exc)) from None


async def ignore(services: Services, discovered_id: int) -> None:
    await _check_pending(services, discovered_id)
    try:
        async with services.sessions.begin() as session:
            await review.ignore(session, discovered_id, utcnow())
    except review.ReviewError as exc:
        raise conflict(str(exc)) from None


async def merchant_choices(services: Services) -> list[tuple[int, str]]:
    """(id, "name (city)") of every merchant, for the filter and merge selects."""
    async with services.sessions() as session:
        rows = await session.execute(
            select(Merchant.id, Merchant.name, Merchant.city).order_by(Merchant.name, Merchant.id)
        )
        return [(int(i), f"{name} ({city})" if city else str(name)) for i, name, city in rows.all()]
