"""What the curator pages share: rendering with the pending flash message, labels from the catalogue with a
fallback to the raw value, dates as the curator reads them, and the small form readers.

Labels: states, sentiments, platforms, languages, signals, score factors and link methods are codes in the
database; `label("state", "shortlisted")` is their name in the page's language, or the code itself when the
catalogue has no name for it (an unknown language code, a signal added later): shown, never a crash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from storage.repositories.feed import public_url
from web.auth import CurrentUser, current_user, request_locale
from web.flash import clear_flash, pop_flash
from web.i18n import DEFAULT_LOCALE, catalogue, translator
from web.pages import render


def labeller(locale: str) -> Any:
    t = translator(locale)
    known = catalogue(locale).keys() | catalogue(DEFAULT_LOCALE).keys()

    def label(prefix: str, value: object) -> str:
        key = f"{prefix}.{value}"
        return t(key) if key in known else str(value)

    return label


def number_formatter(locale: str) -> Any:
    """Whole numbers as the page's language writes them: 10,000 in English, 10 000 in French."""
    separator = "\u202f" if locale == "fr" else ","

    def number(value: int) -> str:
        return f"{value:,}".replace(",", separator)

    return number


def utc(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as UTC text ("—" when absent)."""
    return "—" if moment is None else moment.astimezone(UTC).strftime(fmt) + " UTC"


def local(moment: datetime | None, tz: ZoneInfo) -> str:
    """A time in a campaign's zone, for a datetime-local input."""
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def curator_page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render a curator page with the flash left by the previous action (shown once) and the helpers."""
    flash = pop_flash(request)
    context.setdefault("error", None)
    locale = request_locale(request)
    response = render(
        request,
        template,
        status=status,
        flash=flash,
        label=labeller(locale),
        number=number_formatter(locale),
        utc=utc,
        public_url=public_url,
        **context,
    )
    clear_flash(request, response)
    return response


def signed_in(request: web.Request) -> CurrentUser:
    user = current_user(request)
    assert user is not None  # guaranteed by @require
    return user


def form_text(form: Any, name: str) -> str | None:
    """A form field as a string (None when absent, empty, or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) and value.strip() else None
