"""The merchant portal's part of the OpenAPI description (web/openapi.py merges it): the merchant API under
/api/portal/ (web/portal_api.py), accepting an invite (web/portal_invite.py) and the curators' merchant API
(web/merchant_admin_api.py), with their shapes (web/portal_common.py, web/portal_actions.py).

Kept apart so that web/openapi.py stays one readable table; `operations` is handed web.openapi's own
Operation and Param classes (this module cannot import them: web.openapi imports this one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from web.params import MAX_BULK, MAX_OFFSET, PLATFORMS, SENTIMENTS

O = TypeVar("O")  # noqa: E741 - web.openapi.Operation
P = TypeVar("P")  # web.openapi.Param

MERCHANT = ("merchant",)
CURATORS = ("admin", "curator")
STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
KINDS = ["not_us", "alias", "handle", "takedown", "opt_out", "opt_in"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: tuple[str, ...] = (), /, **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _list(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": schema}


SCHEMAS: dict[str, Any] = {
    "PortalMerchant": _obj(
        id=INT,
        name=STR,
        city=_nullable(STR),
        feature_opt_out=BOOL,
        aliases=_list(STR),
        handles=_list(_obj(platform=STR, handle=STR)),
    ),
    "PortalMerchants": _obj(items=_list(_ref("PortalMerchant"))),
    "Period": _obj(**{"from": DATE, "to": DATE, "by": {"type": "string", "enum": ["day", "week"]}}),
    "Mention": _obj(
        id=INT,
        merchant_id=INT,
        post=_obj(
            id=INT,
            url=_nullable(STR),
            platform=STR,
            created_at=TIME,
            text=STR,
            language=STR,
            sentiment=STR,
            sentiment_score=NUM,
            engagement=_obj(likes=_nullable(INT), reposts=_nullable(INT), replies=_nullable(INT), views=_nullable(INT)),
        ),
        author=_obj(
            handle={"type": "string", "description": "A pseudonym (person-…) unless the author is public."},
            name=_nullable(STR),
            followers=_nullable(INT),
        ),
        link=_obj(method=STR, text=STR, score=NUM),
        flagged=BOOL,
    ),
    "MentionPage": _obj(items=_list(_ref("Mention")), total=INT, limit=INT, offset=INT, period=_ref("Period")),
    "Reach": _obj(mentions=INT, posts=INT, authors=INT, followers=INT, views=INT, engagement=INT),
    "Timeline": _obj(
        period=_ref("Period"),
        buckets=_list(
            _obj(
                start=DATE,
                end=DATE,
                mentions=INT,
                positive=INT,
                neutral=INT,
                negative=INT,
                average_sentiment=_nullable(NUM),
            )
        ),
        reach=_ref("Reach"),
    ),
    "FeaturedStories": _obj(
        items=_list(
            _obj(
                id=INT,
                campaign=STR,
                state=STR,
                text=STR,
                url=_nullable(STR),
                platform=STR,
                public_name=_nullable(STR),
                featured_from=_nullable(TIME),
                featured_until=_nullable(TIME),
                takedown_requested=BOOL,
            )
        )
    ),
    "Names": _obj(
        merchant=_ref("PortalMerchant"),
        variants=_list(_obj(text=STR, method=STR, mentions=INT)),
        discovered=_list(_obj(name=STR, status=STR, mentions=INT)),
    ),
    "MerchantRequest": _obj(
        id=INT,
        merchant_id=INT,
        kind={"type": "string", "enum": KINDS},
        status={"type": "string", "enum": ["pending", "accepted", "rejected"]},
        post_id=_nullable(INT),
        link_text=_nullable(STR),
        story_id=_nullable(INT),
        value=_nullable(STR),
        platform=_nullable(STR),
        note=_nullable(STR),
        created_at=TIME,
        decided_at=_nullable(TIME),
        decision_note=_nullable(STR),
    ),
    "MerchantRequests": _obj(items=_list(_ref("MerchantRequest"))),
    "MerchantRequestEnvelope": _obj(("request",), request=_ref("MerchantRequest")),
    "Note": _obj(note={"type": "string", "maxLength": 1000}),
    "Suggestion": _obj(
        ("kind", "value"),
        kind={"type": "string", "enum": ["alias", "handle"]},
        value={"type": "string", "maxLength": 300},
        platform={"type": "string", "description": "For a handle: x, instagram, mastodon, bluesky, facebook, tiktok."},
        note={"type": "string", "maxLength": 1000},
    ),
    "FeaturingChoice": _obj(("opt_out",), opt_out=BOOL),
    "FeaturingResult": _obj(feature_opt_out=BOOL, changed=BOOL),
    "InviteInfo": _obj(merchant=_obj(id=INT, name=STR), email=STR, expires_at=TIME),
    "InviteAcceptance": _obj(("password",), password=STR),
    "Invitation": _obj(("email",), email=STR),
    "Invited": _obj(
        invite=_obj(
            id=INT,
            merchant_id=INT,
            email=STR,
            created_at=TIME,
            expires_at=TIME,
            link={"type": "string", "description": "Shown once: only its hash is kept."},
        )
    ),
    "MerchantDirectory": _obj(
        items=_list(
            _obj(
                id=INT,
                name=STR,
                city=_nullable(STR),
                status=STR,
                feature_opt_out=BOOL,
                pending_requests=INT,
                users=INT,
            )
        ),
        total=INT,
        limit=INT,
        offset=INT,
    ),
    "MerchantFile": _obj(
        merchant={
            "allOf": [
                _ref("PortalMerchant"),
                _obj(blocked_aliases=_list(STR), excluded_aliases=_list(STR)),
            ]
        },
        users=_list(_obj(id=INT, email=STR, disabled=BOOL, last_login_at=_nullable(TIME))),
        invites=_list(_obj(id=INT, merchant_id=INT, email=STR, created_at=TIME, expires_at=TIME)),
        requests=_list(_ref("MerchantRequest")),
    ),
    "RequestsAcross": _obj(
        items=_list({"allOf": [_ref("MerchantRequest"), _obj(merchant_name=STR)]}),
    ),
    "Done": _obj(status=STR),
}


def operations(operation: Callable[..., O], param: Callable[..., P]) -> tuple[O, ...]:
    """The operations, built with web.openapi's Operation and Param."""
    merchant_id = param("merchant_id", "path", ID, "One of the account's merchants (GET /api/portal/merchants).")
    staff_merchant = param("merchant_id", "path", ID, "The merchant's id.")
    mention_id = param("mention_id", "path", ID, "A mention of that merchant.")
    story_id = param("story_id", "path", ID, "A story of that merchant.")
    token = param("token", "path", STR, "The token of the invitation link.")
    paging = (
        param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_BULK, "default": 25}, "Page size."),
        param("offset", "query", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}, "Rows to skip."),
    )
    filters = (
        param("days", "query", {"type": "integer", "enum": [7, 30, 90, 365]}, "The last days (without from/to)."),
        param("from", "query", DATE, "First day (UTC), default 30 days before `to`."),
        param("to", "query", DATE, "Last day (UTC, inclusive), default today."),
        param("platform", "query", {"type": "string", "enum": list(PLATFORMS)}, "The post's platform."),
        param("sentiment", "query", {"type": "string", "enum": list(SENTIMENTS)}, "The post's sentiment."),
        param("language", "query", STR, "A language code (fr, en, ar...)."),
    )
    portal, invites, admin = ("portal",), ("invites",), ("merchants",)
    base = "/api/portal/merchants"
    created = {201: ("Recorded for the curators.", "MerchantRequestEnvelope")}
    return (
        operation("get", base, "The merchants this account may see.", MERCHANT,
                  {200: ("The merchants.", "PortalMerchants")}, tags=portal),
        operation("get", base + "/{merchant_id}/mentions", "The merchant's mentions, newest first, filtered.",
                  MERCHANT, {200: ("A page.", "MentionPage")}, params=(merchant_id, *filters, *paging), tags=portal),
        operation("get", base + "/{merchant_id}/timeline", "Mention volume and sentiment per day or week, and reach.",
                  MERCHANT, {200: ("The buckets.", "Timeline")}, params=(merchant_id, *filters), tags=portal),
        operation("get", base + "/{merchant_id}/stories", "The merchant's featured stories.", MERCHANT,
                  {200: ("The stories.", "FeaturedStories")}, params=(merchant_id,), tags=portal),
        operation("get", base + "/{merchant_id}/names", "The names that linked posts to the merchant.", MERCHANT,
                  {200: ("The names.", "Names")}, params=(merchant_id,), tags=portal),
        operation("get", base + "/{merchant_id}/requests", "The merchant's requests and their decisions.", MERCHANT,
                  {200: ("The requests.", "MerchantRequests")}, params=(merchant_id,), tags=portal),
        operation("post", base + "/{merchant_id}/mentions/{mention_id}/flag", "Flag a mention as not about the "
                  "merchant (curators review it).", MERCHANT, created, params=(merchant_id, mention_id), body="Note",
                  body_required=False, refusable=True, tags=portal),
        operation("post", base + "/{merchant_id}/suggestions", "Suggest an alias or a handle (curators review it).",
                  MERCHANT, created, params=(merchant_id,), body="Suggestion", refusable=True, tags=portal),
        operation("post", base + "/{merchant_id}/featuring", "Consent to be featured, or opt out (applies at once).",
                  MERCHANT, {200: ("Saved.", "FeaturingResult")}, params=(merchant_id,), body="FeaturingChoice",
                  tags=portal),
        operation("post", base + "/{merchant_id}/stories/{story_id}/takedown", "Ask the curators to take a story "
                  "down (they see it first).", MERCHANT, created, params=(merchant_id, story_id), body="Note",
                  body_required=False, refusable=True, tags=portal),
        operation("get", "/api/invites/{token}", "What an invitation link is for (410 when expired or used).", (),
                  {200: ("The invitation.", "InviteInfo"), 410: ("Expired, used or unknown.", "Error")},
                  params=(token,), tags=invites),
        operation("post", "/api/invites/{token}", "Accept an invitation: set the password, get a session.", (),
                  {201: ("Signed in.", "Session"), 410: ("Expired, used or unknown.", "Error")}, params=(token,),
                  body="InviteAcceptance", tags=invites),
        operation("get", "/api/merchants", "The merchant registry, those with requests waiting first.", CURATORS,
                  {200: ("A page.", "MerchantDirectory")},
                  params=(param("q", "query", STR, "Part of the name."), *paging), tags=admin),
        operation("get", "/api/merchants/{merchant_id}", "One merchant: registry entry, accounts, invites, requests.",
                  CURATORS, {200: ("The merchant.", "MerchantFile")}, params=(staff_merchant,), tags=admin),
        operation("post", "/api/merchants/{merchant_id}/invites", "Invite an address to the merchant's portal; the "
                  "link comes back once.", CURATORS, {201: ("Invited.", "Invited")}, params=(staff_merchant,),
                  body="Invitation", tags=admin),
        operation("post", "/api/merchants/{merchant_id}/invites/{invite_id}/revoke", "Revoke a pending invitation.",
                  CURATORS, {200: ("Revoked.", "Done")},
                  params=(staff_merchant, param("invite_id", "path", ID, "The invitation.")), tags=admin),
        operation("post", "/api/merchants/{merchant_id}/users/{user_id}/remove", "Remove an account's access.",
                  CURATORS, {200: ("Removed.", "Done")},
                  params=(staff_merchant, param("user_id", "path", ID, "The account.")), tags=admin),
        operation("get", "/api/corrections", "Merchants' requests, pending takedowns first.", CURATORS,
                  {200: ("The requests.", "RequestsAcross")},
                  params=(param("status", "query", {"type": "string", "enum": ["pending", "accepted", "rejected"]},
                                "Default pending."),
                          param("kind", "query", {"type": "string", "enum": KINDS}, "One kind of request."),
                          param("merchant", "query", ID, "One merchant."), paging[0]), tags=admin),
        operation("post", "/api/corrections/{correction_id}/accept", "Accept a request and apply it.", CURATORS,
                  {200: ("Applied.", "MerchantRequestEnvelope")},
                  params=(param("correction_id", "path", ID, "The request."),), body="Note", body_required=False,
                  refusable=True, tags=admin),
        operation("post", "/api/corrections/{correction_id}/reject", "Decline a request.", CURATORS,
                  {200: ("Declined.", "MerchantRequestEnvelope")},
                  params=(param("correction_id", "path", ID, "The request."),), body="Note", body_required=False,
                  refusable=True, tags=admin),
    )  # fmt: skip
