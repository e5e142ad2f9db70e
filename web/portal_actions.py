"""The merchant's actions, once, for the portal's pages and its API: flag a mention as not about them, suggest
an alias or a handle, request a story's takedown, choose whether to be featured.

Each runs in its own transaction through storage.repositories.corrections with the account's scope, and
turns refusals into HTTP errors: an id outside the scope is 404 (as if it did not exist), input the
repository would refuse is 400 before anything is written, a rule that refuses (a story already archived)
is 409 with the rule's message.
"""

from __future__ import annotations

from aiohttp import web

from jobs.services import Services
from storage.models import MerchantCorrection
from storage.registry_csv import PLATFORM_ALIASES, RowError, parse_handle
from storage.repositories import corrections as repo
from storage.repositories._sql import utcnow
from storage.repositories.merchant_mentions import Scope
from web.params import bad, no_control_characters
from web.story_json import iso

MAX_NOTE = 1000
MAX_VALUE = 300
HANDLE_PLATFORMS = tuple(sorted(set(PLATFORM_ALIASES.values())))


def note_param(value: object, name: str = "note") -> str | None:
    if value is not None and not isinstance(value, str):
        raise bad(f"{name} must be a string")
    cleaned = no_control_characters((value or "").strip(), name)
    if len(cleaned) > MAX_NOTE:
        raise bad(f"{name} is too long ({len(cleaned)} characters, at most {MAX_NOTE})")
    return cleaned or None


def suggestion_params(kind: object, value: object, platform: object) -> tuple[str, str, str | None]:
    """(kind, value, platform) of an alias or handle suggestion, checked; 400 naming the field."""
    if kind not in ("alias", "handle"):
        raise bad("kind must be alias or handle")
    if not isinstance(value, str) or not value.strip():
        raise bad("value is required: the name or the handle")
    text = no_control_characters(" ".join(value.split()), "value")
    if len(text) > MAX_VALUE:
        raise bad(f"value is too long ({len(text)} characters, at most {MAX_VALUE})")
    if kind == "alias":
        return "alias", text, None
    if not isinstance(platform, str) or platform not in HANDLE_PLATFORMS:
        raise bad(f"platform must be one of: {', '.join(HANDLE_PLATFORMS)}")
    try:
        platform, handle = parse_handle(f"{platform}:{text}")
    except RowError as exc:
        raise bad(str(exc)) from None
    return "handle", handle, platform


def _refused(exc: Exception) -> web.HTTPException:
    if isinstance(exc, repo.NotFound):
        return web.HTTPNotFound(text=str(exc))
    return web.HTTPConflict(text=str(exc))


async def flag(services: Services, scope: Scope, user_id: int, mention_id: int, note: str | None) -> MerchantCorrection:
    try:
        async with services.sessions.begin() as session:
            return await repo.flag_mention(session, scope, mention_id, user_id, note, utcnow())
    except (repo.NotFound, repo.CorrectionError) as exc:
        raise _refused(exc) from None


async def suggest(
    services: Services,
    scope: Scope,
    merchant_id: int,
    user_id: int,
    suggestion: tuple[str, str, str | None],
    note: str | None,
) -> MerchantCorrection:
    kind, value, platform = suggestion
    try:
        async with services.sessions.begin() as session:
            return await repo.suggest(session, scope, merchant_id, kind, value, platform, user_id, note, utcnow())
    except (repo.NotFound, repo.CorrectionError) as exc:
        raise _refused(exc) from None


async def takedown(
    services: Services, scope: Scope, user_id: int, story_id: int, note: str | None
) -> MerchantCorrection:
    try:
        async with services.sessions.begin() as session:
            return await repo.request_takedown(session, scope, story_id, user_id, note, utcnow())
    except (repo.NotFound, repo.CorrectionError) as exc:
        raise _refused(exc) from None


async def featuring(services: Services, scope: Scope, merchant_id: int, user_id: int, opt_out: bool) -> bool:
    try:
        async with services.sessions.begin() as session:
            return await repo.set_featuring(session, scope, merchant_id, opt_out, user_id, utcnow())
    except repo.NotFound as exc:
        raise _refused(exc) from None


def request_json(row: MerchantCorrection | repo.CorrectionRow) -> dict[str, object]:
    """A request as the merchant and the curators see it in JSON."""
    return {
        "id": row.id,
        "merchant_id": row.merchant_id,
        "kind": row.kind,
        "status": row.status,
        "post_id": row.post_id,
        "link_text": row.surface,
        "story_id": row.story_id,
        "value": row.value,
        "platform": row.platform,
        "note": row.note,
        "created_at": iso(row.created_at),
        "decided_at": iso(row.decided_at),
        "decision_note": row.decision_note,
    }
