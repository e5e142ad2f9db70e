"""The curators' merchant pages: GET /merchants lists the registry (search by name; merchants with requests
waiting come first, and pending takedown requests are shown above everything); GET /merchants/{merchant_id}
shows one merchant with all its data: the registry entry (aliases, handles, excluded names), its mentions
with the charts and the reach (real handles: curators see authors as they are), its featured stories, the
accounts that see its portal, the pending invites, and the requests waiting with accept / reject, plus the
invite form.

Actions POST to /merchants/{merchant_id}/...; an invite answers with the page showing the new link (the
only time it is shown), the others redirect back with the result (Post/Redirect/Get). `takedown_block` is
what the curators' queue shows first: the takedown requests waiting.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from jobs.services import Services
from storage.repositories import corrections, invites
from storage.repositories import merchant_mentions as mm
from storage.repositories.merchant_directory import directory, exclusions_of
from storage.repositories.users import Role
from web import merchant_admin_actions as actions
from web import merchant_admin_api
from web.auth import add_nav, forget_sessions, request_translator, require, safe_next
from web.flash import redirect
from web.keys import SERVICES
from web.page_tools import curator_page, form_text, signed_in
from web.params import PLATFORMS, SENTIMENTS, paging, parse_id, reason_param, text_param
from web.portal import charts
from web.portal_common import PERIODS, dashboard, parse_query

CURATORS = (Role.ADMIN, Role.CURATOR)
PAGE_SIZE = 50


def _merchant_id(request: web.Request) -> int:
    return parse_id(request.match_info["merchant_id"], "merchant id")


async def takedown_block(services: Services) -> list[corrections.CorrectionRow]:
    """The takedown requests waiting, oldest first: what the queue page shows above the queue."""
    async with services.sessions() as session:
        rows = await corrections.corrections(session, status="pending", kinds=["takedown"], limit=20)
    return sorted(rows, key=lambda r: r.created_at)


@require(*CURATORS)
async def merchants_page(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    search = text_param(request.query, "q")
    limit, offset = paging(request.query, default_limit=PAGE_SIZE)
    async with services.sessions() as session:
        rows, total = await directory(session, search, limit=limit, offset=offset)
    url = request.rel_url
    return curator_page(
        request,
        "merchant_admin_list.html",
        rows=rows,
        total=total,
        search=search or "",
        first=offset + 1 if rows else 0,
        last=offset + len(rows),
        previous_link=str(url.update_query(offset=str(max(0, offset - limit)))) if offset else None,
        next_link=str(url.update_query(offset=str(offset + limit))) if offset + limit < total else None,
        takedowns=await takedown_block(services),
    )


async def _show(request: web.Request, merchant_id: int, *, status: int = 200, **extra: Any) -> web.Response:
    services = request.app[SERVICES]
    merchant = await actions.merchant_or_404(services, merchant_id)
    scope = mm.Scope.staff(merchant_id)
    query = parse_query(request.query)
    data = await dashboard(services, scope, query)
    async with services.sessions() as session:
        users = await invites.merchant_users(session, merchant_id)
        pending_invites = await invites.pending_invites(session, merchant_id)
        pending = await corrections.corrections(session, merchant_ids=[merchant_id], status="pending")
        decided = [
            r
            for r in await corrections.corrections(session, merchant_ids=[merchant_id], limit=30)
            if r.status != "pending"
        ]
        stories = await mm.featured_stories(session, scope)
        variants = await mm.variants(session, scope)
        excluded = await exclusions_of(session, merchant_id)
    url = request.rel_url
    more = query.offset + query.limit < data.total
    context: dict[str, Any] = {
        "merchant": merchant,
        "rows": data.rows,
        "total": data.total,
        "first": query.offset + 1 if data.rows else 0,
        "last": query.offset + len(data.rows),
        "buckets": data.buckets,
        "reach": data.reach,
        "form": query.form,
        "users": users,
        "invites": pending_invites,
        "pending": pending,
        "decided": decided,
        "stories": stories,
        "variants": variants,
        "excluded": excluded,
        "invite_days": services.settings.web.invite_days,
        "periods": PERIODS,
        "platforms": PLATFORMS,
        "sentiments": SENTIMENTS,
        "languages": sorted({lang for c in services.settings.campaigns.values() for lang in c.languages}),
        "invited": None,
        "previous_link": str(url.update_query(offset=str(max(0, query.offset - query.limit))))
        if query.offset
        else None,
        "next_link": str(url.update_query(offset=str(query.offset + query.limit))) if more else None,
        "back": f"/merchants/{merchant_id}",
        **charts(request_translator(request), data, query),
    }
    context.update(extra)
    return curator_page(request, "merchant_admin.html", status=status, **context)


@require(*CURATORS)
async def merchant_page(request: web.Request) -> web.StreamResponse:
    return await _show(request, _merchant_id(request))


@require(*CURATORS)
async def invite(request: web.Request) -> web.StreamResponse:
    merchant_id = _merchant_id(request)
    form = await request.post()
    try:
        invited = await actions.invite(
            request.app[SERVICES], merchant_id, actions.email_param(form_text(form, "email")), signed_in(request).id
        )
    except web.HTTPBadRequest as refused:
        return await _show(request, merchant_id, status=400, error=refused.text)
    # Shown here, once: the link is not kept anywhere (only its hash), so it cannot travel in a redirect.
    return await _show(request, merchant_id, invited=invited)


def _back(form: Any, merchant_id: int) -> str:
    return safe_next(form_text(form, "next"), f"/merchants/{merchant_id}")


@require(*CURATORS)
async def revoke(request: web.Request) -> web.StreamResponse:
    merchant_id = _merchant_id(request)
    invite_id = parse_id(request.match_info["invite_id"], "invite id")
    form = await request.post()
    await actions.revoke(request.app[SERVICES], merchant_id, invite_id)
    return redirect(request, _back(form, merchant_id), "notice", [request_translator(request)("madmin.revoked")])


@require(*CURATORS)
async def remove_user(request: web.Request) -> web.StreamResponse:
    merchant_id = _merchant_id(request)
    user_id = parse_id(request.match_info["user_id"], "user id")
    form = await request.post()
    await actions.remove_access(request.app[SERVICES], merchant_id, user_id)
    forget_sessions(request)  # the account's scope is read with its session: drop this process's copies
    return redirect(request, _back(form, merchant_id), "notice", [request_translator(request)("madmin.removed")])


async def _decide(request: web.Request, accept: bool) -> web.StreamResponse:
    merchant_id = _merchant_id(request)
    correction_id = parse_id(request.match_info["correction_id"], "request id")
    form = await request.post()
    back = _back(form, merchant_id)
    t = request_translator(request)
    try:
        note = reason_param(form.get("note"), required=False, name="note")
        await actions.decide(
            request.app[SERVICES],
            correction_id,
            accept=accept,
            actor=signed_in(request).id,
            note=note,
            merchant_id=merchant_id,
        )
    except (web.HTTPBadRequest, web.HTTPConflict) as refused:
        return redirect(request, back, "error", [refused.text or ""])
    return redirect(request, back, "notice", [t("madmin.accepted" if accept else "madmin.rejected")])


@require(*CURATORS)
async def accept(request: web.Request) -> web.StreamResponse:
    return await _decide(request, True)


@require(*CURATORS)
async def reject(request: web.Request) -> web.StreamResponse:
    return await _decide(request, False)


def setup(app: web.Application) -> None:
    app.router.add_get("/merchants", merchants_page, name="merchants")
    app.router.add_get("/merchants/{merchant_id}", merchant_page)
    app.router.add_post("/merchants/{merchant_id}/invites", invite)
    app.router.add_post("/merchants/{merchant_id}/invites/{invite_id}/revoke", revoke)
    app.router.add_post("/merchants/{merchant_id}/users/{user_id}/remove", remove_user)
    app.router.add_post("/merchants/{merchant_id}/requests/{correction_id}/accept", accept)
    app.router.add_post("/merchants/{merchant_id}/requests/{correction_id}/reject", reject)
    merchant_admin_api.setup(app)
    add_nav(app, "/merchants", "nav.merchants", *CURATORS)
