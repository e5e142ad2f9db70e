"""The merchant portal's JSON API under /api/portal/: what the portal pages show and do, for merchant users.

Same session cookie as the pages; every POST needs the session's CSRF token in X-CSRF-Token. The merchant id
in the path is checked against the account's merchants and every mention or story id against that scope:
anything outside it is a 404, whatever exists elsewhere. Described in web/openapi.py.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage.repositories import corrections
from storage.repositories import merchant_mentions as mm
from storage.repositories.users import Role
from web import portal_actions as actions
from web.auth import require
from web.errors import json_body
from web.keys import SERVICES
from web.page_tools import signed_in
from web.params import bad, parse_id
from web.portal_common import (
    bucket_json,
    dashboard,
    mention_json,
    merchant_scope,
    parse_query,
    period_json,
    reach_json,
    story_json,
)
from web.story_json import json_response

MERCHANT = Role.MERCHANT


async def _optional_body(request: web.Request) -> dict[str, Any]:
    if not (await request.read()).strip():
        return {}
    return await json_body(request)


def merchant_json(merchant: Any) -> dict[str, Any]:
    return {
        "id": merchant.id,
        "name": merchant.name,
        "city": merchant.city,
        "feature_opt_out": merchant.feature_opt_out,
        "aliases": [a.alias for a in merchant.aliases if not a.blocked],
        "handles": [{"platform": h.platform, "handle": h.handle} for h in merchant.handles],
    }


@require(MERCHANT)
async def list_merchants(request: web.Request) -> web.StreamResponse:
    async with request.app[SERVICES].sessions() as session:
        merchants = await mm.merchants_in(session, signed_in(request).merchant_ids)
    return json_response({"items": [merchant_json(m) for m in merchants]})


@require(MERCHANT)
async def get_mentions(request: web.Request) -> web.StreamResponse:
    scope, _ = merchant_scope(request)
    services = request.app[SERVICES]
    query = parse_query(request.query)
    async with services.sessions() as session:
        rows, total = await mm.mention_page(session, scope, query.filters, limit=query.limit, offset=query.offset)
    key = services.pseudonym_key()
    return json_response(
        {
            "items": [mention_json(row, key) for row in rows],
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
            "period": period_json(query.period),
        }
    )


@require(MERCHANT)
async def get_timeline(request: web.Request) -> web.StreamResponse:
    scope, _ = merchant_scope(request)
    query = parse_query(request.query)
    data = await dashboard(request.app[SERVICES], scope, query)
    return json_response(
        {
            "period": period_json(query.period),
            "buckets": [bucket_json(b) for b in data.buckets],
            "reach": reach_json(data.reach),
        }
    )


@require(MERCHANT)
async def get_stories(request: web.Request) -> web.StreamResponse:
    scope, _ = merchant_scope(request)
    async with request.app[SERVICES].sessions() as session:
        stories = await mm.featured_stories(session, scope)
    return json_response({"items": [story_json(s) for s in stories]})


@require(MERCHANT)
async def get_names(request: web.Request) -> web.StreamResponse:
    scope, merchant_id = merchant_scope(request)
    async with request.app[SERVICES].sessions() as session:
        merchant = (await mm.merchants_in(session, [merchant_id]))[0]
        variants = await mm.variants(session, scope)
        discovered = await mm.discovered_variants(session, scope)
        shown = merchant_json(merchant)
    return json_response(
        {
            "merchant": shown,
            "variants": [{"text": v.text, "method": v.method, "mentions": v.mentions} for v in variants],
            "discovered": [{"name": d.name, "status": d.status, "mentions": d.mentions} for d in discovered],
        }
    )


@require(MERCHANT)
async def get_requests(request: web.Request) -> web.StreamResponse:
    scope, _ = merchant_scope(request)
    async with request.app[SERVICES].sessions() as session:
        rows = await corrections.corrections(session, merchant_ids=scope.merchant_ids, limit=200)
    return json_response({"items": [actions.request_json(r) for r in rows]})


@require(MERCHANT)
async def post_flag(request: web.Request) -> web.StreamResponse:
    scope, _ = merchant_scope(request)
    mention_id = parse_id(request.match_info["mention_id"], "mention id")
    body = await _optional_body(request)
    note = actions.note_param(body.get("note"))
    row = await actions.flag(request.app[SERVICES], scope, signed_in(request).id, mention_id, note)
    return json_response({"request": actions.request_json(row)}, 201)


@require(MERCHANT)
async def post_suggestion(request: web.Request) -> web.StreamResponse:
    scope, merchant_id = merchant_scope(request)
    body = await json_body(request)
    suggestion = actions.suggestion_params(body.get("kind"), body.get("value"), body.get("platform"))
    note = actions.note_param(body.get("note"))
    row = await actions.suggest(request.app[SERVICES], scope, merchant_id, signed_in(request).id, suggestion, note)
    return json_response({"request": actions.request_json(row)}, 201)


@require(MERCHANT)
async def post_featuring(request: web.Request) -> web.StreamResponse:
    scope, merchant_id = merchant_scope(request)
    body = await json_body(request)
    opt_out = body.get("opt_out")
    if not isinstance(opt_out, bool):
        raise bad("opt_out must be true (never feature our stories) or false (they may be featured)")
    changed = await actions.featuring(request.app[SERVICES], scope, merchant_id, signed_in(request).id, opt_out)
    return json_response({"feature_opt_out": opt_out, "changed": changed})


@require(MERCHANT)
async def post_takedown(request: web.Request) -> web.StreamResponse:
    scope, _ = merchant_scope(request)
    story_id = parse_id(request.match_info["story_id"], "story id")
    body = await _optional_body(request)
    note = actions.note_param(body.get("note"))
    row = await actions.takedown(request.app[SERVICES], scope, signed_in(request).id, story_id, note)
    return json_response({"request": actions.request_json(row)}, 201)


PREFIX = "/api/portal/merchants"


def setup(app: web.Application) -> None:
    app.router.add_get(PREFIX, list_merchants)
    app.router.add_get(PREFIX + "/{merchant_id}/mentions", get_mentions)
    app.router.add_get(PREFIX + "/{merchant_id}/timeline", get_timeline)
    app.router.add_get(PREFIX + "/{merchant_id}/stories", get_stories)
    app.router.add_get(PREFIX + "/{merchant_id}/names", get_names)
    app.router.add_get(PREFIX + "/{merchant_id}/requests", get_requests)
    app.router.add_post(PREFIX + "/{merchant_id}/mentions/{mention_id}/flag", post_flag)
    app.router.add_post(PREFIX + "/{merchant_id}/suggestions", post_suggestion)
    app.router.add_post(PREFIX + "/{merchant_id}/featuring", post_featuring)
    app.router.add_post(PREFIX + "/{merchant_id}/stories/{story_id}/takedown", post_takedown)
