"""Reading curator input (ids, states, dates, scores, the queue filters, paging) for the pages and the API alike.

Query strings, forms and JSON bodies all come through here, so a bad value gets the same 400 everywhere,
with a message naming the field and what it accepts, and never reaches the database as something it would
choke on (ids are checked against the 32-bit INTEGER range first: PostgreSQL refuses larger values outright).
Empty query or form fields count as absent: a GET form sends every field, filled or not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiMapping

from listener.post import Platform
from storage.repositories.stories import QueueFilters, StoryState
from storage.repositories.story_queue import MAX_LIMIT, SORTS, Sort

MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns
MAX_BULK = MAX_LIMIT  # a bulk action covers at most one full page of the queue
MAX_OFFSET = 10_000  # a page reads offset + limit rows per index stream: past this, narrow the filters
MAX_REASON = 1000
MAX_MESSAGE = 2000
SENTIMENTS = ("positive", "neutral", "negative")
PLATFORMS = tuple(p.value for p in Platform)
STATES = tuple(s.value for s in StoryState)
_DIGITS = re.compile(r"[0-9]{1,12}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})?")
_MIN_YEAR, _MAX_YEAR = 1970, 2200
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=message)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text_param(params: Mapping[str, Any], name: str) -> str | None:
    """The field as a stripped string, None when absent or empty; 400 when it is not a string."""
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(f"{name} must be a string")
    return value.strip() or None


def parse_id(value: object, name: str = "id") -> int:
    """A positive 32-bit id from a path, query, form (digits) or JSON (an integer)."""
    if isinstance(value, bool):
        raise bad(f"{name} must be a positive integer, got {_shown(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise bad(f"{name} must be a positive integer, got {_shown(value)}")
    if not 1 <= number <= MAX_ID:
        raise bad(f"{name} must be between 1 and {MAX_ID}, got {number}")
    return number


def parse_ids(values: list[Any], name: str = "ids") -> list[int]:
    if not values:
        raise bad(f"{name}: choose at least one story")
    if len(values) > MAX_BULK:
        raise bad(f"{name}: at most {MAX_BULK} at a time, got {len(values)}")
    return list(dict.fromkeys(parse_id(v, name) for v in values))


def parse_state(value: object, name: str = "state") -> StoryState:
    if not isinstance(value, str) or value.strip() not in STATES:
        raise bad(f"{name} must be one of: {', '.join(STATES)} (got {_shown(value)})")
    return StoryState(value.strip())


def parse_states(values: list[str]) -> tuple[str, ...]:
    """States from repeated `state=` fields and/or comma-separated lists, in the order of the state machine."""
    wanted = {parse_state(part).value for value in values for part in value.split(",") if part.strip()}
    return tuple(s for s in STATES if s in wanted)


def no_control_characters(text: str, name: str) -> str:
    """`text`, or 400 when it holds control characters (PostgreSQL refuses NUL in text, and none belongs in a
    name or a message; tabs and line breaks are fine)."""
    if _CONTROL.search(text):
        raise bad(f"{name} must not contain control characters")
    return text


def reason_param(value: object, *, required: bool, name: str = "reason") -> str | None:
    if value is not None and not isinstance(value, str):
        raise bad(f"{name} must be a string")
    cleaned = no_control_characters((value or "").strip(), name)
    if required and not cleaned:
        raise bad(f"{name} is required: say why (it is recorded in the story's history)")
    if len(cleaned) > MAX_REASON:
        raise bad(f"{name} is too long ({len(cleaned)} characters, at most {MAX_REASON})")
    return cleaned or None


def parse_moment(value: object, name: str, tz: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    """A date (YYYY-MM-DD: midnight in `tz`, or the next midnight with `end_of_day`) or a date and time
    (ISO 8601; without an offset it is read in `tz`), as an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        raise bad(f"{name} must be a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)")
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if end_of_day else day, time(), tz)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
        if not _MIN_YEAR <= moment.year <= _MAX_YEAR:
            raise ValueError("year out of range")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise bad(
            f"{name} must be a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM[:SS][+HH:MM]) between "
            f"{_MIN_YEAR} and {_MAX_YEAR}, got {_shown(value)}"
        ) from None


def parse_score(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise bad(f"{name} must be a number between 0 and 1, got {_shown(value)}") from None
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise bad(f"{name} must be a number between 0 and 1, got {_shown(value)}")
    return number


def parse_int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or not value.strip():
        return default
    if not _DIGITS.fullmatch(value.strip()) or not low <= int(value) <= high:
        raise bad(f"{name} must be an integer between {low} and {high}, got {_shown(value)}")
    return int(value)


def paging(params: MultiMapping[str], *, default_limit: int = 50) -> tuple[int, int]:
    """(limit, offset) from `limit` and `offset`."""
    limit = parse_int(params.get("limit"), "limit", default_limit, 1, MAX_LIMIT)
    offset = parse_int(params.get("offset"), "offset", 0, 0, MAX_OFFSET)
    return limit, offset


def queue_filters(
    params: MultiMapping[str], campaign_ids: Mapping[str, int], *, default_states: tuple[str, ...] = ()
) -> QueueFilters:
    """The queue filters from query parameters: campaign (slug), state (repeatable or comma-separated),
    language, sentiment, platform, merchant (id), from / to (dates, inclusive, UTC), min_score / max_score,
    sort. `default_states` applies when no state is given."""
    campaign = text_param(params, "campaign")
    if campaign is not None and campaign not in campaign_ids:
        known = ", ".join(sorted(campaign_ids)) or "none"
        raise bad(f"campaign must be one of: {known} (got {_shown(campaign)})")
    states = parse_states([v for v in params.getall("state", []) if isinstance(v, str)]) or default_states
    language = text_param(params, "language")
    if language is not None and not _LANGUAGE.fullmatch(language):
        raise bad(f"language must be a language code such as fr, en or ar, got {_shown(language)}")
    sentiment = text_param(params, "sentiment")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise bad(f"sentiment must be one of: {', '.join(SENTIMENTS)} (got {_shown(sentiment)})")
    platform = text_param(params, "platform")
    if platform is not None and platform not in PLATFORMS:
        raise bad(f"platform must be one of: {', '.join(PLATFORMS)} (got {_shown(platform)})")
    merchant = text_param(params, "merchant")
    since, until = text_param(params, "from"), text_param(params, "to")
    min_score, max_score = text_param(params, "min_score"), text_param(params, "max_score")
    sort = text_param(params, "sort") or "score"
    if sort not in SORTS:
        raise bad(f"sort must be one of: {', '.join(SORTS)} (got {_shown(sort)})")
    filters = QueueFilters(
        campaign_id=campaign_ids[campaign] if campaign else None,
        states=states,
        language=language.lower() if language else None,
        sentiment=sentiment,
        platform=platform,
        merchant_id=parse_id(merchant, "merchant") if merchant else None,
        since=parse_moment(since, "from", ZoneInfo("UTC")) if since else None,
        until=parse_moment(until, "to", ZoneInfo("UTC"), end_of_day=True) if until else None,
        min_score=parse_score(min_score, "min_score") if min_score else None,
        max_score=parse_score(max_score, "max_score") if max_score else None,
        sort=cast(Sort, sort),  # checked against SORTS above
    )
    if filters.since and filters.until and filters.until <= filters.since:
        raise bad("to must be on or after from")
    if filters.min_score is not None and filters.max_score is not None and filters.min_score > filters.max_score:
        raise bad("min_score must not be above max_score")
    return filters
