"""The curators' merchant API: the registry with the requests waiting (GET /api/merchants), one merchant with
its accounts, invites and requests (GET /api/merchants/{merchant_id}), inviting an address (the link comes
back once), revoking an invite, removing an account's access, and the merchants' requests across the
registry (GET /api/corrections, pending takedowns first) with accept / reject. Admins and curators; every
POST needs X-CSRF-Token. Described in web/openapi.py.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage.repositories import corrections, invites
from storage.repositories.merchant_directory import directory, exclusions_of
from storage.repositories.users import Role
from web import merchant_admin_actions as actions
from web import portal_actions
from web.auth import forget_sessions, require
from web.errors import json_body
from web.keys import SERVICES
from web.page_tools import signed_in
from web.params import bad, paging, parse_id, reason_param, text_param
from web.portal_api import merchant_json
from web.story_json import iso, json_response

CURATORS = (Role.ADMIN, Role.CURATOR)
STATUSES = ("pending", "accepted", "rejected")


def _merchant_id(request: web.Request) -> int:
    return parse_id(request.match_info["merchant_id"], "merchant id")


async def _optional_body(request: web.Request) -> dict[str, Any]:
    if not (await request.read()).strip():
        return {}
    return await json_body(request)


def invite_json(invite: invites.PendingInvite) -> dict[str, Any]:
    return {
        "id": invite.id,
        "merchant_id": invite.merchant_id,
        "email": invite.email,
        "created_at": iso(invite.created_at),
        "expires_at": iso(invite.expires_at),
    }


@require(*CURATORS)
async def list_merchants(request: web.Request) -> web.StreamResponse:
    limit, offset = paging(request.query)
    async with request.app[SERVICES].sessions() as session:
        rows, total = await directory(session, text_param(request.query, "q"), limit=limit, offset=offset)
    items = [
        {
            "id": r.id,
            "name": r.name,
            "city": r.city,
            "status": r.status,
            "feature_opt_out": r.feature_opt_out,
            "pending_requests": r.pending,
            "users": r.users,
        }
        for r in rows
    ]
    return json_response({"items": items, "total": total, "limit": limit, "offset": offset})


@require(*CURATORS)
async def get_merchant(request: web.Request) -> web.StreamResponse:
    merchant_id = _merchant_id(request)
    services = request.app[SERVICES]
    merchant = await actions.merchant_or_404(services, merchant_id)
    async with services.sessions() as session:
        users = await invites.merchant_users(session, merchant_id)
        pending = await invites.pending_invites(session, merchant_id)
        requests = await corrections.corrections(session, merchant_ids=[merchant_id], limit=200)
        excluded = await exclusions_of(session, merchant_id)
    return json_response(
        {
            "merchant": {
                **merchant_json(merchant),
                "blocked_aliases": [a.alias for a in merchant.aliases if a.blocked],
                "excluded_aliases": excluded,
            },
            "users": [
                {"id": u.id, "email": u.email, "disabled": u.disabled, "last_login_at": iso(u.last_login_at)}
                for u in users
            ],
            "invites": [invite_json(i) for i in pending],
            "requests": [portal_actions.request_json(r) for r in requests],
        }
    )


@require(*CURATORS)
async def post_invite(request: web.Request) -> web.StreamResponse:
    merchant_id = _merchant_id(request)
    body = await json_body(request)
    services = request.app[SERVICES]
    invited = await actions.invite(services, merchant_id, actions.email_param(body.get("email")), signed_in(request).id)
    row = invited.invite
    shown = invites.PendingInvite(row.id, row.merchant_id, "", row.email, row.created_at, row.expires_at)
    return json_response({"invite": {**invite_json(shown), "link": invited.link}}, 201)


@require(*CURATORS)
async def post_revoke(request: web.Request) -> web.StreamResponse:
    merchant_id = _merchant_id(request)
    invite_id = parse_id(request.match_info["invite_id"], "invite id")
    await actions.revoke(request.app[SERVICES], merchant_id, invite_id)
    return json_response({"status": "revoked"})


@require(*CURATORS)
async def post_remove_user(request: web.Request) -> web.StreamResponse:
    merchant_id = _merchant_id(request)
    user_id = parse_id(request.match_info["user_id"], "user id")
    await actions.remove_access(request.app[SERVICES], merchant_id, user_id)
    forget_sessions(request)
    return json_response({"status": "removed"})


@require(*CURATORS)
async def list_corrections(request: web.Request) -> web.StreamResponse:
    status = text_param(request.query, "status") or "pending"
    if status not in STATUSES:
        raise bad(f"status must be one of: {', '.join(STATUSES)}")
    kind = text_param(request.query, "kind")
    if kind is not None and kind not in corrections.KINDS:
        raise bad(f"kind must be one of: {', '.join(corrections.KINDS)}")
    merchant = text_param(request.query, "merchant")
    merchant_ids = [parse_id(merchant, "merchant")] if merchant else None
    limit, _ = paging(request.query, default_limit=100)
    async with request.app[SERVICES].sessions() as session:
        rows = await corrections.corrections(
            session, merchant_ids=merchant_ids, status=status, kinds=[kind] if kind else None, limit=limit
        )
    return json_response(
        {"items": [{**portal_actions.request_json(r), "merchant_name": r.merchant_name} for r in rows]}
    )


async def _decide(request: web.Request, accept: bool) -> web.StreamResponse:
    correction_id = parse_id(request.match_info["correction_id"], "request id")
    body = await _optional_body(request)
    note = reason_param(body.get("note"), required=False, name="note")
    row = await actions.decide(
        request.app[SERVICES], correction_id, accept=accept, actor=signed_in(request).id, note=note, merchant_id=None
    )
    return json_response({"request": portal_actions.request_json(row)})


@require(*CURATORS)
async def post_accept(request: web.Request) -> web.StreamResponse:
    return await _decide(request, True)


@require(*CURATORS)
async def post_reject(request: web.Request) -> web.StreamResponse:
    return await _decide(request, False)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/merchants", list_merchants)
    app.router.add_get("/api/merchants/{merchant_id}", get_merchant)
    app.router.add_post("/api/merchants/{merchant_id}/invites", post_invite)
    app.router.add_post("/api/merchants/{merchant_id}/invites/{invite_id}/revoke", post_revoke)
    app.router.add_post("/api/merchants/{merchant_id}/users/{user_id}/remove", post_remove_user)
    app.router.add_get("/api/corrections", list_corrections)
    app.router.add_post("/api/corrections/{correction_id}/accept", post_accept)
    app.router.add_post("/api/corrections/{correction_id}/reject", post_reject)
