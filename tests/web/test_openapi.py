"""The OpenAPI description at /api/openapi.json: every /api route the application registers is described, nothing
described is missing, every reference resolves, and the shapes it promises are the shapes the API returns.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from jobs.services import Services
from tests.web.curation_setup import client_for, make_user, seed, sign_in
from web.app import create_app
from web.openapi import OPERATIONS, SCHEMAS, document


def registered_api_routes(app: web.Application) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if (path == "/api" or path.startswith("/api/")) and route.method != "HEAD":
            routes.add((route.method.lower(), path))
    return routes


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def test_every_api_route_is_described_and_nothing_else(services: Services) -> None:
    app = create_app(services)
    registered = registered_api_routes(app)
    described = {(op.method, op.path) for op in OPERATIONS}
    assert registered - described == set(), "routes missing from web/openapi.py OPERATIONS"
    assert described - registered == set(), "described in web/openapi.py but not registered"
    # The sign-in routes of web/account.py are among them.
    assert {
        ("post", "/api/session"),
        ("delete", "/api/session"),
        ("get", "/api/me"),
        ("post", "/api/me/password"),
    } <= registered


def test_the_document_is_consistent() -> None:
    doc = document("http://127.0.0.1:8080/")
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "http://127.0.0.1:8080"}]
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in SCHEMAS, ref
    operation_ids = []
    for path, methods in doc["paths"].items():
        template_params = set(re.findall(r"{(\w+)}", path))
        for method, operation in methods.items():
            operation_ids.append(operation["operationId"])
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == template_params, (method, path)
            assert operation["responses"], (method, path)
            codes = set(operation["responses"])
            if operation["security"]:
                assert {"401", "403"} <= codes, (method, path)
            if method in ("post", "delete") and operation["security"]:
                assert operation["security"] == [{"session": [], "csrf": []}]
            if template_params:
                assert {"400", "404"} <= codes, (method, path)
    assert len(operation_ids) == len(set(operation_ids))


async def test_the_description_is_served_to_anyone_as_json(services: Services) -> None:
    async with client_for(services) as client:
        response = await client.get("/api/openapi.json")
        assert response.status == 200
        assert response.content_type == "application/json"
        body = await response.json()
    assert body["info"]["title"] == "campaign-listener API"
    assert "/api/stories/{id}/feature" in body["paths"]
    assert body["paths"]["/api/stories"]["get"]["parameters"][0]["name"] == "campaign"


def properties(name: str) -> set[str]:
    return set(SCHEMAS[name]["properties"])


async def test_the_promised_shapes_are_what_the_api_returns(services: Services) -> None:
    seeded = await seed(services)
    await make_user(services, "curator@example.org")
    async with client_for(services) as client:
        await sign_in(client, "curator@example.org")
        page = await (await client.get("/api/stories")).json()
        story = (await (await client.get(f"/api/stories/{seeded.stories['good']}")).json())["story"]
        campaigns = await (await client.get("/api/campaigns")).json()
        discovered = await (await client.get("/api/discovered")).json()
        me = await (await client.get("/api/me")).json()
    assert set(page) == properties("StoryPage")
    assert set(page["items"][0]) == properties("Story")
    assert set(story) == properties("Story") | set(SCHEMAS["StoryDetail"]["allOf"][1]["properties"])
    assert set(campaigns["items"][0]) == set(SCHEMAS["Campaigns"]["properties"]["items"]["items"]["properties"])
    assert set(discovered) == properties("DiscoveredPage")
    assert set(me) == properties("Session")
    assert set(me["user"]) == properties("User")
