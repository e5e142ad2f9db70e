"""Shared setup for the notification tests: a real SMTP server on loopback (aiosmtpd, plain, STARTTLS or
implicit TLS with a trustme certificate, optionally requiring AUTH) that keeps what it receives, and a
fixture week of real posts, analyses, merchants, merchant users and a featured story whose digest numbers
are worked out by hand in `EXPECTED`."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import select

from jobs.services import Services
from listener.post import Author as AuthorRecord
from nlp.results import Link
from storage.models import MerchantHandle, Story
from storage.models import Post as PostRow
from storage.repositories.analyses import AnalysisRecord, save_analyses
from storage.repositories.ingest import ingest
from storage.repositories.users import Role, add_user
from tests.factories import make_author, make_post
from tests.storage.stories_setup import Analysed, add_merchant, store

FROM = "Campagne <noreply@campaign.test>"
HOSTILE = "<script>alert('x')</script> Merci Les Trois Épis ! مخبز رائع"
# Monday 23 November 2026, 08:30 in Paris and in Casablanca (both UTC+1): the digest of 2026-W47 is due.
DUE_NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
WEEK = "2026-W47"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class SmtpServer:
    port: int
    ca_file: Path | None
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def env(self, tls: str = "none", **extra: str) -> dict[str, str]:
        """The LISTENER_* variables pointing the service at this server."""
        values = {
            "LISTENER_SMTP_HOST": "127.0.0.1",
            "LISTENER_SMTP_PORT": str(self.port),
            "LISTENER_SMTP_TLS": tls,
            "LISTENER_SMTP_FROM_ADDRESS": FROM,
            "LISTENER_SMTP_TIMEOUT": "10",
        }
        if self.ca_file is not None:
            values["LISTENER_SMTP_CA_FILE"] = str(self.ca_file)
        return {**values, **extra}

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.rcpt_tos]


class _Collector:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, smtp: SMTPServer, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("refused"):  # a mailbox the server does not know
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        self.server.received.append(
            Received(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], message, login)
        )
        return "250 OK"


@contextmanager
def smtp_server(
    *,
    tls: str = "none",
    tmp_path: Path | None = None,
    auth: tuple[str, str] | None = None,
    port: int | None = None,
) -> Iterator[SmtpServer]:
    """An aiosmtpd server on 127.0.0.1 (its own thread) for the block. `tls`: none, starttls (required) or
    implicit, with a certificate from a fresh trustme CA written to tmp_path (the client's ca_file)."""
    server_ctx: ssl.SSLContext | None = None
    ca_file: Path | None = None
    if tls != "none":
        assert tmp_path is not None
        ca = trustme.CA()
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
        ca_file = tmp_path / "smtp-ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
    server = SmtpServer(port=port or free_port(), ca_file=ca_file)

    def authenticator(smtp: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        server.logins.append((login, password))
        return AuthResult(success=auth is not None and (login, password) == auth, handled=False, auth_data=data.login)

    kwargs: dict[str, Any] = {}
    if tls == "starttls":
        kwargs.update(tls_context=server_ctx, require_starttls=True)
    elif tls == "implicit":
        kwargs.update(ssl_context=server_ctx, server_hostname="127.0.0.1")
    if auth is not None:
        kwargs.update(authenticator=authenticator, auth_required=True)
    controller = Controller(_Collector(server), hostname="127.0.0.1", port=server.port, **kwargs)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# --- the fixture week -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    merchant_fr: int  # Boulangerie Les Trois Épis, soutenons (Europe/Paris), its user writes French
    merchant_en: int  # Al Amal Bakery, lovelocal (Africa/Casablanca), its user writes English
    user_fr: int
    user_en: int
    private_handle: str  # the author of a1: a private individual, never shown by handle


EMAIL_FR = "boulangerie@example.test"
EMAIL_EN = "amal@example.test"
# Worked out by hand from the posts of `build_week` (2026-W47 in each merchant's time zone).
EXPECTED = {
    # a1 a2 a3 a4 a5 (a6 is Monday 00:30 in Paris: next week; a7 the week before; a8 in no campaign)
    "fr": {"mentions": 5, "previous": 1, "positive": 3, "neutral": 1, "negative": 1, "net": "+40", "reach": 3105,
           "interactions": 98},
    "en": {"mentions": 2, "previous": 0, "positive": 1, "neutral": 0, "negative": 1, "net": "0", "reach": 30,
           "interactions": 5},
}  # fmt: skip


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def add_merchant_user(services: Services, email_address: str, merchant_id: int, locale: str | None) -> int:
    async with services.sessions.begin() as session:
        user = await add_user(session, email_address, Role.MERCHANT, "not-a-real-hash", [merchant_id])
        user.locale = locale
        return user.id


async def build_week(services: Services) -> Fixture:
    soutenons, lovelocal = services.campaign_ids["soutenons"], services.campaign_ids["lovelocal"]
    async with services.sessions.begin() as session:
        fr = await add_merchant(session, "Boulangerie Les Trois Épis", city="Lyon")
        en = await add_merchant(session, "Al Amal Bakery", city="Casablanca")
        session.add(MerchantHandle(merchant_id=fr, platform="x", handle="troisepis"))
    shop_account = AuthorRecord(platform_id="shop-1", handle="troisepis", display_name="Les Trois Épis", followers=2000)
    private = make_author(followers=100)

    fr_posts = [
        (make_post(author=private, created_at=_at(15, 23, 30), likes=10, reposts=2), Analysed(merchant_id=fr)),
        (
            make_post(author=shop_account, text=HOSTILE, created_at=_at(17, 10), likes=30, reposts=5),
            Analysed(merchant_id=fr),
        ),
        (
            make_post(author=make_author(followers=1000), created_at=_at(18, 10), likes=50),
            Analysed(merchant_id=fr, sentiment="negative"),
        ),
        (
            make_post(author=make_author(followers=None), created_at=_at(19, 10), likes=None, reposts=None),
            Analysed(merchant_id=fr, sentiment="neutral"),
        ),
        (make_post(author=make_author(followers=5), created_at=_at(22, 22, 30), likes=1), Analysed(merchant_id=fr)),
        (make_post(author=make_author(followers=7), created_at=_at(22, 23, 30), likes=99), Analysed(merchant_id=fr)),
        (make_post(created_at=_at(10, 10), likes=3), Analysed(merchant_id=fr)),
    ]
    en_posts = [
        (
            make_post(author=make_author(followers=10), text="خدمة سيئة في مخبز الأمل", created_at=_at(18, 12)),
            Analysed(merchant_id=en, sentiment="negative", language="ar"),
        ),
        (
            make_post(
                author=make_author(followers=20), text="Al Amal Bakery is wonderful", created_at=_at(19, 12), likes=4
            ),
            Analysed(merchant_id=en, language="en"),
        ),
    ]
    outside = make_post(created_at=_at(18, 11), likes=77)  # mentions the shop but belongs to no campaign
    async with services.sessions.begin() as session:
        ids = await store(session, soutenons, fr_posts)
        await store(session, lovelocal, en_posts)
        await ingest(session, [outside], campaign_ids=[])
    async with services.sessions.begin() as session:
        # The outside post: analysed and linked, but in no campaign.
        outside_id = await session.scalar(select(PostRow.id).where(PostRow.platform_id == outside.platform_id))
        assert outside_id is not None
        await save_analyses(
            session,
            [
                AnalysisRecord(
                    outside_id, "fr", 0.9, "positive", 0.9, {}, "test", [Link(fr, "name", 0.9, 0, 5, "shop")], []
                )
            ],
        )
        first = await session.get(PostRow, ids[fr_posts[0][0].platform_id])
        assert first is not None
        featured = {
            "campaign_id": soutenons,
            "merchant_id": fr,
            "score": 0.9,
            "score_breakdown": {},
            "platform": "x",
            "language": "fr",
            "sentiment": "positive",
            "author_id": first.author_id,
            "public_name": "Amal R.",
            "created_at": _at(16, 9),
            "updated_at": _at(16, 9),
        }
        session.add(
            Story(post_id=first.id, state="featured", post_created_at=first.created_at, **featured,
                  featured_from=_at(17, 9), featured_until=_at(24, 9))
        )  # fmt: skip
        old = await session.get(PostRow, ids[fr_posts[6][0].platform_id])
        assert old is not None
        session.add(
            Story(post_id=old.id, state="archived", post_created_at=old.created_at, **featured,
                  featured_from=_at(2, 9), featured_until=_at(9, 9))
        )  # fmt: skip
    user_fr = await add_merchant_user(services, EMAIL_FR, fr, "fr")
    user_en = await add_merchant_user(services, EMAIL_EN, en, "en")
    return Fixture(fr, en, user_fr, user_en, private.handle)


def parts(message: EmailMessage) -> tuple[str, str]:
    """(text, html) of a multipart/alternative message."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


def later(days: int) -> datetime:
    return DUE_NOW + timedelta(days=days)
