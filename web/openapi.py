"""The OpenAPI 3.1 description of the JSON API, served at GET /api/openapi.json.

Built from one declarative table (`OPERATIONS`: method, path, who may call it, parameters, body, answers)
plus the shared shapes (`SCHEMAS`, the JSON of web/story_json.py). The usual error answers are added from
the table's facts rather than repeated: 400 wherever there is input, 401/403 for signed-in routes, 403 for a
missing CSRF token on unsafe methods, 404 for a path id, 409 where a rule can refuse the move. A test checks
that every /api route the application registers is described here and that nothing described is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from aiohttp import web

from web import openapi_portal
from web.keys import SERVICES
from web.params import MAX_BULK, MAX_OFFSET, PLATFORMS, SENTIMENTS, STATES
from web.story_json import json_response

CURATORS = ("admin", "curator")
ANYONE_SIGNED_IN = ("admin", "curator", "merchant")
_UNSAFE = ("post", "put", "patch", "delete")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: tuple[str, ...] = (), /, **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "query" or "path"
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    roles: tuple[str, ...]  # empty: public
    answers: dict[int, tuple[str, str | None]]  # status -> (description, schema name)
    params: tuple[Param, ...] = ()
    body: str | None = None  # schema name of the JSON body
    body_required: bool = True
    refusable: bool = False  # 409 when a rule refuses
    tags: tuple[str, ...] = ()


STORY_ID = Param("id", "path", ID, "The story's id.", required=True)
DISCOVERED_ID = Param("id", "path", ID, "The discovered business's id.", required=True)
PAGING = (
    Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_BULK, "default": 50}, "Page size."),
    Param("offset", "query", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}, "Rows to skip."),
)
QUEUE_FILTERS = (
    Param("campaign", "query", STR, "A campaign slug (GET /api/campaigns)."),
    Param(
        "state",
        "query",
        {"type": "array", "items": {"type": "string", "enum": list(STATES)}},
        "States to include (repeat the parameter or separate with commas); none: every state.",
    ),
    Param("language", "query", STR, "A language code (fr, en, ar...)."),
    Param("sentiment", "query", {"type": "string", "enum": list(SENTIMENTS)}, "The post's sentiment."),
    Param("platform", "query", {"type": "string", "enum": list(PLATFORMS)}, "The post's platform."),
    Param("merchant", "query", ID, "A merchant id."),
    Param("from", "query", STR, "Posts created on or after this date (YYYY-MM-DD, UTC) or ISO 8601 time."),
    Param("to", "query", STR, "Posts created on or before this date (YYYY-MM-DD, UTC, inclusive) or before a time."),
    Param("min_score", "query", {"type": "number", "minimum": 0, "maximum": 1}, "Lowest score."),
    Param("max_score", "query", {"type": "number", "minimum": 0, "maximum": 1}, "Highest score."),
    Param(
        "sort",
        "query",
        {"type": "string", "enum": ["score", "newest", "oldest", "engagement"], "default": "score"},
        "Order of the rows.",
    ),
)

SCHEMAS: dict[str, Any] = {
    "Error": _obj(("error",), error=STR),
    "Credentials": _obj(("email", "password"), email=STR, password=STR),
    "PasswordChange": _obj(("current_password", "new_password"), current_password=STR, new_password=STR),
    "User": _obj(
        id=INT,
        email=STR,
        role={"type": "string", "enum": list(ANYONE_SIGNED_IN)},
        merchant_ids={"type": "array", "items": INT},
        locale=_nullable(STR),
    ),
    "Session": _obj(("user", "csrf_token"), user=_ref("User"), csrf_token=STR),
    "PasswordChanged": _obj(status=STR, other_sessions_ended=INT),
    "Story": _obj(
        id=INT,
        campaign=STR,
        state={"type": "string", "enum": list(STATES)},
        score=NUM,
        text=STR,
        author=_obj(handle=STR, name=STR, followers=_nullable(INT)),
        platform=STR,
        language=STR,
        sentiment=STR,
        merchant=_nullable(_obj(id=INT, name=STR)),
        post=_obj(id=INT, url=_nullable(STR), created_at=TIME),
        engagement=_obj(likes=_nullable(INT), reposts=_nullable(INT), replies=_nullable(INT)),
        has_media=BOOL,
        duplicate_count=INT,
        original_story_id=_nullable(INT),
    ),
    "StoryPage": _obj(
        ("items", "total", "total_capped", "limit", "offset"),
        items={"type": "array", "items": _ref("Story")},
        total={"type": "integer", "description": "Exact up to 10,000; 10,001 with total_capped true means more."},
        total_capped=BOOL,
        limit=INT,
        offset=INT,
    ),
    "RightsRequest": _obj(
        id=INT,
        status={"type": "string", "enum": ["pending", "granted", "expired", "cancelled"]},
        requested_at=TIME,
        expires_at=TIME,
        message=STR,
        consent_hashtag=STR,
        evidence_post_id=_nullable(INT),
        evidence_url=_nullable(STR),
        granted_at=_nullable(TIME),
    ),
    "StoryDetail": {
        "allOf": [
            _ref("Story"),
            _obj(
                campaign_name=STR,
                consent_hashtag=_nullable(STR),
                post_kind={"type": "string", "enum": ["original", "reply", "quote", "repost"]},
                post_platform_id=STR,
                hashtags={"type": "array", "items": STR},
                media_count=INT,
                author_url=_nullable(STR),
                author_verified=_nullable(BOOL),
                score_breakdown={"type": "object"},
                public_name=_nullable(STR),
                featured_from=_nullable(TIME),
                featured_until=_nullable(TIME),
                analysis=_nullable({"type": "object"}),
                merchant_detail=_nullable(_obj(id=INT, name=STR, feature_opt_out=BOOL)),
                mentions={"type": "array", "items": _obj(surface=STR, method=STR, score=NUM)},
                history={"type": "array", "items": _obj(to=STR, reason=_nullable(STR), at=TIME)},
                rights_requests={"type": "array", "items": _ref("RightsRequest")},
                duplicates={"type": "array", "items": _obj(id=INT, kind=STR, state=STR)},
                allowed_states={"type": "array", "items": STR},
            ),
        ]
    },
    "StoryEnvelope": _obj(("story",), story=_ref("StoryDetail")),
    "Transition": _obj(
        ("to",),
        to={"type": "string", "enum": ["shortlisted", "archived", "rejected"]},
        reason={"type": "string", "description": "Required to reject."},
    ),
    "Bulk": _obj(
        ("ids", "to"),
        ids={"type": "array", "items": ID, "minItems": 1, "maxItems": MAX_BULK},
        to={"type": "string", "enum": ["shortlisted", "archived", "rejected"]},
        reason=STR,
    ),
    "BulkResult": _obj(
        changed={"type": "array", "items": INT},
        refused={"type": "array", "items": _obj(id=INT, reason=STR)},
    ),
    "RightsRequestBody": _obj(message={"type": "string", "description": "Must name the consent hashtag."}),
    "RightsRequested": _obj(
        rights_request=_obj(
            id=INT, message=STR, reply_url=_nullable(STR), post_url=_nullable(STR), consent_hashtag=STR, expires_at=TIME
        ),
        story=_ref("StoryDetail"),
    ),
    "FeatureBody": _obj(
        **{
            "from": {"type": "string", "description": "ISO 8601; without an offset, the campaign's time zone."},
            "until": {"type": "string", "description": "Default: stories.feature_days after from."},
        }
    ),
    "Featured": _obj(
        feature=_obj(story_id=INT, warnings={"type": "array", "items": STR}, **{"from": TIME, "until": TIME}),
        story=_ref("StoryDetail"),
    ),
    "Discovered": _obj(
        id=INT, name=STR, mention_count=INT, first_seen_at=TIME, samples={"type": "array", "items": STR}
    ),
    "DiscoveredPage": _obj(items={"type": "array", "items": _ref("Discovered")}, total=INT, limit=INT, offset=INT),
    "NewMerchant": _obj(("name",), name=STR, city=STR, category=STR),
    "MergeInto": _obj(("merchant_id",), merchant_id=ID),
    "Merchant": _obj(id=INT, name=STR, city=_nullable(STR), category=_nullable(STR)),
    "Decision": _obj(status={"type": "string", "enum": ["added", "merged", "ignored"]}, merchant=_ref("Merchant")),
    "Campaigns": _obj(
        items={
            "type": "array",
            "items": _obj(
                id=_nullable(INT),
                slug=STR,
                name=STR,
                hashtags={"type": "array", "items": STR},
                consent_hashtag=_nullable(STR),
                languages={"type": "array", "items": STR},
                region=STR,
                timezone=STR,
                start=_nullable({"type": "string", "format": "date"}),
                end=_nullable({"type": "string", "format": "date"}),
            ),
        }
    ),
}

OPERATIONS: tuple[Operation, ...] = (
    Operation("post", "/api/session", "Sign in: sets the session cookie, returns the CSRF token.", (),
              {200: ("Signed in.", "Session"), 401: ("Wrong e-mail or password.", "Error"),
               429: ("Too many failed attempts.", "Error")}, body="Credentials", tags=("session",)),
    Operation("delete", "/api/session", "Sign out.", ANYONE_SIGNED_IN, {204: ("Signed out.", None)}, tags=("session",)),
    Operation("get", "/api/me", "The signed-in user and the session's CSRF token.", ANYONE_SIGNED_IN,
              {200: ("The user.", "Session")}, tags=("session",)),
    Operation("post", "/api/me/password", "Change one's password (ends the other sessions).", ANYONE_SIGNED_IN,
              {200: ("Changed.", "PasswordChanged"), 429: ("Too many failed attempts.", "Error")},
              body="PasswordChange", tags=("session",)),
    Operation("get", "/api/openapi.json", "This description.", (), {200: ("OpenAPI 3.1.", None)}, tags=("meta",)),
    Operation("get", "/api/stories", "The queue: one page of stories, filtered and sorted.", CURATORS,
              {200: ("A page.", "StoryPage")}, params=QUEUE_FILTERS + PAGING, tags=("stories",)),
    Operation("get", "/api/stories/{id}", "One story in full.", CURATORS,
              {200: ("The story.", "StoryEnvelope")}, params=(STORY_ID,), tags=("stories",)),
    Operation("post", "/api/stories/{id}/transitions", "Shortlist, archive, reject (with a reason), or withdraw a "
              "rights request (to shortlisted).", CURATORS, {200: ("Moved.", "StoryEnvelope")},
              params=(STORY_ID,), body="Transition", refusable=True, tags=("stories",)),
    Operation("post", "/api/stories/bulk", "Move many stories; those that may not move are listed with why.",
              CURATORS, {200: ("Done.", "BulkResult")}, body="Bulk", tags=("stories",)),
    Operation("post", "/api/stories/{id}/undo", "Revert the story's last move.", CURATORS,
              {200: ("Reverted.", "StoryEnvelope")}, params=(STORY_ID,), refusable=True, tags=("stories",)),
    Operation("post", "/api/stories/{id}/rights-requests", "Ask the author for the right to feature a shortlisted "
              "story; returns the reply to send (and a link opening it where the platform has one).", CURATORS,
              {201: ("Requested.", "RightsRequested")}, params=(STORY_ID,), body="RightsRequestBody",
              body_required=False, refusable=True, tags=("stories",)),
    Operation("post", "/api/stories/{id}/feature", "Feature a story whose rights are granted.", CURATORS,
              {200: ("Featured.", "Featured")}, params=(STORY_ID,), body="FeatureBody", body_required=False,
              refusable=True, tags=("stories",)),
    Operation("get", "/api/discovered", "Discovered businesses awaiting review, most mentioned first.", CURATORS,
              {200: ("A page.", "DiscoveredPage")}, params=PAGING, tags=("discovered",)),
    Operation("post", "/api/discovered/{id}/add", "Add the name to the registry as a new merchant.", CURATORS,
              {201: ("Added.", "Decision")}, params=(DISCOVERED_ID,), body="NewMerchant", refusable=True,
              tags=("discovered",)),
    Operation("post", "/api/discovered/{id}/merge", "Record the name as another name of a merchant.", CURATORS,
              {200: ("Merged.", "Decision")}, params=(DISCOVERED_ID,), body="MergeInto", refusable=True,
              tags=("discovered",)),
    Operation("post", "/api/discovered/{id}/ignore", "Not a business worth linking.", CURATORS,
              {200: ("Ignored.", "Decision")}, params=(DISCOVERED_ID,), refusable=True, tags=("discovered",)),
    Operation("get", "/api/campaigns", "The campaigns, with their hashtags and consent hashtag.", CURATORS,
              {200: ("The campaigns.", "Campaigns")}, tags=("campaigns",)),
)  # fmt: skip
OPERATIONS += openapi_portal.operations(Operation, Param)  # the merchant portal's routes
SCHEMAS.update(openapi_portal.SCHEMAS)


def _answer(description: str, schema: str | None) -> dict[str, Any]:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _operation(op: Operation) -> dict[str, Any]:
    answers = {status: _answer(*answer) for status, answer in op.answers.items()}
    errors: dict[int, str] = {}
    if op.params or op.body:
        errors[400] = "Invalid input: the message names the field and what it accepts."
    if op.roles:
        errors[401] = "Not signed in."
        errors[403] = "Not allowed for this role" + (
            ", or the X-CSRF-Token header is missing." if op.method in _UNSAFE else "."
        )
    elif op.method in _UNSAFE:
        errors[403] = "Sent by a page of another site."
    if any(p.where == "path" for p in op.params):
        errors[404] = "No such item."
    if op.refusable:
        errors[409] = "The rules refuse it; the message says which rule and what to do."
    for status, description in errors.items():
        answers.setdefault(status, _answer(description, "Error"))
    out: dict[str, Any] = {
        "summary": op.summary,
        "operationId": op.method + "_" + re.sub(r"[^a-z0-9]+", "_", op.path.removeprefix("/api/")).strip("_"),
        "tags": list(op.tags),
        "responses": {str(status): answers[status] for status in sorted(answers)},
    }
    if op.roles:
        out["description"] = "Roles: " + ", ".join(op.roles) + "."
        out["security"] = [{"session": [], "csrf": []}] if op.method in _UNSAFE else [{"session": []}]
    else:
        out["security"] = []
    if op.params:
        out["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required or p.where == "path",
                "description": p.description,
                "schema": p.schema,
                **({"style": "form", "explode": True} if p.schema.get("type") == "array" else {}),
            }
            for p in op.params
        ]
    if op.body:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    return out


def document(server_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "campaign-listener API",
            "version": version("campaign-listener"),
            "description": "Sign in with POST /api/session, then send the cookie it sets and, on every POST or "
            'DELETE, the session\'s csrf_token in the X-CSRF-Token header. Errors are {"error": message}.',
        },
        "servers": [{"url": server_url.rstrip("/")}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "listener_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


DOCUMENT: web.AppKey[dict[str, Any]] = web.AppKey("openapi_document", dict)


async def openapi_json(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[DOCUMENT])


def setup(app: web.Application) -> None:
    app[DOCUMENT] = document(app[SERVICES].settings.web.public_url)
    app.router.add_get("/api/openapi.json", openapi_json)
