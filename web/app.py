"""The aiohttp application: `/healthz` (the process is up), `/readyz` (the database answers and is migrated)
and the home page summarising campaigns, sources and recent job runs (for admins and curators: a merchant
is sent to /merchant, an anonymous visitor to the login page); `create_app` assembles it with the sign-in
routes (web/account.py), the curator pages (web/curator.py), the JSON API (web/api.py, described by
web/openapi.py), the public feed (web/feeds.py) and the middlewares, outermost first: security headers,
session (it sees the final response, error pages included, to maintain its cookie), error pages, CSRF.

Pages are rendered by Jinja2 with autoescaping on: post text and names are untrusted everywhere they are
shown. Every response carries a strict Content-Security-Policy so that even a missed escape cannot run
a script.
"""

from __future__ import annotations

import asyncio
import logging
from importlib.metadata import version
from typing import Any

import jinja2
from aiohttp import web
from sqlalchemy import text

from jobs.services import Services
from listener.readiness import UNCOLLECTABLE, source_readiness
from storage.migrate import schema_state
from storage.repositories.job_runs import recent_runs
from storage.repositories.quarantine import counts_by_source
from storage.repositories.sources import all_sources
from storage.repositories.users import Role
from storage.repositories.workers import live_workers
from web import account, api, curator, feeds, merchant_admin, metrics, openapi, portal, reports_page, unsubscribe
from web.auth import Handler, current_user, is_api, login_redirect, request_translator, session_middleware
from web.csrf import csrf_middleware
from web.errors import error_pages
from web.keys import HASH_SLOTS, NAV, SERVICES, SESSION_CACHE, TEMPLATES
from web.pages import render
from web.session_cache import SessionCache

__all__ = ["SERVICES", "TEMPLATES", "create_app", "render"]  # the keys and render() are re-exported here

log = logging.getLogger(__name__)

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_INTERNAL_ERROR = "Internal error: the operator can find the details in the log."


def _harden(headers: Any) -> None:
    headers.setdefault("Content-Security-Policy", _CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _harden(exc.headers)
        raise
    except Exception:
        # The details go to the log, never to the page.
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_api(request):
            response = web.json_response({"error": _INTERNAL_ERROR}, status=500)
        else:
            response = web.Response(status=500, text=_INTERNAL_ERROR + "\n")
    _harden(response.headers)
    return response


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        state = await schema_state(services.engine)
    except Exception as exc:
        log.warning("readiness check failed: %s", type(exc).__name__)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    if not state.up_to_date:
        return web.json_response(
            {"status": "unavailable", "database": "ok", "schema": state.current, "expected": state.head},
            status=503,
        )
    return web.json_response({"status": "ready", "database": "ok", "schema": state.current})


MERCHANT_HOME = "/merchant"


async def home(request: web.Request) -> web.Response:
    user = current_user(request)
    if user is None:
        raise login_redirect(request)
    if user.role is Role.MERCHANT:
        raise web.HTTPSeeOther(MERCHANT_HOME)
    if user.role not in (Role.ADMIN, Role.CURATOR):
        raise web.HTTPForbidden(text=request_translator(request)("auth.wrong_role"))
    services = request.app[SERVICES]
    async with services.sessions() as session:
        runs = await recent_runs(session, limit=10)
        alive = await live_workers(session)
        state = {row.name: row for row in await all_sources(session)}
        quarantined = await counts_by_source(session)
    return render(
        request,
        "home.html",
        version=version("campaign-listener"),
        campaigns=services.settings.campaigns,
        sources=source_readiness(services.settings),
        state=state,
        quarantined=quarantined,
        uncollectable=UNCOLLECTABLE,
        runs=runs,
        workers=alive,
    )


def create_app(services: Services) -> web.Application:
    app = web.Application(
        middlewares=[security_headers, session_middleware, error_pages, csrf_middleware], client_max_size=1024**2
    )
    app[SERVICES] = services
    app[NAV] = []
    app[HASH_SLOTS] = asyncio.Semaphore(2)
    app[SESSION_CACHE] = SessionCache()
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.PackageLoader("web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_get("/", home, name="home")
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    metrics.setup(app)
    app.router.add_static("/static/", path=__file__.rsplit("/", 1)[0] + "/static", name="static")
    account.setup(app)
    curator.setup(app)
    api.setup(app)
    openapi.setup(app)
    feeds.setup(app)
    unsubscribe.setup(app)
    portal.setup(app)  # the merchant portal (/merchant, /invite, /api/portal)
    merchant_admin.setup(app)  # the curators' merchant pages (/merchants, /api/merchants, /api/corrections)
    reports_page.setup(app)  # the weekly reports (/reports)
    return app
