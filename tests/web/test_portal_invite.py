"""Invitations end to end over HTTP, on SQLite and PostgreSQL: a curator invites an address from the merchant's
page (the link is shown once), the invitee opens it signed out, sets a password under the password rules and
lands on the portal signed in; the link then works no more (410), nor does an expired or revoked one, nor
the older link of a re-invited address; the API accepts an invitation the same way. A French browser gets
French pages.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from jobs.services import Services
from storage.models import MerchantInvite, User, UserMerchant
from storage.repositories._sql import utcnow
from tests.web.curation_setup import PASSWORD, PageText, client_for, csrf_in, page, post_form, sign_in
from tests.web.portal_setup import CURATOR, build
from web.i18n import catalogue

EN, FR = catalogue("en"), catalogue("fr")
NEW_PASSWORD = "un pain au levain, s'il vous plaît"


async def invite_link(services: Services, client, merchant_id: int, email: str) -> str:  # type: ignore[no-untyped-def]
    """As a signed-in curator: invite from the merchant's page; returns the link it shows."""
    html = await page(client, f"/merchants/{merchant_id}")
    response = await client.post(
        f"/merchants/{merchant_id}/invites", data={"csrf_token": csrf_in(html), "email": email}
    )
    assert response.status == 200, await response.text()
    shown = await response.text()
    match = re.search(r'class="invite-link" type="text" readonly value="([^"]+)"', shown)
    assert match, "the page shows no invite link"
    link = match.group(1)
    assert link.startswith(services.settings.web.public_url.rstrip("/") + "/invite/")
    return link.split("/invite/", 1)[1]


async def test_an_invited_merchant_sets_a_password_and_lands_on_its_portal(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, CURATOR)
        token = await invite_link(services, client, world.a, "New.Owner@Amal.example")
        listed = PageText(await page(client, f"/merchants/{world.a}")).text
        assert "new.owner@amal.example" in listed
        # Shown once: the page no longer holds it.
        assert token not in await page(client, f"/merchants/{world.a}")
    async with services.sessions() as session:
        stored = (await session.execute(select(MerchantInvite.token_hash))).scalars().all()
    assert token not in stored

    async with client_for(services) as visitor:
        form = await page(visitor, f"/invite/{token}")
        text = PageText(form).text
        assert "Boulangerie Amal" in text
        assert 'value="new.owner@amal.example"' in form
        for password, again, message in [
            ("short", "short", EN["password.too_short"].format(min=12)),
            (NEW_PASSWORD, NEW_PASSWORD + "!", EN["password.mismatch"]),
            ("new.owner@amal.example", "new.owner@amal.example", EN["password.is_email"]),
            ("aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa", EN["password.too_simple"]),
        ]:
            refused = await visitor.post(
                f"/invite/{token}", data={"password": password, "password_again": again}, allow_redirects=False
            )
            assert refused.status == 400, password
            assert message in PageText(await refused.text()).text
        done = await post_form(visitor, f"/invite/{token}", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
        assert done.headers["Location"] == "/merchant"
        # Signed in, straight to the shop.
        landing = await visitor.get("/merchant", allow_redirects=False)
        assert landing.headers["Location"] == f"/merchant/{world.a}"
        assert "Boulangerie Amal" in await page(visitor, f"/merchant/{world.a}")
        # The link works once.
        used = await visitor.get(f"/invite/{token}")
        assert used.status == 410
        assert EN["invite.gone"] in PageText(await used.text()).text
        # Signed in now: a form without this session's token is refused before anything else.
        assert (await visitor.post(f"/invite/{token}", data={"password": "another password 123"})).status == 403
    async with client_for(services) as stranger:
        replay = await stranger.post(
            f"/invite/{token}", data={"password": "another password 123", "password_again": "another password 123"}
        )
        assert replay.status == 410

    async with services.sessions() as session:
        user = (await session.execute(select(User).where(User.email == "new.owner@amal.example"))).scalar_one()
        bound = (await session.execute(select(UserMerchant.merchant_id).where(UserMerchant.user_id == user.id))).all()
    assert user.role == "merchant"
    assert [b for (b,) in bound] == [world.a]
    # The chosen password signs in normally.
    async with client_for(services) as client:
        response = await client.post("/api/session", json={"email": "new.owner@amal.example", "password": NEW_PASSWORD})
        assert response.status == 200
        assert (await response.json())["user"]["merchant_ids"] == [world.a]


async def test_expired_revoked_and_replaced_links_do_nothing(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, CURATOR)
        expired = await invite_link(services, client, world.a, "late@amal.example")
        first = await invite_link(services, client, world.b, "twice@zitouna.example")
        second = await invite_link(services, client, world.b, "twice@zitouna.example")
        revoked = await invite_link(services, client, world.b, "revoked@zitouna.example")
        html = await page(client, f"/merchants/{world.b}")
        [invite_id] = re.findall(
            r'action="/merchants/\d+/invites/(\d+)/revoke"', html.split("revoked@zitouna.example")[1]
        )[:1]
        await post_form(client, f"/merchants/{world.b}/invites/{invite_id}/revoke", {"csrf_token": csrf_in(html)})
        # Another merchant's invite cannot be revoked through this merchant's address.
        response = await client.post(
            f"/merchants/{world.a}/invites/{invite_id}/revoke", data={"csrf_token": csrf_in(html)}
        )
        assert response.status == 404
    async with services.sessions.begin() as session:
        await session.execute(
            update(MerchantInvite)
            .where(MerchantInvite.email == "late@amal.example")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    async with client_for(services) as visitor:
        for token in (expired, first, revoked, "x" * 43, "x" * 500):
            assert (await visitor.get(f"/invite/{token}")).status == 410, token
            response = await visitor.post(
                f"/invite/{token}", data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
            )
            assert response.status == 410, token
        assert (await visitor.get(f"/invite/{second}")).status == 200
    async with services.sessions() as session:
        emails = set((await session.execute(select(User.email))).scalars())
    assert not emails & {"late@amal.example", "twice@zitouna.example", "revoked@zitouna.example"}


async def test_a_staff_address_cannot_be_invited(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, CURATOR)
        html = await page(client, f"/merchants/{world.a}")
        refused = await client.post(
            f"/merchants/{world.a}/invites", data={"csrf_token": csrf_in(html), "email": CURATOR}
        )
        assert refused.status == 400
        assert "curator account" in await refused.text()
        bad = await client.post(f"/merchants/{world.a}/invites", data={"csrf_token": csrf_in(html), "email": "nobody"})
        assert bad.status == 400
        assert 'class="invite-link"' not in await bad.text()


async def test_the_api_accepts_an_invitation(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        headers = {"X-CSRF-Token": await sign_in(client, CURATOR)}
        created = await client.post(
            f"/api/merchants/{world.b}/invites", json={"email": "api@zitouna.example"}, headers=headers
        )
        assert created.status == 201, await created.text()
        invite = (await created.json())["invite"]
        token = invite["link"].rsplit("/", 1)[1]
        assert invite["email"] == "api@zitouna.example"
    async with client_for(services) as api:
        info = await api.get(f"/api/invites/{token}")
        assert (await info.json())["merchant"] == {"id": world.b, "name": "Épicerie Zitouna"}
        weak = await api.post(f"/api/invites/{token}", json={"password": "short"})
        assert weak.status == 400
        accepted = await api.post(f"/api/invites/{token}", json={"password": NEW_PASSWORD})
        assert accepted.status == 201, await accepted.text()
        body = await accepted.json()
        assert body["user"]["merchant_ids"] == [world.b]
        assert body["user"]["role"] == "merchant"
        me = await api.get("/api/me")
        assert (await me.json())["user"]["email"] == "api@zitouna.example"
        mentions = await api.get(f"/api/portal/merchants/{world.b}/mentions")
        assert (await mentions.json())["total"] == 2
        gone = await api.post(
            f"/api/invites/{token}", json={"password": NEW_PASSWORD}, headers={"X-CSRF-Token": body["csrf_token"]}
        )
        assert gone.status == 410
        assert (await api.get(f"/api/invites/{token}")).status == 410


async def test_an_existing_merchant_user_invited_to_another_shop_gets_both(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, CURATOR)
        token = await invite_link(services, client, world.b, "owner@amal.example")
    async with client_for(services) as visitor:
        visitor.session.headers["Accept-Language"] = "fr-FR,fr;q=0.9"
        form = PageText(await page(visitor, f"/invite/{token}")).text
        assert FR["invite.title"] in form
        await post_form(visitor, f"/invite/{token}", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
        chooser = await page(visitor, "/merchant")
        assert f'href="/merchant/{world.a}"' in chooser
        assert f'href="/merchant/{world.b}"' in chooser
    # The old password no longer works: the link replaced it.
    async with client_for(services) as client:
        old = await client.post("/api/session", json={"email": "owner@amal.example", "password": PASSWORD})
        assert old.status == 401
