"""The curator JSON API over a real loopback socket, on SQLite and PostgreSQL: roles, CSRF, the queue's filters
and paging, validation (4xx with a clear message, never a 500), refusals (409 with the rule), moves, undo and
bulk moves, and hostile text kept inert in JSON. The workflows are in test_api_workflow.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from jobs.services import Services
from storage.models import Post as PostRow
from storage.repositories._sql import utcnow
from storage.repositories.users import Role
from tests.web.curation_setup import HOSTILE, client_for, curator, error_of, make_user, seed, sign_in

ROUTES = [
    ("GET", "/api/stories"),
    ("GET", "/api/stories/1"),
    ("POST", "/api/stories/1/transitions"),
    ("POST", "/api/stories/bulk"),
    ("POST", "/api/stories/1/undo"),
    ("POST", "/api/stories/1/rights-requests"),
    ("POST", "/api/stories/1/feature"),
    ("GET", "/api/discovered"),
    ("POST", "/api/discovered/1/add"),
    ("POST", "/api/discovered/1/merge"),
    ("POST", "/api/discovered/1/ignore"),
    ("GET", "/api/campaigns"),
]
UNSAFE = [route for route in ROUTES if route[0] == "POST"]


# --- roles and CSRF -----------------------------------------------------------------------------------


async def test_anonymous_clients_get_401_and_merchants_403_on_every_route(services: Services) -> None:
    await make_user(services, "shop@example.org", Role.MERCHANT)
    async with client_for(services) as client:
        for method, path in ROUTES:
            response = await client.request(method, path, json={})
            assert "POST /api/session" in await error_of(response, 401), (method, path)
        await sign_in(client, "shop@example.org")
        token = (await (await client.get("/api/me")).json())["csrf_token"]
        for method, path in ROUTES:
            response = await client.request(method, path, json={}, headers={"X-CSRF-Token": token})
            assert "not allowed" in await error_of(response, 403), (method, path)


async def test_unsafe_methods_need_the_csrf_header(services: Services) -> None:
    seeded = await seed(services)
    async with client_for(services) as client:
        headers = await curator(services, client)
        for method, path in UNSAFE:
            response = await client.request(method, path, json={"to": "shortlisted", "ids": [1]})
            assert "X-CSRF-Token" in await error_of(response, 403), path
            forged = await client.request(method, path, json={}, headers={"X-CSRF-Token": "forged"})
            assert forged.status == 403
        story = await (await client.get(f"/api/stories/{seeded.stories['good']}")).json()
        assert story["story"]["state"] == "candidate"  # nothing moved
        ok = await client.post(
            f"/api/stories/{seeded.stories['good']}/transitions", json={"to": "shortlisted"}, headers=headers
        )
        assert ok.status == 200


async def test_admins_may_use_the_api_too(services: Services) -> None:
    await make_user(services, "admin@example.org", Role.ADMIN)
    async with client_for(services) as client:
        await sign_in(client, "admin@example.org")
        assert (await client.get("/api/campaigns")).status == 200


# --- the queue ----------------------------------------------------------------------------------------


async def test_the_queue_filters_sorts_and_pages(services: Services) -> None:
    seeded = await seed(services)
    ids = seeded.stories
    async with client_for(services) as client:
        await curator(services, client)
        everything = await (await client.get("/api/stories")).json()
        assert everything["total"] == len(ids) == 7
        assert everything["total_capped"] is False
        assert (everything["limit"], everything["offset"]) == (50, 0)
        scores = [item["score"] for item in everything["items"]]
        assert scores == sorted(scores, reverse=True)

        candidates = await (await client.get("/api/stories", params={"state": "candidate"})).json()
        assert {i["id"] for i in candidates["items"]} == {
            ids[n] for n in ("good", "english", "opted_out", "hostile", "arabic")
        }
        rejected = await (await client.get("/api/stories?state=rejected")).json()
        by_id = {i["id"]: i for i in rejected["items"]}
        assert set(by_id) == {ids["complaint"], ids["duplicate"]}
        assert by_id[ids["duplicate"]]["original_story_id"] == ids["good"]
        both = await (await client.get("/api/stories?state=rejected,candidate&state=shortlisted")).json()
        assert both["total"] == 7

        arabic = await (await client.get("/api/stories", params={"language": "ar"})).json()
        assert [i["id"] for i in arabic["items"]] == [ids["arabic"]]
        item = arabic["items"][0]
        assert item["campaign"] == "lovelocal"
        assert item["merchant"] == {"id": seeded.merchant_id, "name": "Boulangerie Amal"}
        assert item["post"]["url"] == "https://example.test/status/9005"
        assert item["post"]["created_at"].endswith("Z")

        negative = await (await client.get("/api/stories?sentiment=negative")).json()
        assert [i["id"] for i in negative["items"]] == [ids["complaint"]]
        by_merchant = await (await client.get(f"/api/stories?merchant={seeded.opted_out_id}")).json()
        assert [i["id"] for i in by_merchant["items"]] == [ids["opted_out"]]
        assert (await (await client.get("/api/stories?platform=mastodon")).json())["total"] == 0
        assert (await (await client.get("/api/stories?campaign=soutenons")).json())["total"] == 0
        assert (await (await client.get("/api/stories?campaign=lovelocal")).json())["total"] == 7
        high = await (await client.get("/api/stories?min_score=0.99")).json()
        assert high["total"] == 0
        today = utcnow().date()
        dated = await (await client.get(f"/api/stories?from={today - timedelta(days=1)}&to={today}")).json()
        assert dated["total"] == 7
        future = await (await client.get(f"/api/stories?from={today + timedelta(days=2)}")).json()
        assert future["total"] == 0

        newest = await (await client.get("/api/stories?sort=newest&limit=2")).json()
        assert [i["id"] for i in newest["items"]] == [ids["duplicate"], ids["good"]]
        assert (newest["limit"], newest["total"]) == (2, 7)
        second = await (await client.get("/api/stories?sort=newest&limit=2&offset=2")).json()
        assert [i["id"] for i in second["items"]] == [ids["english"], ids["opted_out"]]
        oldest = await (await client.get("/api/stories?sort=oldest&limit=1")).json()
        assert [i["id"] for i in oldest["items"]] == [ids["complaint"]]
        past_the_end = await (await client.get("/api/stories?offset=100")).json()
        assert (past_the_end["items"], past_the_end["total"]) == ([], 7)
        assert (await client.get("/api/stories?sort=engagement")).status == 200


BAD_QUERIES = [
    ("state=bogus", "state must be one of: candidate, shortlisted"),
    ("campaign=nope", "campaign must be one of: lovelocal, soutenons"),
    ("language=%3Cscript%3E", "language must be a language code"),
    ("sentiment=happy", "sentiment must be one of"),
    ("platform=myspace", "platform must be one of"),
    ("merchant=abc", "merchant must be a positive integer"),
    ("merchant=2147483648", "merchant must be between 1 and 2147483647"),
    ("merchant=99999999999999999999", "merchant must be a positive integer"),
    ("from=2026-13-01", "from must be a date (YYYY-MM-DD)"),
    ("from=yesterday", "from must be a date"),
    ("to=0001-01-01", "to must be a date"),
    ("from=2026-11-20&to=2026-11-10", "to must be on or after from"),
    ("min_score=abc", "min_score must be a number between 0 and 1"),
    ("min_score=nan", "min_score must be a number between 0 and 1"),
    ("max_score=2", "max_score must be a number between 0 and 1"),
    ("min_score=0.8&max_score=0.2", "min_score must not be above max_score"),
    ("sort=random", "sort must be one of: score, newest, oldest, engagement"),
    ("limit=0", "limit must be an integer between 1 and 500"),
    ("limit=501", "limit must be an integer between 1 and 500"),
    ("offset=-1", "offset must be an integer between 0 and 10000"),
    ("offset=10001", "offset must be an integer between 0 and 10000"),
]


@pytest.mark.parametrize(("query", "message"), BAD_QUERIES)
async def test_bad_queue_queries_are_400_with_a_clear_message(services: Services, query: str, message: str) -> None:
    async with client_for(services) as client:
        await curator(services, client)
        assert message in await error_of(await client.get(f"/api/stories?{query}"), 400)


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/stories/abc", 400, "story id must be a positive integer"),
        ("/api/stories/0", 400, "story id must be between 1 and 2147483647"),
        ("/api/stories/2147483648", 400, "story id must be between 1 and 2147483647"),
        ("/api/stories/-3", 400, "story id must be a positive integer"),
        ("/api/stories/99999", 404, "there is no story #99999"),
    ],
)
async def test_story_ids_are_checked(services: Services, path: str, status: int, message: str) -> None:
    async with client_for(services) as client:
        headers = await curator(services, client)
        assert message in await error_of(await client.get(path), status)
        moved = await client.post(path + "/transitions", json={"to": "archived"}, headers=headers)
        assert message in await error_of(moved, status)


# --- moves --------------------------------------------------------------------------------------------


async def test_bad_move_bodies_are_400(services: Services) -> None:
    seeded = await seed(services)
    good = seeded.stories["good"]
    async with client_for(services) as client:
        headers = await curator(services, client)
        url = f"/api/stories/{good}/transitions"
        cases = [
            (b"", "the request body is empty"),
            (b"{not json", "not valid JSON"),
            (b"[1, 2]", "must be a JSON object"),
            (b"[" * 100_000, "nested too deeply"),
            (b"{}", "to must be one of"),
            (b'{"to": "bogus"}', "to must be one of"),
            (b'{"to": 5}', "to must be one of"),
            (b'{"to": "rejected"}', "reason is required"),
            (b'{"to": "rejected", "reason": "   "}', "reason is required"),
            (b'{"to": "rejected", "reason": 5}', "reason must be a string"),
            (b'{"to": "rejected", "reason": "a\\u0000b"}', "reason must not contain control characters"),
            (json.dumps({"to": "rejected", "reason": "x" * 1001}).encode(), "reason is too long"),
        ]
        for body, message in cases:
            response = await client.post(url, data=body, headers={**headers, "Content-Type": "application/json"})
            assert message in await error_of(response, 400), body
        story = await (await client.get(f"/api/stories/{good}")).json()
        assert story["story"]["state"] == "candidate"
        assert len(story["story"]["history"]) == 1


async def test_forbidden_moves_are_409_with_the_rule(services: Services) -> None:
    seeded = await seed(services)
    good, rejected = seeded.stories["good"], seeded.stories["complaint"]
    async with client_for(services) as client:
        headers = await curator(services, client)
        featured = await client.post(f"/api/stories/{good}/transitions", json={"to": "featured"}, headers=headers)
        assert "feature it with feature" in await error_of(featured, 409)
        granted = await client.post(f"/api/stories/{good}/transitions", json={"to": "rights_granted"}, headers=headers)
        assert "only by the author's consent reply" in await error_of(granted, 409)
        again = await client.post(f"/api/stories/{good}/transitions", json={"to": "candidate"}, headers=headers)
        assert f"story #{good} is already candidate" in await error_of(again, 409)
        dead = await client.post(f"/api/stories/{rejected}/transitions", json={"to": "shortlisted"}, headers=headers)
        assert f"story #{rejected} is rejected: it cannot go to shortlisted" in await error_of(dead, 409)
        nothing = await client.post(f"/api/stories/{good}/undo", headers=headers)
        assert "has no change to undo" in await error_of(nothing, 409)
        early = await client.post(f"/api/stories/{good}/feature", headers=headers)
        assert "only a story whose rights are granted can be featured" in await error_of(early, 409)
        not_shortlisted = await client.post(f"/api/stories/{good}/rights-requests", headers=headers)
        assert "for a shortlisted story only" in await error_of(not_shortlisted, 409)


async def test_a_move_and_its_undo_are_recorded_with_who_and_why(services: Services) -> None:
    seeded = await seed(services)
    good = seeded.stories["good"]
    async with client_for(services) as client:
        headers = await curator(services, client)
        url = f"/api/stories/{good}/transitions"
        body = {"to": "rejected", "reason": "hors sujet"}
        rejected = await (await client.post(url, json=body, headers=headers)).json()
        assert rejected["story"]["state"] == "rejected"
        last = rejected["story"]["history"][-1]
        assert (last["from"], last["to"], last["by"], last["reason"]) == (
            "candidate",
            "rejected",
            "curator@example.org",
            "hors sujet",
        )
        undone = await client.post(f"/api/stories/{good}/undo", headers=headers)
        assert undone.status == 200
        story = (await undone.json())["story"]
        assert story["state"] == "candidate"
        assert story["history"][-1]["reason"].startswith("undo: candidate → rejected")


async def test_bulk_moves_what_may_move_and_lists_the_rest(services: Services) -> None:
    seeded = await seed(services)
    ids = seeded.stories
    async with client_for(services) as client:
        headers = await curator(services, client)
        body = {"ids": [ids["good"], ids["english"], ids["complaint"], 99999, ids["good"]], "to": "shortlisted"}
        response = await client.post("/api/stories/bulk", json=body, headers=headers)
        assert response.status == 200
        result = await response.json()
        assert result["changed"] == [ids["good"], ids["english"]]
        refused = {r["id"]: r["reason"] for r in result["refused"]}
        assert set(refused) == {ids["complaint"], 99999}
        assert "no story #99999" in refused[99999]
        assert "is rejected" in refused[ids["complaint"]]
        listed = await (await client.get("/api/stories?state=shortlisted")).json()
        assert {i["id"] for i in listed["items"]} == {ids["good"], ids["english"]}

        reject = {"ids": [ids["english"]], "to": "rejected", "reason": "déjà vu"}
        assert (await (await client.post("/api/stories/bulk", json=reject, headers=headers)).json())["changed"] == [
            ids["english"]
        ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"to": "shortlisted"}, "ids must be a list"),
        ({"ids": "1,2", "to": "shortlisted"}, "ids must be a list"),
        ({"ids": [], "to": "shortlisted"}, "choose at least one story"),
        ({"ids": ["x"], "to": "shortlisted"}, "ids must be a positive integer"),
        ({"ids": [1.5], "to": "shortlisted"}, "ids must be a positive integer"),
        ({"ids": [True], "to": "shortlisted"}, "ids must be a positive integer"),
        ({"ids": [2**31], "to": "shortlisted"}, "ids must be between 1 and 2147483647"),
        ({"ids": list(range(1, 502)), "to": "shortlisted"}, "at most 500 at a time"),
        ({"ids": [1], "to": "nowhere"}, "to must be one of"),
        ({"ids": [1], "to": "rejected"}, "reason is required"),
        ({"ids": [1], "to": "featured"}, "a bulk action cannot move stories to featured"),
    ],
)
async def test_bad_bulk_bodies_are_400(services: Services, body: dict[str, object], message: str) -> None:
    async with client_for(services) as client:
        headers = await curator(services, client)
        response = await client.post("/api/stories/bulk", json=body, headers=headers)
        assert message in await error_of(response, 400)


# --- hostile text -------------------------------------------------------------------------------------


async def test_hostile_text_stays_inert_in_json(services: Services) -> None:
    seeded = await seed(services)
    hostile = seeded.stories["hostile"]
    async with client_for(services) as client:
        await curator(services, client)
        listing = await client.get("/api/stories")
        one = await client.get(f"/api/stories/{hostile}")
        raw_list, raw_one = await listing.text(), await one.text()
        item = (await one.json())["story"]
    for raw in (raw_list, raw_one):
        assert "<script>" not in raw
        assert "<img" not in raw
        assert "\\u003cscript\\u003e" in raw
    assert item["text"] == HOSTILE + " #LoveLocal"
    assert item["author"]["name"] == HOSTILE
    assert listing.content_type == "application/json"
    assert listing.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_stored_javascript_link_is_never_handed_out(services: Services) -> None:
    seeded = await seed(services)
    async with services.sessions.begin() as session:
        await session.execute(
            update(PostRow)
            .where(PostRow.platform_id == seeded.posts["hostile"].platform_id)
            .values(url="javascript:alert(1)")
        )
    async with client_for(services) as client:
        await curator(services, client)
        item = (await (await client.get(f"/api/stories/{seeded.stories['hostile']}")).json())["story"]
    assert item["post"]["url"] is None
