"""Review of discovered businesses: GET /discovered lists names found in posts but absent from the registry,
most mentioned first, with a few sample posts each; POST /discovered/{id}/add (name, city, category),
/discovered/{id}/merge (an existing merchant) and /discovered/{id}/ignore decide about one name, then come
back to the list with the result (Post/Redirect/Get). A refusal (already reviewed, the merchant exists)
shows the list again with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from storage.repositories.discovered import pending_discoveries
from storage.repositories.users import Role
from web import curation
from web.auth import request_translator, require, safe_next
from web.flash import redirect
from web.keys import SERVICES
from web.page_tools import curator_page, form_text
from web.params import paging, parse_id

CURATORS = (Role.ADMIN, Role.CURATOR)
PAGE_SIZE = 25


async def _show(request: web.Request, *, status: int = 200, error: str | None = None) -> web.Response:
    services = request.app[SERVICES]
    limit, offset = paging(request.query, default_limit=PAGE_SIZE)
    async with services.sessions() as session:
        items, total = await pending_discoveries(session, limit=limit, offset=offset)
    base = request.rel_url
    return curator_page(
        request,
        "discovered.html",
        status=status,
        error=error,
        items=items,
        total=total,
        first=offset + 1 if items else 0,
        last=offset + len(items),
        previous_link=str(base.update_query(offset=str(max(0, offset - limit)))) if offset > 0 else None,
        next_link=str(base.update_query(offset=str(offset + limit))) if offset + limit < total else None,
        merchants=await curation.merchant_choices(services),
        back=request.path_qs,
    )


@require(*CURATORS)
async def discovered(request: web.Request) -> web.StreamResponse:
    return await _show(request)


async def _decide(request: web.Request, decide: Callable[[int, Any], Awaitable[str]]) -> web.StreamResponse:
    """Parse the id and the form, apply the decision; PRG on success, the list with the reason on a refusal."""
    discovered_id = parse_id(request.match_info["id"], "discovered business id")
    form = await request.post()
    back = safe_next(form_text(form, "next"), "/discovered")
    try:
        done = await decide(discovered_id, form)
    except (web.HTTPBadRequest, web.HTTPConflict) as refused:
        return await _show(request, status=refused.status, error=refused.text)
    return redirect(request, back, "notice", [done])


@require(*CURATORS)
async def add(request: web.Request) -> web.StreamResponse:
    t = request_translator(request)

    async def decide(discovered_id: int, form: Any) -> str:
        merchant = await curation.add_to_registry(
            request.app[SERVICES],
            discovered_id,
            form_text(form, "name"),
            form_text(form, "city"),
            form_text(form, "category"),
        )
        return t("discovered.added", name=merchant.name, id=merchant.id)

    return await _decide(request, decide)


@require(*CURATORS)
async def merge(request: web.Request) -> web.StreamResponse:
    t = request_translator(request)

    async def decide(discovered_id: int, form: Any) -> str:
        chosen = form_text(form, "merchant_id") or form_text(form, "merchant")
        if chosen is None:
            raise web.HTTPBadRequest(text=t("discovered.choose_merchant"))
        merchant = await curation.merge_into(request.app[SERVICES], discovered_id, parse_id(chosen, "merchant_id"))
        return t("discovered.merged", name=merchant.name, id=merchant.id)

    return await _decide(request, decide)


@require(*CURATORS)
async def ignore(request: web.Request) -> web.StreamResponse:
    t = request_translator(request)

    async def decide(discovered_id: int, form: Any) -> str:
        await curation.ignore(request.app[SERVICES], discovered_id)
        return t("discovered.ignored")

    return await _decide(request, decide)


def setup(app: web.Application) -> None:
    app.router.add_get("/discovered", discovered, name="discovered")
    app.router.add_post("/discovered/{id}/add", add)
    app.router.add_post("/discovered/{id}/merge", merge)
    app.router.add_post("/discovered/{id}/ignore", ignore)
