"""Merchant A can neither read nor change merchant B's data through any portal page or API route, on SQLite and
PostgreSQL: B's merchant id, B's mention and story ids, A's merchant id with B's mention or story, guessed
ids, and merchant ids slipped into query strings. Every such request is "not found" (404, never 403, so it
confirms nothing), and afterwards B's data is exactly as it was. The same requests with A's own ids work,
so the refusals are the scope's doing, not a broken route. Curator routes are closed to merchants.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from jobs.services import Services
from storage.models import Merchant, MerchantCorrection, Story
from tests.web.curation_setup import client_for, csrf_in, sign_in
from tests.web.portal_setup import A_USER, World, build
from web.app import create_app

GUESSED = 999_999


def page_reads(m: int) -> list[str]:
    return [f"/merchant/{m}", f"/merchant/{m}/stories", f"/merchant/{m}/names"]


def api_reads(m: int) -> list[str]:
    base = f"/api/portal/merchants/{m}"
    return [f"{base}/mentions", f"{base}/timeline", f"{base}/stories", f"{base}/names", f"{base}/requests"]


def page_writes(m: int, mention: int, story: int) -> list[tuple[str, dict[str, str]]]:
    return [
        (f"/merchant/{m}/mentions/{mention}/flag", {"note": "x"}),
        (f"/merchant/{m}/suggestions", {"kind": "alias", "value": "Fake name"}),
        (f"/merchant/{m}/featuring", {"featured": "no"}),
        (f"/merchant/{m}/stories/{story}/takedown", {"note": "x"}),
    ]


def api_writes(m: int, mention: int, story: int) -> list[tuple[str, dict[str, Any]]]:
    base = f"/api/portal/merchants/{m}"
    return [
        (f"{base}/mentions/{mention}/flag", {"note": "x"}),
        (f"{base}/suggestions", {"kind": "handle", "value": "@fake_shop", "platform": "x"}),
        (f"{base}/featuring", {"opt_out": True}),
        (f"{base}/stories/{story}/takedown", {"note": "x"}),
    ]


async def _state_of_b(services: Services, world: World) -> tuple[Any, ...]:
    async with services.sessions() as session:
        merchant = await session.get(Merchant, world.b)
        assert merchant is not None
        story = await session.get(Story, world.stories["b"])
        assert story is not None
        requests = await session.scalar(select(func.count()).select_from(MerchantCorrection))
        return merchant.feature_opt_out, [a.alias for a in merchant.aliases], story.state, requests


def every_other_id(world: World) -> list[tuple[int, int, int]]:
    """(merchant id, mention id, story id) combinations A must not reach."""
    a, b = world.a, world.b
    mb, sb = world.mentions["b_story"], world.stories["b"]
    ma, sa = world.mentions["a_story"], world.stories["a"]
    return [
        (b, mb, sb),  # all of B's
        (a, mb, sb),  # A's merchant, B's mention and story
        (b, ma, sa),  # B's merchant, A's own mention and story
        (GUESSED, GUESSED, GUESSED),  # guessed
        (a, GUESSED, GUESSED),
    ]


async def test_merchant_a_cannot_read_or_change_merchant_b(services: Services) -> None:
    world = await build(services)
    before = await _state_of_b(services, world)
    b_texts = ["Zitouna"]
    async with client_for(services) as client:
        token = await sign_in(client, A_USER)
        headers = {"X-CSRF-Token": token}

        # Reading: B's merchant id in the path, as a page and as the API.
        for path in [*page_reads(world.b), *page_reads(GUESSED)]:
            response = await client.get(path)
            assert response.status == 404, path
            body = await response.text()
            assert not any(text in body for text in b_texts), path
        for path in [*api_reads(world.b), *api_reads(GUESSED)]:
            response = await client.get(path)
            assert response.status == 404, path
            assert set(await response.json()) == {"error"}, path

        # Merchant ids slipped into the query string are ignored: A's pages show A's data only.
        for path in page_reads(world.a) + api_reads(world.a):
            for extra in (f"merchant={world.b}", f"merchant_id={world.b}", f"merchant_ids={world.b}"):
                response = await client.get(f"{path}?{extra}")
                assert response.status == 200, (path, extra)
                body = await response.text()
                assert not any(text in body for text in b_texts), (path, extra)
        listed = await (await client.get("/api/portal/merchants")).json()
        assert [m["id"] for m in listed["items"]] == [world.a]

        # Changing: every action with every id A does not hold, as forms and as the API.
        for merchant, mention, story in every_other_id(world):
            # With A's own merchant id, suggestions and featuring name no other id: allowed (checked below).
            own = merchant == world.a
            for path, form in page_writes(merchant, mention, story):
                if own and path.endswith(("suggestions", "featuring")):
                    continue
                response = await client.post(path, data={**form, "csrf_token": token}, allow_redirects=False)
                assert response.status == 404, (path, await response.text())
            for path, payload in api_writes(merchant, mention, story):
                if own and path.endswith(("suggestions", "featuring")):
                    continue
                response = await client.post(path, json=payload, headers=headers)
                assert response.status == 404, (path, await response.text())
                assert set(await response.json()) == {"error"}

        # Curator routes are closed to merchants, whatever the id.
        for path in ["/merchants", f"/merchants/{world.b}", "/api/merchants", f"/api/merchants/{world.b}",
                     f"/api/corrections?merchant={world.b}"]:  # fmt: skip
            assert (await client.get(path)).status == 403, path
        for path in [f"/api/merchants/{world.b}/invites", "/api/corrections/1/accept"]:
            response = await client.post(path, json={"email": "x@example.org"}, headers=headers)
            assert response.status == 403, path

    assert await _state_of_b(services, world) == before

    # The same requests with A's own ids work: the refusals above were the scope's.
    async with client_for(services) as client:
        token = await sign_in(client, A_USER)
        for path in page_reads(world.a):
            assert (await client.get(path)).status == 200, path
        for path, form in page_writes(world.a, world.mentions["a_story"], world.stories["a"]):
            response = await client.post(path, data={**form, "csrf_token": token}, allow_redirects=False)
            assert response.status == 303, (path, await response.text())
        for path, payload in api_writes(world.a, world.mentions["a_english"], world.stories["a"]):
            response = await client.post(path, json=payload, headers={"X-CSRF-Token": token})
            assert response.status in (200, 201), (path, await response.text())
    async with services.sessions() as session:
        kinds = (await session.execute(select(MerchantCorrection.merchant_id, MerchantCorrection.kind))).all()
    assert {m for m, _ in kinds} == {world.a}
    assert await _state_of_b(services, world) == (before[0], before[1], before[2], len(kinds))


async def test_a_page_form_for_b_from_a_page_of_a_is_refused_too(services: Services) -> None:
    """A form copied from A's page and pointed at B's mention (the browser path) is refused the same way."""
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        page = await (await client.get(f"/merchant/{world.a}")).text()
        token = csrf_in(page)
        assert f"/merchant/{world.a}/mentions/{world.mentions['a_story']}/flag" in page
        assert f"mentions/{world.mentions['b_story']}/" not in page
        response = await client.post(
            f"/merchant/{world.a}/mentions/{world.mentions['b_story']}/flag",
            data={"csrf_token": token, "next": f"/merchant/{world.a}"},
            allow_redirects=False,
        )
        assert response.status == 404


def test_every_portal_route_is_covered_by_the_scope_test(services: Services) -> None:
    """Adding a portal route without adding it above fails here."""
    app = create_app(services)
    covered = {
        "/merchant/{merchant_id}",
        "/merchant/{merchant_id}/stories",
        "/merchant/{merchant_id}/names",
        "/merchant/{merchant_id}/mentions/{mention_id}/flag",
        "/merchant/{merchant_id}/suggestions",
        "/merchant/{merchant_id}/featuring",
        "/merchant/{merchant_id}/stories/{story_id}/takedown",
        "/api/portal/merchants/{merchant_id}/mentions",
        "/api/portal/merchants/{merchant_id}/timeline",
        "/api/portal/merchants/{merchant_id}/stories",
        "/api/portal/merchants/{merchant_id}/names",
        "/api/portal/merchants/{merchant_id}/requests",
        "/api/portal/merchants/{merchant_id}/mentions/{mention_id}/flag",
        "/api/portal/merchants/{merchant_id}/suggestions",
        "/api/portal/merchants/{merchant_id}/featuring",
        "/api/portal/merchants/{merchant_id}/stories/{story_id}/takedown",
    }
    paths = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    registered = {p for p in paths if p.startswith(("/merchant/", "/api/portal/merchants/"))}
    assert registered == covered
