"""jobs.mailer against a real SMTP server on loopback (aiosmtpd): plain, STARTTLS and implicit TLS with a trustme
certificate, AUTH; each failure comes out as our own error naming the setting to fix, never the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.mailer import (
    Mail,
    MailAuthFailed,
    MailConnectFailed,
    MailNotConfigured,
    MailRefused,
    MailSession,
    MailTlsFailed,
    build_message,
    send_one,
)
from service.settings import Secret, SmtpSettings
from tests.jobs.notify_setup import FROM, free_port, smtp_server

PASSWORD = "s3cret-Smtp-pass"


def smtp_settings(port: int, tls: str = "none", **extra: object) -> SmtpSettings:
    return SmtpSettings.model_validate(
        {"host": "127.0.0.1", "port": port, "tls": tls, "from_address": FROM, "timeout": 10, **extra}
    )


def mail(to: str = "shop@example.test", **changes: object) -> Mail:
    fields: dict[str, object] = {
        "to": to,
        "subject": "Votre semaine",
        "text": "Bonjour\nمرحبا",
        "html": "<p dir='auto'>Bonjour</p>",
        "headers": {"List-Unsubscribe": "<https://x.test/unsubscribe/1.digest.abc>"},
        "message_id": "<digest.1@campaign.test>",
        **changes,
    }
    return Mail(**fields)  # type: ignore[arg-type]


async def test_plain_smtp_delivers_a_text_and_html_message() -> None:
    with smtp_server() as server:
        message_id = await send_one(smtp_settings(server.port), None, mail())
    assert message_id == "<digest.1@campaign.test>"
    [received] = server.received
    assert received.mail_from == "noreply@campaign.test"
    assert received.rcpt_tos == ["shop@example.test"]
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == FROM
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] == "<https://x.test/unsubscribe/1.digest.abc>"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "مرحبا" in text.get_content()
    assert "<p dir='auto'>Bonjour</p>" in html.get_content()


async def test_starttls_with_auth_over_a_trusted_certificate(tmp_path: Path) -> None:
    with smtp_server(tls="starttls", tmp_path=tmp_path, auth=("mailer", PASSWORD)) as server:
        settings = smtp_settings(server.port, "starttls", username="mailer", ca_file=str(server.ca_file))
        async with MailSession(settings, Secret(PASSWORD)) as session:
            await session.send(mail("one@example.test"))
            await session.send(mail("two@example.test", message_id=None))
    assert [r.rcpt_tos for r in server.received] == [["one@example.test"], ["two@example.test"]]
    assert {r.login for r in server.received} == {"mailer"}
    assert server.received[1].message["Message-ID"].endswith("@campaign.test>")


async def test_wrong_password_names_the_variable_and_never_shows_the_password(tmp_path: Path) -> None:
    with smtp_server(tls="starttls", tmp_path=tmp_path, auth=("mailer", PASSWORD)) as server:
        settings = smtp_settings(server.port, "starttls", username="mailer", ca_file=str(server.ca_file))
        with pytest.raises(MailAuthFailed) as caught:
            await send_one(settings, Secret("wrong-password-123"), mail())
    # It did try (PLAIN, then LOGIN): the refusal is the server's.
    assert set(server.logins) == {("mailer", "wrong-password-123")}
    assert "LISTENER_SMTP_PASSWORD" in str(caught.value)
    assert "wrong-password-123" not in str(caught.value)
    assert not server.received


async def test_implicit_tls(tmp_path: Path) -> None:
    with smtp_server(tls="implicit", tmp_path=tmp_path) as server:
        await send_one(smtp_settings(server.port, "implicit", ca_file=str(server.ca_file)), None, mail())
    assert len(server.received) == 1


async def test_an_untrusted_certificate_points_at_ca_file(tmp_path: Path) -> None:
    with smtp_server(tls="starttls", tmp_path=tmp_path) as server, pytest.raises(MailTlsFailed) as caught:
        await send_one(smtp_settings(server.port, "starttls"), None, mail())
    assert "[smtp] ca_file" in str(caught.value)
    assert not server.received


async def test_starttls_against_a_server_without_it_says_which_setting(tmp_path: Path) -> None:
    with smtp_server() as server, pytest.raises(MailTlsFailed) as caught:
        await send_one(smtp_settings(server.port, "starttls"), None, mail())
    assert "[smtp] tls" in str(caught.value)


async def test_nothing_listening_is_a_connect_failure_naming_host_and_port() -> None:
    port = free_port()
    with pytest.raises(MailConnectFailed) as caught:
        await send_one(smtp_settings(port), None, mail())
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "LISTENER_SMTP_HOST" in str(caught.value)
    assert caught.value.retryable


async def test_a_refused_recipient_fails_that_message_only() -> None:
    with smtp_server() as server:
        async with MailSession(smtp_settings(server.port), None) as session:
            with pytest.raises(MailRefused) as caught:
                await session.send(mail("refused@example.test"))
            await session.send(mail("fine@example.test"))
    assert "refused@example.test" in str(caught.value)
    assert [r.rcpt_tos for r in server.received] == [["fine@example.test"]]


def test_not_configured_and_missing_password_are_refused_before_connecting() -> None:
    with pytest.raises(MailNotConfigured, match=r"\[smtp\] host and from_address"):
        MailSession(SmtpSettings(), None)
    with pytest.raises(MailAuthFailed, match="LISTENER_SMTP_PASSWORD"):
        MailSession(smtp_settings(2525, username="mailer"), None)


def test_headers_cannot_be_injected_through_the_subject_or_a_header() -> None:
    message = build_message(
        mail(subject="Hello\r\nBcc: victim@example.test", headers={"X-Test": "a\nBcc: b@example.test"}), FROM
    )
    raw = message.as_string()
    assert "\nBcc:" not in raw
    assert message["Subject"] == "Hello Bcc: victim@example.test"


def test_default_ports_follow_the_tls_mode() -> None:
    assert SmtpSettings(host="h", tls="none").effective_port == 25
    assert SmtpSettings(host="h").effective_port == 587
    assert SmtpSettings(host="h", tls="implicit").effective_port == 465
    assert SmtpSettings(host="h", from_address="a@b.c").configured
    assert not SmtpSettings(host="h").configured
