"""The curators' merchant pages and API over a real loopback socket, on SQLite and PostgreSQL: roles; the list
(search, merchants with requests waiting first); one merchant with all its data (real handles for curators),
its accounts, invites and requests; accepting a flag removes the mention from the merchant's portal;
rejecting keeps it; a request is decided once and only under its own merchant; removing an account's access.
"""

from __future__ import annotations

import re

from yarl import URL

from jobs.services import Services
from storage.repositories.users import Role
from tests.web.curation_setup import PageText, client_for, csrf_in, make_user, page, post_form, sign_in
from tests.web.portal_setup import A_SECOND, A_USER, CURATOR, build
from web.i18n import catalogue

EN = catalogue("en")
PAGES = ["/merchants", "/merchants/1"]
FORMS = ["/merchants/1/invites", "/merchants/1/invites/1/revoke", "/merchants/1/users/1/remove",
         "/merchants/1/requests/1/accept", "/merchants/1/requests/1/reject"]  # fmt: skip
API = [("GET", "/api/merchants"), ("GET", "/api/merchants/1"), ("POST", "/api/merchants/1/invites"),
       ("POST", "/api/merchants/1/invites/1/revoke"), ("POST", "/api/merchants/1/users/1/remove"),
       ("GET", "/api/corrections"), ("POST", "/api/corrections/1/accept"),
       ("POST", "/api/corrections/1/reject")]  # fmt: skip


async def test_only_curators_and_admins(services: Services) -> None:
    await build(services)
    async with client_for(services) as client:
        for path in PAGES:
            response = await client.get(path, allow_redirects=False)
            assert URL(response.headers["Location"]).path == "/login", path
        for method, path in API:
            assert (await client.request(method, path, json={})).status == 401, path
        token = await sign_in(client, A_USER)
        for path in PAGES:
            assert (await client.get(path)).status == 403, path
        for path in FORMS:
            assert (await client.post(path, data={"csrf_token": token})).status == 403, path
        for method, path in API:
            assert (await client.request(method, path, json={}, headers={"X-CSRF-Token": token})).status == 403
    await make_user(services, "admin@example.org", Role.ADMIN)
    async with client_for(services) as client:
        await sign_in(client, "admin@example.org")
        assert '<a href="/merchants">Merchants</a>' in await page(client, "/queue")
        assert "/merchants" in await page(client, "/merchants")


async def _flag(services: Services, client, merchant_id: int, mention_id: int, note: str) -> None:  # type: ignore[no-untyped-def]
    token = await sign_in(client, A_USER)
    response = await client.post(
        f"/api/portal/merchants/{merchant_id}/mentions/{mention_id}/flag",
        json={"note": note},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 201, await response.text()


async def test_the_list_and_one_merchant_with_all_its_data(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await _flag(services, client, world.a, world.mentions["a_negative"], "une cliente")
    async with client_for(services) as client:
        await sign_in(client, CURATOR)
        listing = await page(client, "/merchants")
        rows = re.findall(r'<tr class="merchant( has-pending)?" data-merchant="(\d+)"', listing)
        assert rows[0] == (" has-pending", str(world.a))  # requests waiting first
        found = await page(client, "/merchants?q=ZITOUNA")
        assert re.findall(r'data-merchant="(\d+)"', found) == [str(world.b)]
        assert re.findall(r'data-merchant="(\d+)"', await page(client, "/merchants?q=%25")) == []  # a literal %

        html = await page(client, f"/merchants/{world.a}")
        text = PageText(html).text
        # Its accounts, its request with the flagged post and the merchant's words, its mentions with real handles.
        assert A_USER in text
        assert A_SECOND in text
        assert "une cliente" in text
        assert "Déçu par Amal" in text
        assert "@user7002" in text  # curators see authors as they are
        assert "person-" not in html
        assert "hostile_writer" in text
        assert "Zitouna" not in text
        assert "<script>window" not in html
        assert len(re.findall(r'<rect class="bar"', html)) == 30
        assert EN["madmin.requests"].format(count=1) in text


async def test_accepting_a_flag_removes_the_mention_from_the_portal(services: Services) -> None:
    world = await build(services)
    flagged = world.mentions["a_negative"]
    async with client_for(services) as client:
        await _flag(services, client, world.a, flagged, "")
        portal = await page(client, f"/merchant/{world.a}")
        assert f'data-mention="{flagged}"' in portal
    async with client_for(services) as client:
        await sign_in(client, CURATOR)
        html = await page(client, f"/merchants/{world.a}")
        [request_id] = re.findall(r'id="request-(\d+)"', html)
        token = csrf_in(html)
        # Under another merchant's address, the request does not exist.
        wrong = await client.post(f"/merchants/{world.b}/requests/{request_id}/accept", data={"csrf_token": token})
        assert wrong.status == 404
        done = await post_form(client, f"/merchants/{world.a}/requests/{request_id}/accept", {"csrf_token": token})
        assert done.headers["Location"] == f"/merchants/{world.a}"
        after = PageText(await page(client, f"/merchants/{world.a}")).text
        assert EN["madmin.accepted"] in after
        assert EN["madmin.no_requests"] in after
        assert "Amal" in after.split(EN["madmin.excluded"])[1][:40]  # the alias no longer links
        twice = await post_form(client, f"/merchants/{world.a}/requests/{request_id}/accept", {"csrf_token": token})
        assert twice.headers["Location"] == f"/merchants/{world.a}"
        assert "already accepted" in PageText(await page(client, f"/merchants/{world.a}")).text
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        portal = await page(client, f"/merchant/{world.a}")
        assert f'data-mention="{flagged}"' not in portal
        assert "Déçu par Amal" not in portal
        assert EN["portal.count"].format(total=4, first=1, last=4) in PageText(portal).text
        names = PageText(await page(client, f"/merchant/{world.a}/names")).text
        assert EN["request_status.accepted"] in names


async def test_rejecting_keeps_the_mention_and_the_api_decides_too(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await _flag(services, client, world.a, world.mentions["a_english"], "")
        token = await sign_in(client, A_USER)
        await client.post(
            f"/api/portal/merchants/{world.a}/stories/{world.stories['a']}/takedown",
            json={},
            headers={"X-CSRF-Token": token},
        )
    async with client_for(services) as client:
        headers = {"X-CSRF-Token": await sign_in(client, CURATOR)}
        listed = await (await client.get("/api/corrections")).json()
        assert [r["kind"] for r in listed["items"]] == ["takedown", "not_us"]  # takedowns first
        assert listed["items"][0]["merchant_name"] == "Boulangerie Amal"
        flag_id = listed["items"][1]["id"]
        rejected = await client.post(
            f"/api/corrections/{flag_id}/reject", json={"note": "c'est bien vous"}, headers=headers
        )
        assert rejected.status == 200
        assert (await rejected.json())["request"]["status"] == "rejected"
        again = await client.post(f"/api/corrections/{flag_id}/accept", headers=headers)
        assert again.status == 409
        assert (await client.post("/api/corrections/999999/accept", headers=headers)).status == 404
        assert (await client.get("/api/corrections?status=maybe")).status == 400
        assert (await client.get("/api/corrections?kind=takedown")).status == 200
        merchant = await (await client.get(f"/api/merchants/{world.a}")).json()
        assert {u["email"] for u in merchant["users"]} == {A_USER, A_SECOND}
        assert [r["status"] for r in merchant["requests"]] == ["pending", "rejected"]
        assert (await client.get("/api/merchants/999999")).status == 404
        directory = await (await client.get("/api/merchants?q=amal")).json()
        assert [(m["id"], m["pending_requests"], m["users"]) for m in directory["items"]] == [(world.a, 1, 2)]
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        portal = await page(client, f"/merchant/{world.a}")
        assert f'data-mention="{world.mentions["a_english"]}"' in portal
        assert "c&#39;est bien vous" in await page(client, f"/merchant/{world.a}/names")


async def test_removing_an_accounts_access(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, CURATOR)
        html = await page(client, f"/merchants/{world.a}")
        user_ids = dict(re.findall(r'data-user="(\d+)"><td dir="auto">([^<]+)<', html))
        second = next(uid for uid, email in user_ids.items() if email == A_SECOND)
        await post_form(client, f"/merchants/{world.a}/users/{second}/remove", {"csrf_token": csrf_in(html)})
        assert A_SECOND not in PageText(await page(client, f"/merchants/{world.a}")).text
        missing = await client.post(f"/merchants/{world.a}/users/{second}/remove", data={"csrf_token": csrf_in(html)})
        assert missing.status == 404
    async with client_for(services) as client:
        await sign_in(client, A_SECOND)
        assert (await client.get(f"/merchant/{world.a}")).status == 404
        assert EN["portal.no_merchant"] in PageText(await page(client, "/merchant")).text
