"""E-mailing a weekly report to a campaign's `report_recipients`: a short text and HTML summary, the files of
`[reports] attachments` attached (`report-NAME-YYYY-Www.pdf` ...), one message per recipient (partners of
different organisations do not see each other's addresses), over the `[smtp]` settings of jobs.mailer.

jobs.mailer's `Mail` carries no attachments, so the message is built here (on `mailer.build_message`) and
sent over the same kind of connection, with the same error translation (`mailer.translate`): a failure is a
`MailError` whose message names the setting to fix and never the password.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from jobs.mailer import Mail, MailNotConfigured, MailRefused, build_message, sender_domain, translate
from jobs.reporting import CONTENT_TYPES, file_name, render
from jobs.reporting.html import Formatter
from jobs.reporting.pdf import PdfUnavailable
from jobs.services import Services
from service.settings import SmtpSettings

log = logging.getLogger(__name__)


def summary(data: Mapping[str, Any], locale: str) -> tuple[str, str]:
    """(subject, plain text) of the message: the headline figures that matter most, and the coverage note."""
    fmt = Formatter(locale)
    t = fmt.t
    campaign, week = data["campaign"]["name"], data["week"]
    lines = [t("mail.intro", campaign=campaign, week=week), ""]
    headline = data["headline"]
    for key in ("posts", "unique_authors", "potential_reach", "engagements", "net_sentiment"):
        lines.append(f"{t('h.' + key)}: {fmt.figure(key, headline[key])}")
    if data["coverage"]["partial"]:
        lines += ["", t("mail.partial")]
    return t("mail.subject", campaign=campaign, week=week), "\n".join(lines) + "\n"


def attachments(data: dict[str, Any], formats: Sequence[str], locale: str) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(file name, content) for each format that could be made, and the problems of the others."""
    files, problems = [], []
    slug, week = data["campaign"]["slug"], data["week"]
    for fmt in formats:
        try:
            files.append((file_name(slug, week, fmt), render(data, fmt, locale)))
        except PdfUnavailable as exc:
            problems.append(str(exc))
    return files, problems


def build(data: dict[str, Any], to: str, from_address: str, formats: Sequence[str], locale: str) -> EmailMessage:
    subject, text = summary(data, locale)
    files, problems = attachments(data, formats, locale)
    if problems:
        text += "\n" + "\n".join(problems) + "\n"
    digest = hashlib.sha256(f"{data['campaign']['slug']}:{data['week']}:{data['generated_at']}:{to}".encode())
    message_id = f"<report.{digest.hexdigest()[:24]}@{sender_domain(from_address)}>"
    message = build_message(Mail(to=to, subject=subject, text=text, message_id=message_id), from_address)
    for name, content in files:
        maintype, subtype = CONTENT_TYPES[name.rsplit(".", 1)[1]].split(";")[0].split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


def _client(smtp: SmtpSettings, password: str | None) -> aiosmtplib.SMTP:
    context = None
    if smtp.tls != "none":
        context = ssl.create_default_context()
        if smtp.ca_file is not None:
            context.load_verify_locations(cafile=str(smtp.ca_file))
    return aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.effective_port,
        username=smtp.username or None,
        password=password if smtp.username else None,
        use_tls=smtp.tls == "implicit",
        start_tls=smtp.tls == "starttls",
        tls_context=context,
        timeout=smtp.timeout,
    )


async def send_report(services: Services, slug: str, data: dict[str, Any], recipients: Sequence[str]) -> int:
    """Send the report to each recipient; returns how many messages went out. Raises MailNotConfigured when
    there are recipients but no [smtp], and a MailError when the server fails (the report stays stored:
    `listener report --email` sends it again)."""
    if not recipients:
        return 0
    settings = services.settings
    smtp = settings.smtp
    if not smtp.configured or smtp.from_address is None:
        raise MailNotConfigured(
            f"campaign {slug} has report_recipients but SMTP is not configured: set [smtp] host and from_address "
            "(LISTENER_SMTP_HOST, LISTENER_SMTP_FROM_ADDRESS)"
        )
    secret = settings.secrets.get("smtp_password")
    if smtp.username and secret is None:
        raise MailNotConfigured("[smtp] username is set but LISTENER_SMTP_PASSWORD is not: set the variable")
    locale = settings.reports.language
    formats = settings.reports.attachments
    envelope_from = smtp.from_address
    client = _client(smtp, secret.reveal() if secret is not None else None)
    sent = 0
    try:
        await client.connect()
        for to in recipients:
            message = build(data, to, smtp.from_address, formats, locale)
            errors, _ = await client.send_message(message, recipients=[to])
            if errors:
                raise MailRefused(f"the SMTP server {smtp.host} refused {', '.join(errors)}")
            sent += 1
    except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise translate(exc, smtp) from None
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, ssl.SSLError, OSError):
                client.close()
    log.info("report %s %s e-mailed to %d recipient(s) from %s", slug, data["week"], sent, envelope_from)
    return sent
