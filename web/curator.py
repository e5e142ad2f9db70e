"""The curators' queue page: GET /queue (filters, sorting, paging) and POST /queue/bulk (shortlist, reject with
a reason, or archive the ticked stories, then back to the same filtered page with the result: Post/Redirect/Get).

Works without JavaScript: filters are a plain GET form, bulk actions a plain POST form. web/static/queue.js
only adds keyboard shortcuts and "select all". `setup` also registers the story page (web/story_page.py)
and the discovered-business review (web/discovered_page.py), all for admins and curators.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage.repositories import stories as repo
from storage.repositories.story_queue import SORTS
from storage.repositories.users import Role
from web import curation, discovered_page, merchant_admin, story_page
from web.auth import add_nav, request_translator, require, safe_next
from web.flash import redirect
from web.keys import SERVICES
from web.page_tools import curator_page, form_text, signed_in
from web.params import PLATFORMS, SENTIMENTS, STATES, paging, parse_ids, queue_filters, reason_param

CURATORS = (Role.ADMIN, Role.CURATOR)
PAGE_SIZE = 50
DEFAULT_STATES = ("candidate",)  # the work to do, until the curator asks for something else
BULK_ACTIONS = {"shortlist": "shortlisted", "reject": "rejected", "archive": "archived"}
_FILTER_FIELDS = ("campaign", "language", "sentiment", "platform", "merchant", "from", "to", "min_score", "max_score")


def _languages(request: web.Request) -> list[str]:
    campaigns = request.app[SERVICES].settings.campaigns.values()
    return sorted({language for c in campaigns for language in c.languages})


def _form_values(query: Any, states: tuple[str, ...]) -> dict[str, Any]:
    """The filter form as the visitor filled it in (to show it again), with the states in effect."""
    values = {name: (query.get(name) or "").strip() for name in _FILTER_FIELDS}
    values["sort"] = query.get("sort") or "score"
    values["states"] = states
    return values


def _page_link(request: web.Request, offset: int) -> str:
    return str(request.rel_url.update_query(offset=str(offset)))


@require(*CURATORS)
async def queue(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    query = request.query
    defaults = () if "filtered" in query or "state" in query else DEFAULT_STATES
    filters = queue_filters(query, services.campaign_ids, default_states=defaults)
    limit, offset = paging(query, default_limit=PAGE_SIZE)
    try:
        page = await curation.queue_page(services, filters, limit, offset)
    except ValueError as exc:  # a filter the repository refuses (paging and states are checked already)
        raise web.HTTPBadRequest(text=str(exc)) from None
    campaigns = services.settings.campaigns
    slugs = {cid: slug for slug, cid in services.campaign_ids.items()}
    more = len(page.rows) == limit and (page.capped or offset + limit < page.total)
    return curator_page(
        request,
        "queue.html",
        rows=page.rows,
        total=page.total,
        capped=page.capped,
        cap=repo.COUNT_CAP,
        first=offset + 1 if page.rows else 0,
        last=offset + len(page.rows),
        previous_link=_page_link(request, max(0, offset - limit)) if offset > 0 else None,
        next_link=_page_link(request, offset + limit) if more else None,
        form=_form_values(query, filters.states),
        campaigns=[(slug, c.name) for slug, c in campaigns.items()],
        campaign_slugs=slugs,
        states=STATES,
        languages=_languages(request),
        sentiments=SENTIMENTS,
        platforms=PLATFORMS,
        sorts=SORTS,
        merchants=await curation.merchant_choices(services),
        bulk_actions=BULK_ACTIONS,
        back=request.path_qs,
        takedowns=await merchant_admin.takedown_block(services),  # merchants' takedown requests: seen first
    )


@require(*CURATORS)
async def bulk(request: web.Request) -> web.StreamResponse:
    user = signed_in(request)
    t = request_translator(request)
    form = await request.post()
    back = safe_next(form_text(form, "next"), "/queue")
    action = form_text(form, "action")
    if action not in BULK_ACTIONS:
        return redirect(request, back, "error", [t("queue.bulk_no_action")])
    raw_ids = [v for v in form.getall("ids", []) if isinstance(v, str)]
    if not raw_ids:
        return redirect(request, back, "error", [t("queue.bulk_no_selection")])
    if action == "reject" and not form_text(form, "reason"):
        return redirect(request, back, "error", [t("queue.bulk_reason_needed")])
    ids = parse_ids(raw_ids)
    reason = reason_param(form.get("reason"), required=action == "reject")
    result = await curation.bulk_move(request.app[SERVICES], user.id, ids, BULK_ACTIONS[action], reason)
    lines = [t(f"queue.bulk_done.{action}", count=len(result.changed))]
    if result.refused:
        lines.append(t("queue.bulk_refused", count=len(result.refused)))
        lines += [f"#{story_id}: {why}" for story_id, why in list(result.refused.items())[:5]]
    return redirect(request, back, "error" if result.refused and not result.changed else "notice", lines)


def setup(app: web.Application) -> None:
    app.router.add_get("/queue", queue, name="queue")
    app.router.add_post("/queue/bulk", bulk, name="queue-bulk")
    story_page.setup(app)
    discovered_page.setup(app)
    add_nav(app, "/queue", "nav.queue", *CURATORS)
    add_nav(app, "/discovered", "nav.discovered", *CURATORS)
