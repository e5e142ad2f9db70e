"""The weekly reports in the web app, for admins and curators: GET /reports lists each campaign's stored weeks
(and generates one on request), GET /reports/{campaign}/{week} shows a report, GET
/reports/{campaign}/{week}.{html,pdf,csv,json} downloads it as `report-NAME-YYYY-Www.EXT`, and POST
/reports/generate builds (or, when asked, rebuilds) a week, then comes back to it (Post/Redirect/Get).

Viewing never computes: a week not stored yet offers the button that generates it. The report's body is the
one the HTML and PDF files carry (jobs/reporting/html.py), embedded here in the reader's language; it has no
inline style or script, so the page keeps the app's strict Content-Security-Policy, and its stylesheet is
served from /reports/report.css.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from jobs import report
from jobs.reporting import CONTENT_TYPES, FORMATS, file_name, render
from jobs.reporting.html import render_body, stylesheet
from jobs.reporting.pdf import PdfUnavailable
from jobs.reporting.weeks import IsoWeek, WeekError, last_complete_week, resolve_week, week_containing
from storage.repositories._sql import utcnow
from storage.repositories.users import Role
from web.auth import add_nav, request_locale, request_translator, require
from web.flash import redirect
from web.keys import SERVICES
from web.page_tools import curator_page, form_text

CURATORS = (Role.ADMIN, Role.CURATOR)


def _campaign(request: web.Request, slug: str) -> tuple[str, Any]:
    services = request.app[SERVICES]
    campaign = services.settings.campaigns.get(slug)
    if campaign is None or slug not in services.campaign_ids:
        raise web.HTTPNotFound(text=request_translator(request)("reports.unknown_campaign", campaign=slug))
    return slug, campaign


def _week(request: web.Request, text: str) -> IsoWeek:
    try:
        return IsoWeek.parse(text)
    except WeekError as exc:
        raise web.HTTPNotFound(text=str(exc)) from None


@require(*CURATORS)
async def reports_list(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    now = utcnow()
    campaigns = []
    async with services.sessions() as session:
        for slug, campaign in services.settings.campaigns.items():
            campaigns.append(
                {
                    "slug": slug,
                    "name": campaign.name,
                    "timezone": campaign.timezone,
                    "recipients": len(campaign.report_recipients),
                    "last_complete": str(last_complete_week(now, campaign.timezone)),
                    "current": str(week_containing(now, campaign.timezone)),
                    "weeks": await report.stored_weeks(session, services.campaign_ids[slug]),
                }
            )
    return curator_page(request, "reports.html", campaigns=campaigns)


@require(*CURATORS)
async def report_page(request: web.Request) -> web.StreamResponse:
    slug, campaign = _campaign(request, request.match_info["campaign"])
    week = _week(request, request.match_info["week"])
    services = request.app[SERVICES]
    async with services.sessions() as session:
        stored = await report.stored(session, services.campaign_ids[slug], week)
    if stored is None:
        return curator_page(request, "reports_missing.html", status=404, slug=slug, name=campaign.name, week=str(week))
    return curator_page(
        request,
        "reports_week.html",
        slug=slug,
        name=campaign.name,
        week=str(week),
        stored=stored,
        body=render_body(stored.data, request_locale(request)),
        formats=FORMATS,
        file_name=file_name,
    )


@require(*CURATORS)
async def download(request: web.Request) -> web.StreamResponse:
    slug, _ = _campaign(request, request.match_info["campaign"])
    week = _week(request, request.match_info["week"])
    fmt = request.match_info["format"]
    services = request.app[SERVICES]
    async with services.sessions() as session:
        stored = await report.stored(session, services.campaign_ids[slug], week)
    if stored is None:
        raise web.HTTPNotFound(text=request_translator(request)("reports.not_generated", week=str(week)))
    try:
        body = render(stored.data, fmt, request_locale(request))
    except PdfUnavailable as exc:
        raise web.HTTPServiceUnavailable(text=str(exc)) from None
    name = file_name(slug, str(week), fmt)
    return web.Response(
        body=body,
        headers={"Content-Type": CONTENT_TYPES[fmt], "Content-Disposition": f'attachment; filename="{name}"'},
    )


@require(*CURATORS)
async def generate(request: web.Request) -> web.StreamResponse:
    t = request_translator(request)
    form = await request.post()
    slug, campaign = _campaign(request, form_text(form, "campaign") or "")
    try:
        week = resolve_week(form_text(form, "week"), utcnow(), campaign.timezone)
    except WeekError as exc:
        return redirect(request, "/reports", "error", [str(exc)])
    regenerate = form_text(form, "regenerate") is not None
    result = await report.generate(request.app[SERVICES], slug, week, regenerate=regenerate)
    message = t(f"reports.done.{result.status}", week=result.week, posts=result.data["headline"]["posts"])
    return redirect(request, f"/reports/{slug}/{result.week}", "notice", [message])


async def report_css(request: web.Request) -> web.Response:
    return web.Response(text=stylesheet(), content_type="text/css", headers={"Cache-Control": "max-age=3600"})


def setup(app: web.Application) -> None:
    app.router.add_get("/reports", reports_list, name="reports")
    app.router.add_get("/reports/report.css", report_css)
    app.router.add_post("/reports/generate", generate)
    week = r"{week:\d{4}-W\d{2}}"
    app.router.add_get(f"/reports/{{campaign}}/{week}", report_page)
    app.router.add_get(f"/reports/{{campaign}}/{week}.{{format:html|pdf|csv|json}}", download)
    add_nav(app, "/reports", "nav.reports", *CURATORS)
