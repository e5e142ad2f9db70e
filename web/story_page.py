"""One story for the curator: GET /stories/{id} shows the post, its analysis explained, the merchant, the score
breakdown, the history, the rights requests and the duplicates grouped under it, with the actions its state
allows. Each action is a plain form posting to /stories/{id}/<action>; success redirects back to the story
with the result (Post/Redirect/Get); a refusal (a rule of the state machine, the merchant's opt-out, the
weekly cap...) shows the page again with the reason and the curator's input kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from jobs.story_scoring import WEIGHTS
from storage.repositories import stories as repo
from storage.repositories._sql import utcnow
from storage.repositories.users import Role
from web import curation
from web.auth import request_translator, require
from web.flash import redirect
from web.keys import SERVICES
from web.page_tools import curator_page, form_text, local, signed_in, utc
from web.params import MAX_MESSAGE, MAX_REASON, parse_id, parse_moment, parse_state, reason_param

CURATORS = (Role.ADMIN, Role.CURATOR)
MOVES = ("shortlisted", "archived", "rejected")  # the plain moves a form may ask for


def _story_id(request: web.Request) -> int:
    return parse_id(request.match_info["id"], "story id")


def _suggested(detail: repo.StoryDetail) -> str | None:
    tag = (detail.consent_hashtag or "").strip().lstrip("#")
    if not tag:
        return None
    return repo.suggested_message(detail.row.language, detail.row.author_handle, tag, detail.campaign_name)


def _breakdown(detail: repo.StoryDetail) -> tuple[list[tuple[str, float, float]], list[tuple[str, float]]]:
    """(factor, weighted value, weight) rows and (penalty, multiplier) rows of the stored breakdown."""
    factors = detail.score_breakdown.get("factors")
    if not isinstance(factors, dict):
        return [], []
    weighted = [(name, float(v), WEIGHTS[name]) for name, v in factors.items() if name in WEIGHTS]
    penalties = [(name, float(v)) for name, v in factors.items() if name not in WEIGHTS]
    return weighted, penalties


async def _show(
    request: web.Request, story_id: int, *, status: int = 200, error: str | None = None, **kept: Any
) -> web.Response:
    services = request.app[SERVICES]
    detail = await curation.detail(services, story_id)
    campaign = await curation.story_campaign(services, story_id)
    now = utcnow()
    factors, penalties = _breakdown(detail)
    rights = [
        (r, repo.reply_url(detail.row.platform, detail.post_platform_id, r.message) if r.status == "pending" else None)
        for r in detail.rights_requests
    ]
    feature_days = services.settings.stories.feature_days
    context: dict[str, Any] = {
        "message": _suggested(detail) or "",
        "feature_from": local(now, campaign.timezone),
        "feature_until": local(now + timedelta(days=feature_days), campaign.timezone),
        "reason": "",
    }
    context.update({key: value for key, value in kept.items() if value is not None})
    return curator_page(
        request,
        "story.html",
        status=status,
        d=detail,
        row=detail.row,
        error=error,
        factors=factors,
        penalties=penalties,
        rights=rights,
        timezone=campaign.timezone.key,
        feature_days=feature_days,
        can_undo=bool(detail.transitions),
        max_message=MAX_MESSAGE,
        max_reason=MAX_REASON,
        **context,
    )


@require(*CURATORS)
async def story(request: web.Request) -> web.StreamResponse:
    return await _show(request, _story_id(request))


async def _act(request: web.Request, story_id: int, action: Any, kept: dict[str, Any]) -> web.StreamResponse | None:
    """Run the action; on a 400/409 show the story again with the reason and the input kept."""
    try:
        await action()
    except (web.HTTPBadRequest, web.HTTPConflict) as refused:
        return await _show(request, story_id, status=refused.status, error=refused.text, **kept)
    return None


@require(*CURATORS)
async def move(request: web.Request) -> web.StreamResponse:
    story_id, user, t = _story_id(request), signed_in(request), request_translator(request)
    form = await request.post()
    target = parse_state(form.get("to"), "to")
    if target.value not in MOVES:
        raise web.HTTPBadRequest(text=f"to must be one of: {', '.join(MOVES)}")
    reason_text = form_text(form, "reason")

    async def act() -> None:
        if target == repo.StoryState.REJECTED and reason_text is None:
            raise web.HTTPBadRequest(text=t("story.reason_required"))
        reason = reason_param(reason_text, required=target == repo.StoryState.REJECTED)
        await curation.move(request.app[SERVICES], user.id, story_id, target.value, reason)

    refused = await _act(request, story_id, act, {"reason": reason_text})
    if refused is not None:
        return refused
    return redirect(request, f"/stories/{story_id}", "notice", [t(f"story.moved.{target.value}")])


@require(*CURATORS)
async def request_rights(request: web.Request) -> web.StreamResponse:
    story_id, user, t = _story_id(request), signed_in(request), request_translator(request)
    message = form_text(await request.post(), "message")
    result: list[repo.RightsRequestResult] = []

    async def act() -> None:
        result.append(await curation.ask_rights(request.app[SERVICES], user.id, story_id, message))

    refused = await _act(request, story_id, act, {"message": message})
    if refused is not None:
        return refused
    lines = [t("story.rights_requested", tag=result[0].consent_hashtag, until=utc(result[0].expires_at))]
    lines.append(t("story.rights_send_reply") if result[0].reply_url else t("story.rights_copy_reply"))
    return redirect(request, f"/stories/{story_id}", "notice", lines)


@require(*CURATORS)
async def feature(request: web.Request) -> web.StreamResponse:
    story_id, user, t = _story_id(request), signed_in(request), request_translator(request)
    form = await request.post()
    start_text, end_text = form_text(form, "from"), form_text(form, "until")
    result: list[repo.FeatureResult] = []

    async def act() -> None:
        campaign = await curation.story_campaign(request.app[SERVICES], story_id)
        start: datetime | None = parse_moment(start_text, "from", campaign.timezone) if start_text else None
        end = parse_moment(end_text, "until", campaign.timezone) if end_text else None
        result.append(await curation.feature(request.app[SERVICES], user.id, story_id, start, end))

    refused = await _act(request, story_id, act, {"feature_from": start_text, "feature_until": end_text})
    if refused is not None:
        return refused
    done = result[0]
    lines = [t("story.featured", start=utc(done.featured_from), end=utc(done.featured_until)), *done.warnings]
    return redirect(request, f"/stories/{story_id}", "notice", lines)


@require(*CURATORS)
async def undo(request: web.Request) -> web.StreamResponse:
    story_id, user, t = _story_id(request), signed_in(request), request_translator(request)

    async def act() -> None:
        await curation.undo(request.app[SERVICES], user.id, story_id)

    refused = await _act(request, story_id, act, {})
    if refused is not None:
        return refused
    return redirect(request, f"/stories/{story_id}", "notice", [t("story.undone")])


def setup(app: web.Application) -> None:
    app.router.add_get("/stories/{id}", story, name="story")
    app.router.add_post("/stories/{id}/move", move)
    app.router.add_post("/stories/{id}/rights-request", request_rights)
    app.router.add_post("/stories/{id}/feature", feature)
    app.router.add_post("/stories/{id}/undo", undo)
