"""Sending e-mail over SMTP (aiosmtplib): building the MIME message and translating the library's errors.

One `MailSession` is one SMTP connection (TLS as `[smtp] tls` says, AUTH when `[smtp] username` is set, with
LISTENER_SMTP_PASSWORD) over which a job sends its batch. aiosmtplib and ssl exceptions never leave this
module: they become our `MailError` family, whose messages name the setting to fix and never carry the
password. `retryable` tells a job whether the same message may succeed later (a server down, a timeout)
or needs someone to change something first (refused credentials, a refused recipient); jobs retry both
kinds on their next run anyway, bounded by `[notifications] give_up_hours`.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from types import TracebackType

import aiosmtplib

from service.settings import Secret, SmtpSettings

log = logging.getLogger(__name__)


class MailError(Exception):
    """A message could not be sent; the message names the setting or the cause to fix."""

    retryable = True


class MailNotConfigured(MailError):
    retryable = False


class MailConnectFailed(MailError):
    """The server could not be reached, timed out or closed the connection: the whole batch waits."""


class MailTlsFailed(MailError):
    retryable = False


class MailAuthFailed(MailError):
    retryable = False


class MailRefused(MailError):
    """The server refused this one message (sender, recipient or content); the batch goes on."""

    retryable = False


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    message_id: str | None = None  # a stable id makes a re-sent message recognisable as the same one


def _one_line(value: str) -> str:
    # A header value with a line break would start a new header (header injection).
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def sender_domain(from_address: str) -> str:
    address = parseaddr(from_address)[1]
    return address.rpartition("@")[2] or "localhost"


def build_message(mail: Mail, from_address: str) -> EmailMessage:
    """The MIME message: plain text first, the HTML alternative last (clients show the last they can)."""
    message = EmailMessage()
    message["From"] = _one_line(from_address)
    message["To"] = _one_line(mail.to)
    message["Subject"] = _one_line(mail.subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = mail.message_id or make_msgid(domain=sender_domain(from_address))
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to us
    for name, value in mail.headers.items():
        message[_one_line(name)] = _one_line(value)
    message.set_content(mail.text, charset="utf-8")
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html", charset="utf-8")
    return message


def _where(smtp: SmtpSettings) -> str:
    return f"{smtp.host}:{smtp.effective_port}"


def _tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if smtp.ca_file is not None:
        context.load_verify_locations(cafile=str(smtp.ca_file))
    return context


def translate(exc: BaseException, smtp: SmtpSettings) -> MailError:
    """Our error for an aiosmtplib/ssl/OS exception, naming what to check."""
    where = _where(smtp)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return MailAuthFailed(
            f"the SMTP server {where} refused the login of {smtp.username!r} ({exc.code} {exc.message}): check "
            "[smtp] username (LISTENER_SMTP_USERNAME) and the LISTENER_SMTP_PASSWORD variable"
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{r.recipient} ({r.code} {r.message})" for r in exc.recipients)
        return MailRefused(f"the SMTP server {where} refused the recipient {refused}: check the user's e-mail address")
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return MailRefused(
            f"the SMTP server {where} refused the recipient {exc.recipient} ({exc.code} {exc.message}): check the "
            "user's e-mail address"
        )
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return MailRefused(
            f"the SMTP server {where} refused the sender {exc.sender} ({exc.code} {exc.message}): check [smtp] "
            "from_address (LISTENER_SMTP_FROM_ADDRESS); relays usually accept only their own domains"
        )
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return MailRefused(f"the SMTP server {where} refused the message ({exc.code} {exc.message})")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return MailTlsFailed(
            f"TLS with the SMTP server {where} failed ({exc}): check [smtp] tls (none, starttls or implicit) and "
            "port, and [smtp] ca_file when the server's certificate comes from a private CA"
        )
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return MailConnectFailed(
            f"the SMTP server {where} did not answer within {smtp.timeout:g}s: check [smtp] host, port and tls "
            "(implicit TLS on a plain port waits forever), or raise [smtp] timeout"
        )
    if isinstance(exc, aiosmtplib.SMTPException) and "SMTPUTF8" in str(exc):
        return MailRefused(
            f"the SMTP server {where} does not accept non-ASCII e-mail addresses (no SMTPUTF8): use an ASCII "
            "address for this user"
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or (
        isinstance(exc, aiosmtplib.SMTPException) and "not supported" in str(exc)
    ):
        return MailTlsFailed(
            f"the SMTP server {where} does not support what [smtp] asks ({exc}): for STARTTLS set [smtp] tls to "
            "implicit or none; for AUTH leave [smtp] username empty or use TLS"
        )
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return MailConnectFailed(
            f"the SMTP server {where} closed the connection ({exc}): check [smtp] tls (implicit TLS on port 465, "
            "starttls on 587) and that the server is up"
        )
    if isinstance(exc, aiosmtplib.SMTPConnectError | OSError):
        return MailConnectFailed(
            f"cannot connect to the SMTP server {where} ({exc}): check [smtp] host and port "
            "(LISTENER_SMTP_HOST, LISTENER_SMTP_PORT) and that the server is up"
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return MailError(f"the SMTP server {where} answered {exc.code} {exc.message}")
    return MailError(f"sending through the SMTP server {where} failed: {type(exc).__name__}: {exc}")


class MailSession:
    """One SMTP connection: `async with MailSession(smtp, password) as mailer: await mailer.send(mail)`."""

    def __init__(self, smtp: SmtpSettings, password: Secret | None) -> None:
        if not smtp.configured or smtp.host is None or smtp.from_address is None:
            raise MailNotConfigured(
                "SMTP is not configured: set [smtp] host and from_address (LISTENER_SMTP_HOST, "
                "LISTENER_SMTP_FROM_ADDRESS)"
            )
        if smtp.username and password is None:
            raise MailAuthFailed("[smtp] username is set but LISTENER_SMTP_PASSWORD is not: set the variable")
        self._smtp = smtp
        self._from = smtp.from_address
        self._envelope_from = parseaddr(smtp.from_address)[1] or smtp.from_address
        self._client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.effective_port,
            username=smtp.username or None,
            password=password.reveal() if smtp.username and password is not None else None,
            use_tls=smtp.tls == "implicit",
            start_tls=smtp.tls == "starttls",
            tls_context=_tls_context(smtp) if smtp.tls != "none" else None,
            timeout=smtp.timeout,
        )

    async def __aenter__(self) -> MailSession:
        try:
            await self._client.connect()
        except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise translate(exc, self._smtp) from None
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client.is_connected:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, ssl.SSLError, OSError):
                self._client.close()  # the messages are sent or recorded as failed already

    @property
    def connected(self) -> bool:
        return self._client.is_connected

    async def send(self, mail: Mail) -> str:
        """Send one message; returns its Message-ID. Raises a MailError (MailConnectFailed: the connection is
        gone, the rest of the batch cannot go either)."""
        message = build_message(mail, self._from)
        try:
            errors, _ = await self._client.send_message(message, sender=self._envelope_from, recipients=[mail.to])
        except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise translate(exc, self._smtp) from None
        if errors:  # some recipients refused while others were accepted: we send to one, so it is that one
            raise MailRefused(f"the SMTP server {_where(self._smtp)} refused {', '.join(errors)}")
        return str(message["Message-ID"])


async def send_one(smtp: SmtpSettings, password: Secret | None, mail: Mail) -> str:
    """Connect, send `mail`, disconnect (for `listener notify test-email`)."""
    async with MailSession(smtp, password) as session:
        return await session.send(mail)
