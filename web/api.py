"""The curator JSON API: everything the queue, story and discovered pages do, for scripts and other front ends.

Same roles as the pages (admin, curator), the same session cookie, so every unsafe method needs the
session's CSRF token in the `X-CSRF-Token` header (web/csrf.py). Bad input is a 400 naming the field,
an unknown story or name a 404, a move the rules forbid a 409 with the rule's message; errors are
`{"error": "..."}` (web/errors.py). The routes are described for clients in web/openapi.py
(GET /api/openapi.json); a test keeps that description and these routes in step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from storage.repositories import stories as repo
from storage.repositories.discovered import pending_discoveries
from storage.repositories.users import Role
from web import curation
from web.auth import require
from web.errors import json_body
from web.keys import SERVICES
from web.page_tools import signed_in
from web.params import (
    MAX_BULK,
    bad,
    paging,
    parse_id,
    parse_ids,
    parse_moment,
    parse_state,
    queue_filters,
    reason_param,
)
from web.story_json import (
    campaign_json,
    detail_json,
    discovery_json,
    feature_json,
    json_response,
    merchant_json,
    page_json,
    request_json,
)

CURATORS = (Role.ADMIN, Role.CURATOR)


def _slugs(request: web.Request) -> dict[int, str]:
    return {cid: slug for slug, cid in request.app[SERVICES].campaign_ids.items()}


def _story_id(request: web.Request) -> int:
    return parse_id(request.match_info["id"], "story id")


async def _optional_body(request: web.Request) -> dict[str, Any]:
    """The JSON object sent, or {} when the body is empty (actions whose fields are all optional)."""
    if not (await request.read()).strip():
        return {}
    return await json_body(request)


async def _story(request: web.Request, story_id: int) -> dict[str, Any]:
    return detail_json(await curation.detail(request.app[SERVICES], story_id), _slugs(request))


# --- stories ------------------------------------------------------------------------------------------


@require(*CURATORS)
async def list_stories(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    filters = queue_filters(request.query, services.campaign_ids)
    limit, offset = paging(request.query)
    try:
        page = await curation.queue_page(services, filters, limit, offset)
    except ValueError as exc:
        raise bad(str(exc)) from None
    return json_response(page_json(page, _slugs(request), limit, offset))


@require(*CURATORS)
async def get_story(request: web.Request) -> web.StreamResponse:
    return json_response({"story": await _story(request, _story_id(request))})


@require(*CURATORS)
async def post_transition(request: web.Request) -> web.StreamResponse:
    story_id, user = _story_id(request), signed_in(request)
    body = await json_body(request)
    target = parse_state(body.get("to"), "to")
    reason = reason_param(body.get("reason"), required=target == repo.StoryState.REJECTED)
    await curation.move(request.app[SERVICES], user.id, story_id, target.value, reason)
    return json_response({"story": await _story(request, story_id)})


@require(*CURATORS)
async def post_bulk(request: web.Request) -> web.StreamResponse:
    user = signed_in(request)
    body = await json_body(request)
    ids = body.get("ids")
    if not isinstance(ids, list):
        raise bad(f"ids must be a list of story ids (at most {MAX_BULK})")
    story_ids = parse_ids(ids)
    target = parse_state(body.get("to"), "to")
    reason = reason_param(body.get("reason"), required=target == repo.StoryState.REJECTED)
    result = await curation.bulk_move(request.app[SERVICES], user.id, story_ids, target.value, reason)
    refused = [{"id": story_id, "reason": why} for story_id, why in result.refused.items()]
    return json_response({"changed": result.changed, "refused": refused})


@require(*CURATORS)
async def post_undo(request: web.Request) -> web.StreamResponse:
    story_id, user = _story_id(request), signed_in(request)
    await curation.undo(request.app[SERVICES], user.id, story_id)
    return json_response({"story": await _story(request, story_id)})


@require(*CURATORS)
async def post_rights_request(request: web.Request) -> web.StreamResponse:
    story_id, user = _story_id(request), signed_in(request)
    body = await _optional_body(request)
    message = body.get("message")
    if message is not None and not isinstance(message, str):
        raise bad("message must be a string (or leave it out for the suggested message)")
    result = await curation.ask_rights(request.app[SERVICES], user.id, story_id, message)
    return json_response({"rights_request": request_json(result), "story": await _story(request, story_id)}, 201)


@require(*CURATORS)
async def post_feature(request: web.Request) -> web.StreamResponse:
    story_id, user = _story_id(request), signed_in(request)
    services = request.app[SERVICES]
    body = await _optional_body(request)
    campaign = await curation.story_campaign(services, story_id)
    window: dict[str, datetime | None] = {}
    for name in ("from", "until"):
        value = body.get(name)
        window[name] = None if value is None else parse_moment(value, name, campaign.timezone)
    result = await curation.feature(services, user.id, story_id, window["from"], window["until"])
    return json_response({"feature": feature_json(result), "story": await _story(request, story_id)})


# --- discovered businesses ----------------------------------------------------------------------------


@require(*CURATORS)
async def list_discovered(request: web.Request) -> web.StreamResponse:
    limit, offset = paging(request.query)
    async with request.app[SERVICES].sessions() as session:
        items, total = await pending_discoveries(session, limit=limit, offset=offset)
    return json_response(
        {"items": [discovery_json(i) for i in items], "total": total, "limit": limit, "offset": offset}
    )


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad(f"{name} must be a string")
    return value


@require(*CURATORS)
async def post_discovered_add(request: web.Request) -> web.StreamResponse:
    discovered_id = parse_id(request.match_info["id"], "discovered business id")
    body = await json_body(request)
    merchant = await curation.add_to_registry(
        request.app[SERVICES],
        discovered_id,
        _optional_text(body, "name"),
        _optional_text(body, "city"),
        _optional_text(body, "category"),
    )
    return json_response({"status": "added", "merchant": merchant_json(merchant)}, 201)


@require(*CURATORS)
async def post_discovered_merge(request: web.Request) -> web.StreamResponse:
    discovered_id = parse_id(request.match_info["id"], "discovered business id")
    body = await json_body(request)
    if body.get("merchant_id") is None:
        raise bad("merchant_id is required: the id of the merchant this name belongs to")
    merchant_id = parse_id(body.get("merchant_id"), "merchant_id")
    merchant = await curation.merge_into(request.app[SERVICES], discovered_id, merchant_id)
    return json_response({"status": "merged", "merchant": merchant_json(merchant)})


@require(*CURATORS)
async def post_discovered_ignore(request: web.Request) -> web.StreamResponse:
    discovered_id = parse_id(request.match_info["id"], "discovered business id")
    await curation.ignore(request.app[SERVICES], discovered_id)
    return json_response({"status": "ignored"})


# --- campaigns ----------------------------------------------------------------------------------------


@require(*CURATORS)
async def list_campaigns(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    items = [
        campaign_json(slug, conf, services.campaign_ids.get(slug)) for slug, conf in services.settings.campaigns.items()
    ]
    return json_response({"items": items})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/stories", list_stories)
    app.router.add_post("/api/stories/bulk", post_bulk)
    app.router.add_get("/api/stories/{id}", get_story)
    app.router.add_post("/api/stories/{id}/transitions", post_transition)
    app.router.add_post("/api/stories/{id}/undo", post_undo)
    app.router.add_post("/api/stories/{id}/rights-requests", post_rights_request)
    app.router.add_post("/api/stories/{id}/feature", post_feature)
    app.router.add_get("/api/discovered", list_discovered)
    app.router.add_post("/api/discovered/{id}/add", post_discovered_add)
    app.router.add_post("/api/discovered/{id}/merge", post_discovered_merge)
    app.router.add_post("/api/discovered/{id}/ignore", post_discovered_ignore)
    app.router.add_get("/api/campaigns", list_campaigns)
