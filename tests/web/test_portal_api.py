"""The merchant portal's JSON API on SQLite and PostgreSQL: the shapes the OpenAPI description promises are the
shapes returned (merchant and curator routes alike), private authors are pseudonyms, hostile text stays inert
in JSON, bad input is a 400 naming the field, and every POST needs the CSRF header.
"""

from __future__ import annotations

from typing import Any

from jobs.services import Services
from storage.pseudonyms import pseudonym
from tests.web.curation_setup import HOSTILE, client_for, sign_in
from tests.web.portal_setup import A_USER, CURATOR, build
from web import openapi
from web.openapi_portal import SCHEMAS


def props(name: str) -> set[str]:
    return set(SCHEMAS[name]["properties"])


def item_props(name: str, field: str = "items") -> set[str]:
    return set(SCHEMAS[name]["properties"][field]["items"]["properties"])


def test_the_portal_schemas_do_not_replace_others() -> None:
    originals = set(openapi.SCHEMAS) - set(SCHEMAS)
    assert originals  # the curator API's own shapes are still there
    for name, schema in SCHEMAS.items():
        assert openapi.SCHEMAS[name] is schema, name


async def test_the_promised_shapes_are_what_the_portal_api_returns(services: Services) -> None:
    world = await build(services)
    base = f"/api/portal/merchants/{world.a}"
    async with client_for(services) as client:
        token = await sign_in(client, A_USER)
        headers = {"X-CSRF-Token": token}
        merchants = await (await client.get("/api/portal/merchants")).json()
        mentions = await (await client.get(base + "/mentions?days=30&limit=2")).json()
        timeline = await (await client.get(base + "/timeline?days=7")).json()
        stories = await (await client.get(base + "/stories")).json()
        names = await (await client.get(base + "/names")).json()
        answers = []
        for path, body in [
            (f"{base}/mentions/{world.mentions['a_story']}/flag", None),
            (base + "/suggestions", {"kind": "alias", "value": "Amal"}),
            (base + "/featuring", {"opt_out": True}),
            (f"{base}/stories/{world.stories['a']}/takedown", {"note": "x"}),
        ]:
            response = await client.post(path, json=body, headers=headers)
            answers.append((response.status, await response.json()))
        requests = await (await client.get(base + "/requests")).json()
    assert set(merchants) == props("PortalMerchants")
    assert set(merchants["items"][0]) == props("PortalMerchant")
    assert set(mentions) == props("MentionPage")
    assert (mentions["total"], len(mentions["items"]), mentions["limit"]) == (5, 2, 2)
    mention = mentions["items"][0]
    assert set(mention) == props("Mention")
    for part in ("post", "author", "link"):
        assert set(mention[part]) == set(SCHEMAS["Mention"]["properties"][part]["properties"]), part
    assert set(mentions["period"]) == props("Period")
    assert set(timeline) == props("Timeline")
    assert len(timeline["buckets"]) == 7
    assert timeline["period"]["by"] == "day"
    assert set(timeline["buckets"][0]) == item_props("Timeline", "buckets")
    assert set(timeline["reach"]) == props("Reach")
    assert set(stories) == props("FeaturedStories")
    assert [s["id"] for s in stories["items"]] == [world.stories["a"]]
    assert set(stories["items"][0]) == item_props("FeaturedStories")
    assert set(names) == props("Names")
    assert {"text": "Amal", "method": "alias", "mentions": 3} in names["variants"]
    assert [status for status, _ in answers] == [201, 201, 200, 201], answers
    assert set(answers[0][1]["request"]) == props("MerchantRequest")
    assert set(answers[2][1]) == props("FeaturingResult")
    assert set(requests) == props("MerchantRequests")
    assert [r["kind"] for r in requests["items"]] == ["takedown", "opt_out", "alias", "not_us"]


async def test_the_promised_shapes_are_what_the_curator_api_returns(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        headers = {"X-CSRF-Token": await sign_in(client, CURATOR)}
        directory = await (await client.get("/api/merchants")).json()
        merchant = await (await client.get(f"/api/merchants/{world.a}")).json()
        invited = await (
            await client.post(f"/api/merchants/{world.a}/invites", json={"email": "x@amal.example"}, headers=headers)
        ).json()
        across = await (await client.get("/api/corrections?status=accepted")).json()
        invite_id = invited["invite"]["id"]
        revoked = (await client.post(f"/api/merchants/{world.a}/invites/{invite_id}/revoke", headers=headers)).status
        again = (await client.post(f"/api/merchants/{world.a}/invites/{invite_id}/revoke", headers=headers)).status
    assert set(directory) == props("MerchantDirectory")
    assert set(directory["items"][0]) == item_props("MerchantDirectory")
    assert set(merchant) == props("MerchantFile")
    expected = props("PortalMerchant") | set(
        SCHEMAS["MerchantFile"]["properties"]["merchant"]["allOf"][1]["properties"]
    )
    assert set(merchant["merchant"]) == expected
    assert set(merchant["users"][0]) == item_props("MerchantFile", "users")
    assert set(invited) == props("Invited")
    assert set(invited["invite"]) == set(SCHEMAS["Invited"]["properties"]["invite"]["properties"])
    assert set(across) == props("RequestsAcross")
    assert (revoked, again) == (200, 404)


async def test_authors_are_pseudonyms_and_text_stays_inert(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        response = await client.get(f"/api/portal/merchants/{world.a}/mentions")
        raw = await response.read()
        body: dict[str, Any] = await response.json()
    assert b"<script>" not in raw  # written as \u003c: inert even if pasted into HTML
    by_text = {m["post"]["text"]: m for m in body["items"]}
    hostile = next(m for text, m in by_text.items() if text.startswith(HOSTILE))
    key = services.pseudonym_key()
    assert hostile["author"] == {"handle": pseudonym("x", "u-hostile-portal", key), "name": None, "followers": None}
    public = next(m for text, m in by_text.items() if "J'adore la Boulangerie Amal" in text)
    assert public["author"] == {"handle": "user7001", "name": "User 7001", "followers": 100}
    assert public["post"]["url"] == "https://example.test/status/7001"


async def test_bad_input_is_a_400_and_posts_need_the_csrf_header(services: Services) -> None:
    world = await build(services)
    base = f"/api/portal/merchants/{world.a}"
    async with client_for(services) as client:
        token = await sign_in(client, A_USER)
        headers = {"X-CSRF-Token": token}
        for path in [base + "/mentions?days=3", base + "/mentions?limit=0", base + "/timeline?from=2026-13-01",
                     base + "/mentions?platform=fax", "/api/portal/merchants/abc/mentions",
                     "/api/portal/merchants/99999999999/mentions"]:  # fmt: skip
            response = await client.get(path)
            assert response.status == 400, path
            assert set(await response.json()) == {"error"}
        for path, body in [
            (base + "/suggestions", {"kind": "nickname", "value": "x"}),
            (base + "/suggestions", {"kind": "alias", "value": ""}),
            (base + "/suggestions", {"kind": "alias", "value": "x" * 301}),
            (base + "/suggestions", {"kind": "handle", "value": "shop", "platform": "myspace"}),
            (base + "/suggestions", {"kind": "alias", "value": "a\x00b"}),
            (base + "/featuring", {"opt_out": "yes"}),
            (f"{base}/mentions/{world.mentions['a_story']}/flag", {"note": 3}),
            (f"{base}/stories/{world.stories['a']}/takedown", {"note": "x" * 1001}),
        ]:
            response = await client.post(path, json=body, headers=headers)
            assert response.status == 400, (path, body, await response.text())
        assert (await client.post(base + "/featuring", data=b"not json", headers=headers)).status == 400
        for path in [base + "/featuring", base + "/suggestions", f"{base}/mentions/{world.mentions['a_story']}/flag"]:
            response = await client.post(path, json={"opt_out": True, "kind": "alias", "value": "x"})
            assert response.status == 403, path
            assert "X-CSRF-Token" in (await response.json())["error"]
