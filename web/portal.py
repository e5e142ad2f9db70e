"""The merchant portal's pages, for merchant users only, in French and English.

GET /merchant sends a merchant to its shop's page (or lists its shops when it has several);
GET /merchant/{merchant_id} shows the mentions with filters (period, platform, sentiment, language), the
mention volume and sentiment trend as charts (web/charts.py: SVG drawn here, no script) and the reach;
GET /merchant/{merchant_id}/stories its featured stories, each with a takedown request;
GET /merchant/{merchant_id}/names the names that linked posts to it, suggestions, the featuring choice and
the requests made. The forms POST to /merchant/{merchant_id}/... and come back with the result
(Post/Redirect/Get). Every id in a URL is checked against the account's scope (web/portal_common.py).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage.repositories import corrections
from storage.repositories import merchant_mentions as mm
from storage.repositories.users import Role
from web import portal_actions as actions
from web import portal_api, portal_invite
from web.auth import add_nav, request_translator, require, safe_next
from web.charts import by_week, trend_svg, volume_svg
from web.flash import redirect
from web.i18n import Translator
from web.keys import SERVICES
from web.page_tools import curator_page, form_text, signed_in
from web.params import PLATFORMS, SENTIMENTS, parse_id
from web.portal_common import PERIODS, Dashboard, Query, author_of, dashboard, merchant_scope, not_found, parse_query

MERCHANT = Role.MERCHANT


async def _merchant(request: web.Request, merchant_id: int) -> Any:
    async with request.app[SERVICES].sessions() as session:
        found = await mm.merchants_in(session, [merchant_id])
    if not found:
        raise not_found(request)
    return found[0]


def _languages(request: web.Request) -> list[str]:
    campaigns = request.app[SERVICES].settings.campaigns.values()
    return sorted({language for c in campaigns for language in c.languages})


def charts(t: Translator, data: Dashboard, query: Query) -> dict[str, Any]:
    """The two SVG charts of a dashboard, with their texts in the page's language."""
    period = {"start": query.period.first.isoformat(), "end": query.period.last.isoformat()}
    unit = t("portal.by_week") if by_week(query.period.first, query.period.last) else t("portal.by_day")
    with_data = sum(1 for b in data.buckets if b.total)
    volume = volume_svg(
        data.buckets,
        chart_id="volume-chart",
        title=t("portal.volume_title"),
        desc=t("portal.volume_desc", unit=unit, total=data.total, **period),
        bar_title=lambda b: t("portal.bar_title", period=b.label, count=b.total),
    )
    trend = trend_svg(
        data.buckets,
        chart_id="trend-chart",
        title=t("portal.trend_title"),
        desc=t("portal.trend_desc", unit=unit, points=with_data, **period),
        point_title=lambda b: t("portal.point_title", period=b.label, average=f"{b.average or 0:+.2f}", count=b.total),
    )
    return {"volume_chart": volume, "trend_chart": trend, "chart_unit": unit}


def _pages(request: web.Request, query: Query, total: int) -> tuple[str | None, str | None]:
    url = request.rel_url
    previous = str(url.update_query(offset=str(max(0, query.offset - query.limit)))) if query.offset else None
    more = query.offset + query.limit < total
    return previous, str(url.update_query(offset=str(query.offset + query.limit))) if more else None


@require(MERCHANT)
async def portal_home(request: web.Request) -> web.StreamResponse:
    user = signed_in(request)
    async with request.app[SERVICES].sessions() as session:
        merchants = await mm.merchants_in(session, user.merchant_ids)
    if len(merchants) == 1:
        raise web.HTTPSeeOther(f"/merchant/{merchants[0].id}")
    return curator_page(request, "portal_home.html", merchants=merchants)


@require(MERCHANT)
async def mentions_page(request: web.Request) -> web.StreamResponse:
    scope, merchant_id = merchant_scope(request)
    services = request.app[SERVICES]
    query = parse_query(request.query)
    data = await dashboard(services, scope, query)
    key = services.pseudonym_key()
    previous_link, next_link = _pages(request, query, data.total)
    t = request_translator(request)
    return curator_page(
        request,
        "portal.html",
        merchant=await _merchant(request, merchant_id),
        tab="mentions",
        rows=[(row, *author_of(row, key)) for row in data.rows],
        total=data.total,
        first=query.offset + 1 if data.rows else 0,
        last=query.offset + len(data.rows),
        buckets=data.buckets,
        reach=data.reach,
        form=query.form,
        periods=PERIODS,
        platforms=PLATFORMS,
        sentiments=SENTIMENTS,
        languages=_languages(request),
        previous_link=previous_link,
        next_link=next_link,
        back=request.path_qs,
        **charts(t, data, query),
    )


@require(MERCHANT)
async def stories_page(request: web.Request) -> web.StreamResponse:
    scope, merchant_id = merchant_scope(request)
    async with request.app[SERVICES].sessions() as session:
        stories = await mm.featured_stories(session, scope)
    return curator_page(
        request,
        "portal_stories.html",
        merchant=await _merchant(request, merchant_id),
        tab="stories",
        stories=stories,
        back=request.path_qs,
    )


@require(MERCHANT)
async def names_page(request: web.Request) -> web.StreamResponse:
    scope, merchant_id = merchant_scope(request)
    async with request.app[SERVICES].sessions() as session:
        variants = await mm.variants(session, scope)
        discovered = await mm.discovered_variants(session, scope)
        requests = await corrections.corrections(session, merchant_ids=scope.merchant_ids, limit=50)
    return curator_page(
        request,
        "portal_names.html",
        merchant=await _merchant(request, merchant_id),
        tab="names",
        variants=variants,
        discovered=discovered,
        requests=requests,
        handle_platforms=actions.HANDLE_PLATFORMS,
        back=request.path_qs,
    )


# --- actions --------------------------------------------------------------------------------------------


def _back(form: Any, merchant_id: int) -> str:
    default = f"/merchant/{merchant_id}"
    target = safe_next(form_text(form, "next"), default)
    # Only back into this merchant's pages: a form must not be a redirect to anywhere on the site.
    return target if target == default or target.startswith((default + "/", default + "?")) else default


async def _refusal(request: web.Request, back: str, refused: web.HTTPException) -> web.Response:
    if isinstance(refused, web.HTTPNotFound):
        raise refused
    return redirect(request, back, "error", [refused.text or ""])


@require(MERCHANT)
async def flag(request: web.Request) -> web.StreamResponse:
    scope, merchant_id = merchant_scope(request)
    mention_id = parse_id(request.match_info["mention_id"], "mention id")
    form = await request.post()
    back = _back(form, merchant_id)
    t = request_translator(request)
    try:
        note = actions.note_param(form.get("note"))
        await actions.flag(request.app[SERVICES], scope, signed_in(request).id, mention_id, note)
    except (web.HTTPBadRequest, web.HTTPConflict, web.HTTPNotFound) as refused:
        return await _refusal(request, back, refused)
    return redirect(request, back, "notice", [t("portal.flagged")])


@require(MERCHANT)
async def suggest(request: web.Request) -> web.StreamResponse:
    scope, merchant_id = merchant_scope(request)
    form = await request.post()
    back = _back(form, merchant_id)
    t = request_translator(request)
    try:
        suggestion = actions.suggestion_params(form.get("kind"), form.get("value"), form.get("platform"))
        note = actions.note_param(form.get("note"))
        await actions.suggest(request.app[SERVICES], scope, merchant_id, signed_in(request).id, suggestion, note)
    except (web.HTTPBadRequest, web.HTTPConflict, web.HTTPNotFound) as refused:
        return await _refusal(request, back, refused)
    return redirect(request, back, "notice", [t("portal.suggested")])


@require(MERCHANT)
async def featuring(request: web.Request) -> web.StreamResponse:
    scope, merchant_id = merchant_scope(request)
    form = await request.post()
    back = _back(form, merchant_id)
    t = request_translator(request)
    choice = form_text(form, "featured")
    if choice not in ("yes", "no"):
        return redirect(request, back, "error", [t("portal.featuring_choose")])
    await actions.featuring(request.app[SERVICES], scope, merchant_id, signed_in(request).id, choice == "no")
    return redirect(request, back, "notice", [t("portal.opted_out" if choice == "no" else "portal.opted_in")])


@require(MERCHANT)
async def takedown(request: web.Request) -> web.StreamResponse:
    scope, merchant_id = merchant_scope(request)
    story_id = parse_id(request.match_info["story_id"], "story id")
    form = await request.post()
    back = _back(form, merchant_id)
    t = request_translator(request)
    try:
        note = actions.note_param(form.get("note"))
        await actions.takedown(request.app[SERVICES], scope, signed_in(request).id, story_id, note)
    except (web.HTTPBadRequest, web.HTTPConflict, web.HTTPNotFound) as refused:
        return await _refusal(request, back, refused)
    return redirect(request, back, "notice", [t("portal.takedown_requested")])


def setup(app: web.Application) -> None:
    app.router.add_get("/merchant", portal_home, name="portal")
    app.router.add_get("/merchant/{merchant_id}", mentions_page)
    app.router.add_get("/merchant/{merchant_id}/stories", stories_page)
    app.router.add_get("/merchant/{merchant_id}/names", names_page)
    app.router.add_post("/merchant/{merchant_id}/mentions/{mention_id}/flag", flag)
    app.router.add_post("/merchant/{merchant_id}/suggestions", suggest)
    app.router.add_post("/merchant/{merchant_id}/featuring", featuring)
    app.router.add_post("/merchant/{merchant_id}/stories/{story_id}/takedown", takedown)
    portal_api.setup(app)
    portal_invite.setup(app)
    add_nav(app, "/merchant", "nav.portal", MERCHANT)
