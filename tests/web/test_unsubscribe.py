"""The unsubscribe link of a real digest, followed over real HTTP: GET only asks (mail clients prefetch links),
POST unsubscribes (the page's button or a provider's RFC 8058 one-click POST), without signing in; the next
digest run skips that user. Both databases, a real SMTP server."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientResponse

from jobs import notify
from jobs.digest import unsubscribe_token
from jobs.services import Services
from service.settings import Settings
from storage.repositories import notifications as repo
from storage.repositories.users import Role
from tests.jobs.notify_setup import DUE_NOW, EMAIL_EN, EMAIL_FR, SmtpServer, build_week, smtp_server
from tests.web.curation_setup import client_for, make_user, sign_in


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(db_url: str, settings_for, smtp: SmtpServer) -> Settings:  # type: ignore[no-untyped-def]
    return settings_for(db_url, **smtp.env())  # type: ignore[no-any-return]


async def _read(response: ClientResponse) -> str:
    return html.unescape(await response.text())


def _link_path(smtp: SmtpServer, address: str) -> str:
    [message] = smtp.to(address)
    return urlsplit(str(message["List-Unsubscribe"]).strip().strip("<>")).path


async def test_one_click_unsubscribe_stops_the_next_digest(services: Services, smtp: SmtpServer) -> None:
    fixture = await build_week(services)
    await notify.run_digests(services, now=DUE_NOW)
    path = _link_path(smtp, EMAIL_FR)
    async with client_for(services) as client:
        # A prefetch (GET) only shows the question, in the user's language, and changes nothing.
        for _ in range(2):
            page = await client.get(path)
            assert page.status == 200
            body = await _read(page)
            assert "Arrêter le bilan hebdomadaire" in body
            assert 'method="post"' in body
            assert page.headers["Cache-Control"] == "no-store"
        async with services.sessions() as session:
            assert not await repo.is_unsubscribed(session, fixture.user_fr, "digest")
        # The provider's one-click POST (RFC 8058): no cookie, no CSRF token.
        done = await client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert done.status == 200
        assert "C'est fait : vous ne recevrez plus de bilan hebdomadaire." in await _read(done)
        twice = await client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert "Vous ne recevez plus le bilan hebdomadaire." in await _read(twice)
        after = await client.get(path)
        assert "Vous ne recevez plus le bilan hebdomadaire." in await _read(after)
    async with services.sessions() as session:
        assert await repo.is_unsubscribed(session, fixture.user_fr, "digest")
        assert not await repo.is_unsubscribed(session, fixture.user_fr, "alert")  # one kind per link

    next_week = await notify.run_digests(services, now=DUE_NOW + timedelta(days=7))
    assert (next_week["sent"], next_week["unsubscribed"]) == (1, 1)
    assert len(smtp.to(EMAIL_FR)) == 1
    assert len(smtp.to(EMAIL_EN)) == 2


async def test_the_confirm_button_works_for_a_signed_in_browser(services: Services, smtp: SmtpServer) -> None:
    await build_week(services)
    await notify.run_digests(services, now=DUE_NOW)
    path = _link_path(smtp, EMAIL_EN)
    await make_user(services, "curator@example.org", Role.CURATOR)
    async with client_for(services) as client:
        csrf = await sign_in(client, "curator@example.org")  # someone else's session in the same browser
        page = await _read(await client.get(path))
        assert f'name="csrf_token" value="{csrf}"' in page
        assert "Stop the weekly digest" in page  # the link's user writes English
        refused = await client.post(path, data={})  # a signed-in session must present its token
        assert refused.status == 403
        done = await client.post(path, data={"csrf_token": csrf}, headers={"Origin": str(client.make_url(""))})
        assert done.status == 200
        assert "Done: you will receive no more weekly digests." in await _read(done)


async def test_forged_or_altered_links_are_refused(services: Services, smtp: SmtpServer) -> None:
    fixture = await build_week(services)
    wrong_key = unsubscribe_token(b"not the service key", fixture.user_fr, "digest")
    right = unsubscribe_token(notify.unsubscribe_key(services), fixture.user_fr, "digest")
    other_kind = right.replace(".digest.", ".alert.")
    other_user = right.replace(f"{fixture.user_fr}.", f"{fixture.user_en}.", 1)
    async with client_for(services) as client:
        for token in (wrong_key, other_kind, other_user, "1.digest", "x" * 300, "%3Cscript%3E"):
            for method in ("GET", "POST"):
                response = await client.request(method, f"/unsubscribe/{token}")
                assert response.status == 404, (method, token)
                assert "not valid" in await _read(response)
        unknown = unsubscribe_token(notify.unsubscribe_key(services), 999_999, "digest")
        assert (await client.post(f"/unsubscribe/{unknown}")).status == 404
    async with services.sessions() as session:
        assert not await repo.is_unsubscribed(session, fixture.user_fr, "digest")
        assert not await repo.is_unsubscribed(session, fixture.user_fr, "alert")
