"""The merchant e-mails as pure functions: plain data in, (subject, text, HTML) out; plus the weeks they cover
and the signed unsubscribe tokens they carry.

Pure on purpose: the weekly digest and the spike alert are tested from hand-made data, and the jobs
(jobs/notify.py) only gather that data and send. Post text is untrusted: it is reduced to one line without
control or bidi-override characters for both parts, autoescaped in the HTML part (Jinja2, `.html`
templates) and shown with `dir="auto"` so Arabic reads right to left. Strings come from
jobs/notify_templates/{en,fr}.json (the web catalogue is the web's; jobs never import web).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from storage.repositories.feed import public_url

LOCALES = ("en", "fr")
KINDS = ("digest", "alert")
_TEMPLATES = Path(__file__).resolve().parent / "notify_templates"
# C0/C1 controls and the bidi embeddings/overrides/isolates that could reorder the text around a post.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
TEXT_LIMIT = 280


# --- data ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostLine:
    text: str
    url: str | None
    platform: str
    author: str  # already pseudonymised for a private individual
    sentiment: str
    created_at: datetime
    interactions: int


@dataclass(frozen=True)
class StoryLine:
    text: str
    url: str | None
    public_name: str | None  # as the author allowed it; None: anonymous
    featured_from: datetime
    featured_until: datetime | None


@dataclass(frozen=True)
class MerchantWeek:
    name: str
    mentions: int
    positive: int
    neutral: int
    negative: int
    reach: int  # followers of the authors of the posts mentioning the merchant, summed per post
    interactions: int  # likes + reposts + replies + quotes of those posts
    previous_mentions: int  # the week before, for the trend
    best_posts: Sequence[PostLine] = ()
    featured: Sequence[StoryLine] = ()

    @property
    def net_sentiment(self) -> int | None:
        """(positive - negative) / mentions, as a whole percentage from -100 to +100; None without mentions."""
        if not self.mentions:
            return None
        return round(100 * (self.positive - self.negative) / self.mentions)


@dataclass(frozen=True)
class Digest:
    locale: str
    week: str  # ISO week label, e.g. 2026-W47
    timezone: str
    merchants: Sequence[MerchantWeek]
    portal_url: str
    unsubscribe_url: str


@dataclass(frozen=True)
class Alert:
    locale: str
    merchant_name: str
    negative_count: int
    window_hours: int
    baseline_daily: float
    baseline_days: int
    threshold: int
    detected_at: datetime
    timezone: str
    posts: Sequence[PostLine]
    portal_url: str
    unsubscribe_url: str


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str


# --- weeks --------------------------------------------------------------------------------------------


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(label: str) -> date:
    """The Monday of an ISO week label (`2026-W47`); ValueError names the expected form."""
    match = re.fullmatch(r"(\d{4})-W(\d{2})", label.strip())
    if not match:
        raise ValueError(f"{label!r} is not an ISO week: use the form 2026-W47")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValueError(f"{label!r} is not an ISO week of that year") from None


def week_bounds(label: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of the week in time zone `tz`."""
    monday = parse_week(label)
    return datetime.combine(monday, time(), tz), datetime.combine(monday + timedelta(days=7), time(), tz)


def due_week(now: datetime, tz: ZoneInfo, weekday: int, hour: int) -> str:
    """The last week whose digest is due at `now`: a week's digest is due on ISO `weekday` at `hour` (local)
    of the following week. Before that moment, the week before it is still the latest due."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    due_at = datetime.combine(monday + timedelta(days=weekday - 1), time(hour), tz)
    last_week = monday - timedelta(days=7)
    return week_label(last_week if local >= due_at else last_week - timedelta(days=7))


# --- unsubscribe tokens -------------------------------------------------------------------------------


def _mac(key: bytes, user_id: int, kind: str) -> str:
    digest = hmac.new(key, f"unsubscribe:{user_id}:{kind}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def unsubscribe_token(key: bytes, user_id: int, kind: str) -> str:
    """`<user>.<kind>.<mac>`: names whom and what to stop; only the service's key can make one. No expiry: a
    link in a months-old e-mail must still work."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    return f"{user_id}.{kind}.{_mac(key, user_id, kind)}"


def read_unsubscribe_token(key: bytes, token: str) -> tuple[int, str] | None:
    """(user id, kind) of a genuine token, else None."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12 or parts[1] not in KINDS:
        return None
    user_id, kind = int(parts[0]), parts[1]
    if not hmac.compare_digest(parts[2].encode(), _mac(key, user_id, kind).encode()):
        return None
    return user_id, kind


# --- strings and formats ------------------------------------------------------------------------------


def locale_of(user_locale: str | None, campaign_languages: Sequence[str]) -> str:
    """The user's own setting, else the first campaign language we write e-mails in, else English."""
    if user_locale and user_locale[:2].casefold() in LOCALES:
        return user_locale[:2].casefold()
    return next((lang for lang in campaign_languages if lang in LOCALES), "en")


@cache
def strings(locale: str) -> Mapping[str, str]:
    data = json.loads((_TEMPLATES / f"{locale}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


class Translate:
    """`t("key", n=3)` in the chosen language (English when a key is missing), and the locale's formats."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else "en"
        self._strings = strings(self.locale)
        self._fallback = strings("en")

    def __call__(self, key: str, /, **params: object) -> str:
        text = self._strings.get(key) or self._fallback.get(key) or key
        return text.format_map(params) if params else text

    def plural(self, key: str, n: int, /, **params: object) -> str:
        """`key.one` or `key.other` for the count `n` (French counts 0 and 1 as singular, English 1 only)."""
        one = n in (0, 1) if self.locale == "fr" else n == 1
        return self(f"{key}.{'one' if one else 'other'}", **params)

    def number(self, value: int | float, decimals: int = 0) -> str:
        shown = f"{value:,.{decimals}f}"
        if self.locale == "fr":  # 12 345,5 with narrow no-break spaces
            shown = shown.replace(",", "\u202f").replace(".", ",")
        return shown

    def signed(self, value: int | None) -> str:
        if value is None:
            return "—"
        return f"{value:+d}" if value else "0"

    def day(self, value: date) -> str:
        return self("format.day", day=value.day, month=self(f"month.{value.month}"), year=value.year)

    def moment(self, value: datetime, tz: ZoneInfo) -> str:
        local = value.astimezone(tz)
        return self("format.moment", day=self.day(local.date()), time=f"{local:%H:%M}")


def clean(text: str, limit: int = TEXT_LIMIT) -> str:
    """Untrusted text made safe to quote in one line: controls and bidi overrides dropped, whitespace
    collapsed, cut at `limit` characters."""
    text = " ".join(_UNSAFE.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- composition --------------------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def _post(line: PostLine, t: Translate, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "text": clean(line.text),
        "url": public_url(line.url),
        "platform": t(f"platform.{line.platform}") if f"platform.{line.platform}" in strings("en") else line.platform,
        "author": clean(line.author, 100),
        "sentiment": t(f"sentiment.{line.sentiment}"),
        "date": t.day(line.created_at.astimezone(tz).date()),
        "interactions": t.number(line.interactions),
    }


def _story(line: StoryLine, t: Translate, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "text": clean(line.text),
        "url": public_url(line.url),
        "by": clean(line.public_name, 100) if line.public_name else t("digest.anonymous"),
        "since": t.day(line.featured_from.astimezone(tz).date()),
    }


def _merchant(week: MerchantWeek, t: Translate, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "name": clean(week.name, 200),
        "mentions": t.number(week.mentions),
        "none": week.mentions == 0,
        "previous": t.number(week.previous_mentions),
        "positive": t.number(week.positive),
        "neutral": t.number(week.neutral),
        "negative": t.number(week.negative),
        "net": t.signed(week.net_sentiment),
        "reach": t.number(week.reach),
        "interactions": t.number(week.interactions),
        "best_posts": [_post(p, t, tz) for p in week.best_posts],
        "featured": [_story(s, t, tz) for s in week.featured],
    }


def compose_digest(digest: Digest) -> Composed:
    t = Translate(digest.locale)
    tz = ZoneInfo(digest.timezone)
    monday = parse_week(digest.week)
    period = t("digest.period", start=t.day(monday), end=t.day(monday + timedelta(days=6)))
    merchants = [_merchant(m, t, tz) for m in digest.merchants]
    total = sum(m.mentions for m in digest.merchants)
    name = merchants[0]["name"] if len(merchants) == 1 else t("digest.your_shops", n=len(merchants))
    subject = t.plural("digest.subject", total, name=name, mentions=t.number(total), week=digest.week)
    context = {
        "t": t,
        "locale": t.locale,
        "subject": subject,
        "period": period,
        "merchants": merchants,
        "portal_url": digest.portal_url,
        "unsubscribe_url": digest.unsubscribe_url,
    }
    return Composed(subject, _render("digest.txt", **context), _render("digest.html", **context))


def compose_alert(alert: Alert) -> Composed:
    t = Translate(alert.locale)
    tz = ZoneInfo(alert.timezone)
    name = clean(alert.merchant_name, 200)
    subject = t.plural(
        "alert.subject", alert.negative_count, name=name, count=t.number(alert.negative_count), hours=alert.window_hours
    )
    context = {
        "t": t,
        "locale": t.locale,
        "subject": subject,
        "name": name,
        "count": t.number(alert.negative_count),
        "count_raw": alert.negative_count,
        "hours": alert.window_hours,
        "average": t.number(alert.baseline_daily, 1),
        "days": alert.baseline_days,
        "threshold": t.number(alert.threshold),
        "when": t.moment(alert.detected_at, tz),
        "posts": [_post(p, t, tz) for p in alert.posts],
        "portal_url": alert.portal_url,
        "unsubscribe_url": alert.unsubscribe_url,
    }
    return Composed(subject, _render("alert.txt", **context), _render("alert.html", **context))
