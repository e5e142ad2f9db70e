"""Signing in and out, sessions, roles, CSRF, the login rate limit, password change and the French/English UI.

Each test runs the real `create_app(services)` on a loopback socket with aiohttp's test client, on SQLite and
PostgreSQL, with real users (Argon2id hashes) and real session rows. A few test-only routes are added to
the app to exercise the role guard and the CSRF check on a state-changing request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from http.cookies import SimpleCookie

import aiohttp.test_utils as aiotest
import pytest
from aiohttp import web
from sqlalchemy import func, select, update
from yarl import URL

from jobs.services import Services
from storage.engine import create_engine, make_sessionmaker
from storage.models import LoginAttempt, Merchant, User, WebSession
from storage.passwords import hash_password, verify_password
from storage.registry_csv import parse_registry
from storage.repositories import web_sessions
from storage.repositories.merchants import import_merchants
from storage.repositories.users import Role, add_user
from web.app import create_app
from web.auth import SESSION_COOKIE, current_user, require, safe_next
from web.i18n import catalogue, catalogue_files, choose_locale, from_accept_language, translator
from web.keys import SESSION_CACHE

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"
HASH = hash_password(PASSWORD)  # one Argon2id hash for the module: hashing is deliberately slow
Client = aiotest.TestClient[web.Request, web.Application]


# --- test routes and helpers --------------------------------------------------------------------------


@require(Role.CURATOR, Role.ADMIN)
async def curator_page(request: web.Request) -> web.StreamResponse:
    return web.Response(text="curator page")


@require(Role.ADMIN)
async def admin_api(request: web.Request) -> web.StreamResponse:
    return web.json_response({"admin": True})


@require()
async def change_something(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    assert user is not None
    return web.json_response({"changed_by": user.email})


def app_for(services: Services) -> web.Application:
    app = create_app(services)
    app.router.add_get("/test/curator", curator_page)
    app.router.add_get("/api/test/admin", admin_api)
    app.router.add_post("/test/change", change_something)
    app.router.add_post("/api/test/change", change_something)
    return app


@asynccontextmanager
async def client_for(services: Services) -> AsyncIterator[Client]:
    async with aiotest.TestClient(aiotest.TestServer(app_for(services), host="127.0.0.1")) as client:
        yield client


@asynccontextmanager
async def services_with(db_url: str, settings_for, **env: str) -> AsyncIterator[Services]:  # type: ignore[no-untyped-def]
    engine = create_engine(db_url)
    try:
        yield Services(settings=settings_for(db_url, **env), engine=engine, sessions=make_sessionmaker(engine))
    finally:
        await engine.dispose()


async def make_user(
    services: Services, email: str, role: Role = Role.CURATOR, *, locale: str | None = None, disabled: bool = False
) -> int:
    async with services.sessions.begin() as session:
        merchant_ids: list[int] = []
        if role is Role.MERCHANT:
            await import_merchants(session, parse_registry(b"name,city\nBoulangerie Les Trois Epis,Paris\n").rows)
            merchant_ids = list(await session.scalars(select(Merchant.id)))
        user = await add_user(session, email, role, HASH, merchant_ids)
        user.locale = locale
        user.disabled = disabled
        return user.id


async def form_login(client: Client, email: str, password: str = PASSWORD, **extra: str) -> aiotest.ClientResponse:
    return await client.post("/login", data={"email": email, "password": password, **extra}, allow_redirects=False)


async def api_login(client: Client, email: str, password: str = PASSWORD) -> aiotest.ClientResponse:
    return await client.post("/api/session", json={"email": email, "password": password})


def set_cookie(response: aiotest.ClientResponse, name: str = SESSION_COOKIE) -> str:
    headers = [h for h in response.headers.getall("Set-Cookie", []) if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.getall("Set-Cookie", [])
    return headers[0]


def next_of(redirect: aiotest.ClientResponse) -> str:
    """Where a redirect to the login page will send the visitor back to."""
    location = URL(redirect.headers["Location"])
    assert location.path == "/login"
    return location.query["next"]


def csrf_in(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def session_count(services: Services, user_id: int | None = None) -> int:
    async with services.sessions() as session:
        query = select(func.count()).select_from(WebSession)
        if user_id is not None:
            query = query.where(WebSession.user_id == user_id)
        return int(await session.scalar(query) or 0)


# --- signing in and out -------------------------------------------------------------------------------


async def test_form_login_sets_a_session_and_logout_ends_it(services: Services) -> None:
    user_id = await make_user(services, "Curator@Example.org")
    async with client_for(services) as client:
        page = await client.get("/login?next=/account/password")
        assert page.status == 200
        assert 'name="next" value="/account/password"' in await page.text()

        response = await form_login(client, "curator@example.ORG ", next="/account/password")
        assert response.status == 303
        assert response.headers["Location"] == "/account/password"
        token = SimpleCookie(set_cookie(response))[SESSION_COOKIE].value

        page = await client.get("/account/password")
        assert page.status == 200
        assert page.headers["Cache-Control"] == "no-store"
        html = await page.text()
        assert "curator@example.org" in html
        # The database knows the token only by its SHA-256.
        async with services.sessions() as session:
            row = await session.scalar(select(WebSession).where(WebSession.user_id == user_id))
            assert row is not None
            assert row.id == hashlib.sha256(token.encode()).hexdigest()
            assert token not in (row.id, row.csrf_token)
            assert (await session.get(User, user_id)).last_login_at is not None  # type: ignore[union-attr]

        # An already signed-in visitor of /login goes on to where it was heading.
        again = await client.get("/login?next=/account/password", allow_redirects=False)
        assert (again.status, again.headers["Location"]) == (303, "/account/password")

        out = await client.post("/logout", data={"csrf_token": csrf_in(html)}, allow_redirects=False)
        assert (out.status, out.headers["Location"]) == (303, "/login")
        assert "Max-Age=0" in set_cookie(out) or "expires=" in set_cookie(out).lower()
        assert await session_count(services) == 0
        gone = await client.get("/account/password", allow_redirects=False)
        assert gone.status == 303
        assert next_of(gone) == "/account/password"


async def test_a_replayed_cookie_is_refused_after_logout(services: Services) -> None:
    await make_user(services, "curator@example.org")
    async with client_for(services) as client:
        token = SimpleCookie(set_cookie(await form_login(client, "curator@example.org")))[SESSION_COOKIE].value
        me = await (await client.get("/api/me")).json()
        assert (await client.delete("/api/session", headers={"X-CSRF-Token": me["csrf_token"]})).status == 204
    async with client_for(services) as thief:
        thief.session.cookie_jar.update_cookies({SESSION_COOKIE: token})
        response = await thief.get("/api/me")
        assert response.status == 401
        # The dead cookie is cleared, so the browser stops sending it.
        assert "Max-Age=0" in set_cookie(response)


async def test_json_api_sign_in_me_and_sign_out(services: Services) -> None:
    user_id = await make_user(services, "admin@example.org", Role.ADMIN)
    async with client_for(services) as client:
        response = await api_login(client, "admin@example.org")
        assert response.status == 200
        body = await response.json()
        assert body["user"] == {
            "id": user_id,
            "email": "admin@example.org",
            "role": "admin",
            "merchant_ids": [],
            "locale": None,
        }
        assert len(body["csrf_token"]) >= 40
        assert SESSION_COOKIE in set_cookie(response)

        me = await client.get("/api/me")
        assert me.status == 200
        assert await me.json() == body

        refused = await client.delete("/api/session")
        assert refused.status == 403
        assert "CSRF" in (await refused.json())["error"]
        assert await session_count(services) == 1

        ended = await client.delete("/api/session", headers={"X-CSRF-Token": body["csrf_token"]})
        assert ended.status == 204
        assert await session_count(services) == 0
        after = await client.get("/api/me")
        assert after.status == 401
        assert "POST /api/session" in (await after.json())["error"]


async def test_merchant_users_carry_their_merchants(services: Services) -> None:
    await make_user(services, "shop@example.org", Role.MERCHANT)
    async with services.sessions() as session:
        merchant_ids = list(await session.scalars(select(Merchant.id)))
    async with client_for(services) as client:
        body = await (await api_login(client, "shop@example.org")).json()
    assert body["user"]["role"] == "merchant"
    assert body["user"]["merchant_ids"] == merchant_ids


async def test_wrong_password_and_unknown_email_get_the_same_answer(services: Services) -> None:
    await make_user(services, "curator@example.org")
    async with client_for(services) as client:
        wrong = await api_login(client, "curator@example.org", "not the password at all")
        unknown = await api_login(client, "nobody@example.org", "not the password at all")
        assert wrong.status == unknown.status == 401
        assert await wrong.json() == await unknown.json() == {"error": "Wrong e-mail address or password."}
        assert SESSION_COOKIE not in wrong.cookies

        page = await form_login(client, "nobody@example.org", "whatever it is")
        assert page.status == 401
        assert "Wrong e-mail address or password." in await page.text()
    assert await session_count(services) == 0


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b'["email", "password"]', 400, "JSON object"),
        (b'{"email": "a@example.org"}', 400, "required: password"),
        (b'{"email": 5, "password": null}', 400, "required: email, password"),
        (b"\xff\xfe", 400, "not valid JSON"),
        (json.dumps({"email": "a@example.org", "password": "x" * 5000}).encode(), 400, "too long: password"),
        (b'{"email": "' + b"a" * (2 * 1024**2) + b'"}', 413, "exceeded"),
    ],
)
async def test_bad_sign_in_bodies_are_4xx_with_a_clear_message(
    services: Services, body: bytes, status: int, message: str
) -> None:
    async with client_for(services) as client:
        response = await client.post("/api/session", data=body, headers={"Content-Type": "application/json"})
        assert response.status == status
        assert response.content_type == "application/json"
        assert message in (await response.json())["error"]


async def test_an_oversized_login_form_is_413_not_500(services: Services) -> None:
    async with client_for(services) as client:
        response = await client.post("/login", data={"email": "a" * (2 * 1024**2), "password": "x"})
        assert response.status == 413
        assert "<html" in await response.text()


async def test_session_cookie_flags(db_url: str, settings_for) -> None:  # type: ignore[no-untyped-def]
    async with services_with(db_url, settings_for) as plain:
        await make_user(plain, "curator@example.org")
        async with client_for(plain) as client:
            header = set_cookie(await form_login(client, "curator@example.org"))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Path=/" in header
    assert "Secure" not in header  # plain http (the default public_url): a Secure cookie would never come back
    cookie = SimpleCookie(header)[SESSION_COOKIE]
    assert len(cookie.value) >= 43
    assert int(cookie["max-age"]) == 12 * 3600

    env = {"LISTENER_WEB_PUBLIC_URL": "https://listen.example.org", "LISTENER_WEB_SESSION_HOURS": "2"}
    async with services_with(db_url, settings_for, **env) as https:
        async with client_for(https) as client:
            response = await client.post(
                "/api/session",
                json={"email": "curator@example.org", "password": PASSWORD},
                headers={"Origin": "https://listen.example.org"},
            )
            assert response.status == 200
            header = set_cookie(response)
        async with https.sessions() as session:
            row = await session.scalar(select(WebSession).order_by(WebSession.created_at.desc()))
    assert "Secure" in header
    assert "HttpOnly" in header
    assert int(SimpleCookie(header)[SESSION_COOKIE]["max-age"]) == 2 * 3600
    assert row is not None
    assert row.expires_at - row.created_at == timedelta(hours=2)


async def test_disabled_users_cannot_sign_in_and_lose_their_sessions(services: Services) -> None:
    user_id = await make_user(services, "former@example.org")
    await make_user(services, "off@example.org", disabled=True)
    async with client_for(services) as client:
        refused = await api_login(client, "off@example.org")
        assert refused.status == 403
        assert "disabled" in (await refused.json())["error"]
        page = await form_login(client, "off@example.org")
        assert page.status == 403
        assert SESSION_COOKIE not in page.cookies

        assert (await api_login(client, "former@example.org")).status == 200
        assert (await client.get("/api/me")).status == 200
        async with services.sessions.begin() as session:
            await session.execute(update(User).where(User.id == user_id).values(disabled=True))
        # Disabled from outside this process: seen once the few seconds' session cache lets go.
        client.app[SESSION_CACHE].clear()
        assert (await client.get("/api/me")).status == 401


# --- CSRF and origins ---------------------------------------------------------------------------------


async def test_state_changing_requests_need_the_sessions_csrf_token(services: Services) -> None:
    await make_user(services, "curator@example.org")
    async with client_for(services) as client:
        token = (await (await api_login(client, "curator@example.org")).json())["csrf_token"]

        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token + "x"}):
            response = await client.post("/test/change", data=data)
            assert response.status == 403
            assert "CSRF" in await response.text()
        api = await client.post("/api/test/change", json={}, headers={"X-CSRF-Token": "forged"})
        assert api.status == 403
        assert "X-CSRF-Token" in (await api.json())["error"]

        by_form = await client.post("/test/change", data={"csrf_token": token})
        assert by_form.status == 200
        by_header = await client.post("/api/test/change", json={}, headers={"X-CSRF-Token": token})
        assert await by_header.json() == {"changed_by": "curator@example.org"}

        # Logout is state-changing too: without the token the session survives.
        assert (await client.post("/logout", allow_redirects=False)).status == 403
        assert await session_count(services) == 1


async def test_a_forged_cross_site_sign_in_is_refused(services: Services) -> None:
    await make_user(services, "curator@example.org")
    async with client_for(services) as client:
        own = f"http://{client.host}:{client.port}"
        for headers in (
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Referer": "https://evil.example/page"},
            {"Origin": f"http://{client.host}:{client.port + 1}"},
        ):
            form = await client.post(
                "/login", data={"email": "curator@example.org", "password": PASSWORD}, headers=headers
            )
            assert form.status == 403, headers
            assert "another site" in await form.text()
            api = await client.post(
                "/api/session", json={"email": "curator@example.org", "password": PASSWORD}, headers=headers
            )
            assert api.status == 403, headers
        assert await session_count(services) == 0
        same = await client.post(
            "/login",
            data={"email": "curator@example.org", "password": PASSWORD},
            headers={"Origin": own, "Referer": own + "/login"},
            allow_redirects=False,
        )
        assert same.status == 303


# --- redirects ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/queue?state=candidate", "/queue?state=candidate"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("/login?next=/queue", "/login?next=/queue"),  # the language switcher on the login page comes back to it
        ("evil.example", "/"),
    ],
)
def test_safe_next_keeps_only_local_paths(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


async def test_open_redirects_are_refused(services: Services) -> None:
    await make_user(services, "curator@example.org")
    async with client_for(services) as client:
        page = await (await client.get("/login?next=//evil.example/steal")).text()
        assert 'name="next" value="/"' in page
        response = await form_login(client, "curator@example.org", next="https://evil.example/")
        assert response.headers["Location"] == "/"
        lang = await client.get("/lang/fr?next=//evil.example", allow_redirects=False)
        assert lang.headers["Location"] == "/"


# --- roles --------------------------------------------------------------------------------------------


async def test_role_guard_redirects_401s_and_403s(services: Services) -> None:
    await make_user(services, "curator@example.org")
    await make_user(services, "admin@example.org", Role.ADMIN)
    await make_user(services, "shop@example.org", Role.MERCHANT)
    async with client_for(services) as client:
        page = await client.get("/test/curator?state=candidate&x=<y>", allow_redirects=False)
        assert page.status == 303
        assert next_of(page) == "/test/curator?state=candidate&x=%3Cy%3E"
        api = await client.get("/api/test/admin")
        assert api.status == 401
        assert api.content_type == "application/json"
        # Signing in through that link comes back to the page.
        back = await form_login(client, "curator@example.org", next="/test/curator?state=candidate")
        assert back.headers["Location"] == "/test/curator?state=candidate"
        assert await (await client.get("/test/curator")).text() == "curator page"
        forbidden = await client.get("/api/test/admin")
        assert forbidden.status == 403
        assert await forbidden.json() == {"error": "Your account is not allowed to do this."}

    async with client_for(services) as client:
        await form_login(client, "shop@example.org")
        page = await client.get("/test/curator")
        assert page.status == 403
        html = await page.text()
        assert '<html lang="en"' in html
        assert "Your account is not allowed to do this." in html
        assert "shop@example.org" in html  # the layout, with the user's menu

    async with client_for(services) as client:
        await api_login(client, "admin@example.org")
        assert await (await client.get("/api/test/admin")).json() == {"admin": True}
        assert (await client.get("/test/curator")).status == 200


async def test_error_pages_are_in_the_layout_or_json(services: Services) -> None:
    async with client_for(services) as client:
        page = await client.get("/no/such/<page>")
        assert page.status == 404
        html = await page.text()
        assert "Page not found" in html
        assert '<html lang="en"' in html
        assert "<page>" not in html
        api = await client.get("/api/no/such")
        assert (api.status, await api.json()) == (404, {"error": "There is no such page."})
        wrong = await client.get("/api/session")
        assert wrong.status == 405
        assert set(wrong.headers["Allow"].split(",")) == {"POST", "DELETE"}
        assert "error" in await wrong.json()
        put = await client.put("/login")
        assert put.status == 405
        assert "Method not allowed" in await put.text()
        french = await client.get("/nope", headers={"Accept-Language": "fr"})
        assert "Page introuvable" in await french.text()


# --- the login rate limit -----------------------------------------------------------------------------


async def test_failed_sign_ins_are_rate_limited_until_the_window_passes(db_url: str, settings_for) -> None:  # type: ignore[no-untyped-def]
    env = {"LISTENER_WEB_LOGIN_ATTEMPTS": "3", "LISTENER_WEB_LOGIN_WINDOW_MINUTES": "10"}
    async with services_with(db_url, settings_for, **env) as services:
        await make_user(services, "curator@example.org")
        async with client_for(services) as client:
            for _ in range(3):
                assert (await api_login(client, "Curator@example.org", "wrong password!")).status == 401
            # Past the limit even the right password is refused, without checking it.
            limited = await api_login(client, "curator@example.org")
            assert limited.status == 429
            assert 9 * 60 <= int(limited.headers["Retry-After"]) <= 10 * 60
            assert "try again in 10 min" in (await limited.json())["error"]
            page = await form_login(client, "curator@example.org")
            assert page.status == 429
            assert "Retry-After" in page.headers
            assert "Too many failed sign-ins" in await page.text()

            # The window passes (the failures age), and a right password gets in and clears the e-mail's count.
            async with services.sessions.begin() as session:
                for attempt in await session.scalars(select(LoginAttempt)):
                    attempt.at -= timedelta(minutes=11)
            assert (await api_login(client, "curator@example.org")).status == 200
        async with services.sessions() as session:
            email_failures = await session.scalar(
                select(func.count()).select_from(LoginAttempt).where(LoginAttempt.key.like("email:%"))
            )
        assert email_failures == 0


async def test_the_rate_limit_also_counts_per_client_address(db_url: str, settings_for) -> None:  # type: ignore[no-untyped-def]
    async with services_with(db_url, settings_for, LISTENER_WEB_LOGIN_ATTEMPTS="3") as services:
        await make_user(services, "curator@example.org")
        async with client_for(services) as client:
            for n in range(3):
                assert (await api_login(client, f"guess{n}@example.org", "a guess")).status == 401
            # Another e-mail from the same address: refused too (a sweep over many accounts is slowed down).
            assert (await api_login(client, "curator@example.org")).status == 429


async def test_behind_a_local_proxy_each_forwarded_client_has_its_own_budget(db_url: str, settings_for) -> None:  # type: ignore[no-untyped-def]
    async with services_with(db_url, settings_for, LISTENER_WEB_LOGIN_ATTEMPTS="2") as services:
        await make_user(services, "curator@example.org")

        async def attempt(client: Client, email: str, password: str, forwarded: str) -> int:
            body = {"email": email, "password": password}
            return (await client.post("/api/session", json=body, headers={"X-Forwarded-For": forwarded})).status

        async with client_for(services) as client:
            assert await attempt(client, "guess1@example.org", "a guess", "203.0.113.7") == 401
            assert await attempt(client, "guess2@example.org", "a guess", "203.0.113.7") == 401
            # What the client itself claims (before the proxy's entry) changes nothing.
            assert await attempt(client, "curator@example.org", PASSWORD, "198.51.100.1, 203.0.113.7") == 429
            assert await attempt(client, "curator@example.org", PASSWORD, "203.0.113.8") == 200
        async with services.sessions() as session:
            keys = set(await session.scalars(select(LoginAttempt.key)))
    assert keys == {"addr:203.0.113.7", "email:guess1@example.org", "email:guess2@example.org"}


async def test_the_rate_limit_survives_a_restart(db_url: str, settings_for) -> None:  # type: ignore[no-untyped-def]
    async with services_with(db_url, settings_for, LISTENER_WEB_LOGIN_ATTEMPTS="2") as services:
        await make_user(services, "curator@example.org")
        async with client_for(services) as client:
            for _ in range(2):
                await api_login(client, "curator@example.org", "a wrong one")
    async with (
        services_with(db_url, settings_for, LISTENER_WEB_LOGIN_ATTEMPTS="2") as restarted,
        client_for(restarted) as client,
    ):
        assert (await api_login(client, "curator@example.org")).status == 429


# --- changing the password ----------------------------------------------------------------------------


async def test_password_change_needs_the_current_one_and_ends_other_sessions(services: Services) -> None:
    user_id = await make_user(services, "curator@example.org")
    async with client_for(services) as laptop, client_for(services) as phone:
        await form_login(laptop, "curator@example.org")
        await form_login(phone, "curator@example.org")
        assert await session_count(services, user_id) == 2
        page = await laptop.get("/account/password")
        token = csrf_in(await page.text())

        async def submit(current: str, new: str, again: str | None = None) -> aiotest.ClientResponse:
            data = {"csrf_token": token, "current_password": current, "new_password": new, "new_again": again or new}
            return await laptop.post("/account/password", data=data, allow_redirects=False)

        for current, new, again, message in (
            ("not my password", NEW_PASSWORD, None, "The current password is wrong."),
            (PASSWORD, "short", None, "at least 12 characters"),
            (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "The two new passwords differ."),
            (PASSWORD, "curator@example.org", None, "must not be your e-mail"),
            (PASSWORD, PASSWORD, None, "must differ from the current one"),
        ):
            response = await submit(current, new, again)
            assert response.status == 400, message
            assert message in await response.text()
        assert await session_count(services, user_id) == 2

        done = await submit(PASSWORD, NEW_PASSWORD)
        assert (done.status, done.headers["Location"]) == (303, "/account/password?changed=1")
        assert "Your password has been changed" in await (await laptop.get("/account/password?changed=1")).text()
        assert (await phone.get("/api/me")).status == 401
        assert (await laptop.get("/api/me")).status == 200
        assert await session_count(services, user_id) == 1

    async with services.sessions() as session:
        stored = (await session.get(User, user_id)).password_hash  # type: ignore[union-attr]
    assert verify_password(stored, NEW_PASSWORD)
    async with client_for(services) as client:
        assert (await api_login(client, "curator@example.org")).status == 401
        assert (await api_login(client, "curator@example.org", NEW_PASSWORD)).status == 200


async def test_password_change_by_api(services: Services) -> None:
    await make_user(services, "curator@example.org")
    async with client_for(services) as client, client_for(services) as other:
        token = (await (await api_login(client, "curator@example.org")).json())["csrf_token"]
        await api_login(other, "curator@example.org")
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        assert (await client.post("/api/me/password", json=body)).status == 403  # no CSRF header
        headers = {"X-CSRF-Token": token}
        bad = await client.post("/api/me/password", json={"new_password": NEW_PASSWORD}, headers=headers)
        assert (bad.status, await bad.json()) == (400, {"error": "required: current_password (non-empty strings)"})
        response = await client.post("/api/me/password", json=body, headers=headers)
        assert await response.json() == {"status": "changed", "other_sessions_ended": 1}
        assert (await other.get("/api/me")).status == 401


# --- languages ----------------------------------------------------------------------------------------


async def test_the_language_switcher_shows_french_labels(services: Services) -> None:
    async with client_for(services) as client:
        english = await (await client.get("/login")).text()
        assert '<html lang="en"' in english
        assert "Password" in english
        switch = await client.get("/lang/fr?next=/login", allow_redirects=False)
        assert (switch.status, switch.headers["Location"]) == (303, "/login")
        assert "HttpOnly" in set_cookie(switch, "lang")
        french = await (await client.get("/login")).text()
        assert '<html lang="fr"' in french
        assert "Mot de passe" in french
        assert "Adresse e-mail" in french
        assert "Se connecter" in french
        failed = await form_login(client, "nobody@example.org", "a wrong one")
        assert "Adresse e-mail ou mot de passe incorrect." in await failed.text()
        assert (await (await client.get("/lang/en?next=/login")).text()).count("Password") >= 1
    async with client_for(services) as browser:
        page = await browser.get("/login", headers={"Accept-Language": "de-DE, fr-CA;q=0.8, en;q=0.5"})
        assert '<html lang="fr"' in await page.text()


async def test_a_users_own_language_wins_and_the_switcher_stores_it(services: Services) -> None:
    user_id = await make_user(services, "curator@example.org", locale="fr")
    async with client_for(services) as client:
        client.session.cookie_jar.update_cookies({"lang": "en"})
        await form_login(client, "curator@example.org")
        page = await (await client.get("/account/password")).text()
        assert '<html lang="fr"' in page
        assert "Changer votre mot de passe" in page
        # Signed in, the switcher is a POST form carrying the CSRF token; it stores the choice.
        assert 'action="/lang/en"' in page
        assert (await client.post("/lang/en", data={"next": "/account/password"})).status == 403
        switched = await client.post(
            "/lang/en", data={"csrf_token": csrf_in(page), "next": "/account/password"}, allow_redirects=False
        )
        assert switched.headers["Location"] == "/account/password"
        assert "Change your password" in await (await client.get("/account/password")).text()
    async with services.sessions() as session:
        assert (await session.get(User, user_id)).locale == "en"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("en-GB, fr;q=0.9", "en"),
        ("de, ar;q=0.9", None),
        ("fr;q=0, en;q=0.1", "en"),
        ("fr;q=abc", None),
        ("", None),
        (None, None),
    ],
)
def test_accept_language(header: str | None, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_locale_order_user_then_cookie_then_browser_then_english() -> None:
    assert choose_locale("fr", "en", "en") == "fr"
    assert choose_locale(None, "fr", "en") == "fr"
    assert choose_locale(None, "xx", "fr-BE") == "fr"
    assert choose_locale(None, None, "de") == "en"


def test_catalogues_hold_the_same_keys_sorted_and_translate() -> None:
    for en_file, fr_file in zip(catalogue_files("en"), catalogue_files("fr"), strict=True):
        assert en_file.parent == fr_file.parent, "every area has both languages"
        keys = {}
        for path in (en_file, fr_file):
            data = json.loads(path.read_text(encoding="utf-8"))
            assert list(data) == sorted(data), f"{path} is not sorted"
            keys[path.name] = data.keys()
        assert keys["en.json"] == keys["fr.json"], en_file.parent
    assert catalogue("en").keys() == catalogue("fr").keys()
    t = translator("fr")
    assert t("login.rate_limited", minutes=3) == "Trop de tentatives de connexion échouées : réessayez dans 3 min."
    assert translator("en")("no.such.key") == "no.such.key"
    assert translator(None)("login.title") == "Sign in"


# --- escaping -----------------------------------------------------------------------------------------


async def test_a_hostile_email_is_echoed_escaped(services: Services) -> None:
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>@x.fr'
    async with client_for(services) as client:
        response = await form_login(client, hostile, "some password")
        assert response.status == 401
        page = await response.text()
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
        api = await api_login(client, hostile, "some password")
        assert hostile not in await api.text()


async def test_a_hostile_email_of_a_real_user_is_escaped_in_the_layout(services: Services) -> None:
    hostile = '"<script>alert(1)</script>"@evil.fr'
    await make_user(services, hostile)
    async with client_for(services) as client:
        assert (await api_login(client, hostile)).status == 200
        page = await (await client.get("/account/password")).text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<span class="who" dir="auto">' in page


# --- the session repository ---------------------------------------------------------------------------


async def test_sessions_slide_at_most_once_a_minute_and_expire(services: Services) -> None:
    user_id = await make_user(services, "curator@example.org")
    lifetime = timedelta(hours=1)
    async with services.sessions.begin() as session:
        token, row = await web_sessions.create_session(session, user_id, lifetime)
        start = row.created_at
    async with services.sessions.begin() as session:
        seen = await web_sessions.lookup_session(session, token, start + timedelta(seconds=30))
        assert seen is not None
        assert not web_sessions.needs_touch(seen, start + timedelta(seconds=30))
        later = start + timedelta(minutes=50)
        assert web_sessions.needs_touch(seen, later)
        assert await web_sessions.touch_session(session, seen.session_id, lifetime, later) == later + lifetime
    async with services.sessions.begin() as session:
        # Slid: alive past the first hour, gone an hour after the last use.
        assert await web_sessions.lookup_session(session, token, start + timedelta(minutes=90)) is not None
        assert await web_sessions.lookup_session(session, token, start + timedelta(minutes=111)) is None
        # However busy, a session ends at its maximum age.
        late = start + web_sessions.MAX_SESSION_AGE - timedelta(minutes=10)
        assert await web_sessions.touch_session(session, seen.session_id, lifetime, late) == (
            start + web_sessions.MAX_SESSION_AGE
        )
        assert await web_sessions.lookup_session(session, "not-a-token", start) is None
        purged = await web_sessions.purge(session, timedelta(minutes=15), start + timedelta(days=31))
    assert purged == {"web_sessions_purged": 1, "login_attempts_purged": 0}


async def test_blocked_for_waits_for_the_limit_th_newest_failure(services: Services) -> None:
    async with services.sessions.begin() as session:
        base = web_sessions.utcnow()
        for minutes in (0, 2, 4, 6):
            await web_sessions.record_failure(session, ["email:a@x.fr"], base + timedelta(minutes=minutes))
        window = timedelta(minutes=10)
        now = base + timedelta(minutes=7)
        # 4 failures, limit 3: refused until the 3rd newest (minute 2) leaves the window at minute 12.
        assert await web_sessions.blocked_for(session, ["email:a@x.fr", "addr:1"], 3, window, now) == timedelta(
            minutes=5
        )
        assert await web_sessions.blocked_for(session, ["email:a@x.fr"], 5, window, now) is None
        assert await web_sessions.failures(session, "email:a@x.fr", now - window) == 4
        purged = await web_sessions.purge(session, window, base + timedelta(minutes=13))
        assert purged["login_attempts_purged"] == 2
