"""The report as HTML: the body (also embedded in the web app's report page) and the standalone document that
the HTML file, the PDF and the e-mail use. Jinja2 with autoescaping: post text, names and handles are
untrusted and only ever reach the page escaped; user-written text carries `dir="auto"` so Arabic reads right
to left. Numbers are written as the report's language writes them (12,345 / 12 345).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from jobs.reporting import charts
from jobs.reporting.definitions import DEFINITIONS_VERSION, definitions
from jobs.reporting.metrics import HEADLINE, RATIOS

LOCALES = ("en", "fr")
# Figures shown as a share (0.123 -> 12.3 %) and figures shown with two decimals.
_PERCENT = frozenset({"impressions_share", "engagement_rate"})
_DECIMAL = frozenset({"engagement_per_post", "net_sentiment"})
# Figures whose absence means "not known" (said in words), rather than "nothing to show" (a dash).
_UNKNOWN_WORD = frozenset({"potential_reach", "summed_potential_impressions", "impressions", "engagements"})


@cache
def _strings() -> dict[str, dict[str, str]]:
    text = resources.files("jobs.reporting").joinpath("templates/strings.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)
    return data


def translator(locale: str) -> Callable[..., str]:
    strings = _strings()
    chosen = strings.get(locale, strings["en"])

    def t(key: str, /, **params: object) -> str:
        text = chosen.get(key, strings["en"].get(key, key))
        return text.format(**params) if params else text

    return t


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("jobs.reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def stylesheet() -> str:
    return resources.files("jobs.reporting").joinpath("templates/report.css").read_text(encoding="utf-8")


class Formatter:
    """Numbers, shares and changes as the report's language writes them."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.t = translator(locale)
        self._sep = "\u202f" if locale == "fr" else ","
        self._dec = "," if locale == "fr" else "."

    def integer(self, value: float) -> str:
        return f"{round(value):,}".replace(",", self._sep)

    def decimal(self, value: float, places: int = 2) -> str:
        text = f"{value:,.{places}f}"
        return text.replace(",", "\0").replace(".", self._dec).replace("\0", self._sep)

    def share(self, value: float) -> str:
        return self.decimal(value * 100, 1) + "\u202f%"

    def figure(self, key: str, value: Any) -> str:
        if value is None:
            return self.t("unknown") if key in _UNKNOWN_WORD else self.t("none")
        if key in _PERCENT:
            return self.share(value)
        if key in _DECIMAL:
            return self.decimal(value)
        return self.integer(value)

    def signed(self, key: str, value: Any) -> str:
        if value is None:
            return self.t("none")
        sign = "+" if value > 0 else ("−" if value < 0 else "±")
        if key in _PERCENT:
            return sign + self.decimal(abs(value) * 100, 1) + " pts"
        if key in _DECIMAL:
            return sign + self.decimal(abs(value))
        return sign + self.integer(abs(value))

    def percent_change(self, value: float | None) -> str:
        if value is None:
            return self.t("none")
        sign = "+" if value > 0 else ("−" if value < 0 else "±")
        return sign + self.decimal(abs(value) * 100, 1) + "\u202f%"

    def day(self, iso: str) -> str:
        day = date.fromisoformat(iso)
        return f"{self.t(f'weekday.{day.weekday()}')} {day.day}"

    def moment(self, iso: str | None) -> str:
        if iso is None:
            return self.t("none")
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")


def _charts(data: Mapping[str, Any], fmt: Formatter) -> dict[str, Markup]:
    t = fmt.t
    days = data["days"]
    labels = [fmt.day(d["date"]) for d in days]
    sentiment = [
        (t("s.positive"), charts.POSITIVE, [d["positive"] for d in days]),
        (t("s.neutral"), charts.NEUTRAL, [d["neutral"] for d in days]),
        (t("s.negative"), charts.NEGATIVE, [d["negative"] for d in days]),
    ]
    languages = data["languages"]
    return {
        "reach": charts.column_chart(labels, [d["potential_reach"] for d in days], t("chart.reach"), fmt.integer),
        "posts": charts.column_chart(labels, [d["posts"] for d in days], t("chart.posts"), fmt.integer),
        "sentiment": charts.stacked_chart(labels, sentiment, t("chart.sentiment"), fmt.integer),
        "platforms": charts.bar_list(
            [p["platform"] for p in data["platforms"]],
            [p["posts"] for p in data["platforms"]],
            t("chart.platforms"),
            fmt.integer,
        ),
        "languages": charts.bar_list(
            [lang["language"] or t("l.") for lang in languages],
            [lang["posts"] for lang in languages],
            t("chart.languages"),
            fmt.integer,
        ),
    }


def context(data: Mapping[str, Any], locale: str) -> dict[str, Any]:
    fmt = Formatter(locale if locale in LOCALES else "en")
    most = data["merchants"]["most_mentioned"]
    return {
        "r": data,
        "t": fmt.t,
        "f": fmt,
        "locale": fmt.locale,
        "headline_keys": HEADLINE,
        "ratios": RATIOS,
        "charts": _charts(data, fmt),
        "merchant_peak": max((m["posts"] for m in most), default=0),
        "inline_bar": charts.inline_bar,
        "definitions": definitions(fmt.locale),
        "current_version": DEFINITIONS_VERSION,
    }


def render_body(data: Mapping[str, Any], locale: str) -> Markup:
    """The report's sections, for embedding (the web page) or for the standalone document."""
    html = environment().get_template("report_body.html").render(context(data, locale))
    return Markup(html)  # noqa: S704 - rendered by an autoescaping environment


def render_html(data: Mapping[str, Any], locale: str) -> str:
    """A standalone document (styles inlined): the HTML file, the PDF's source and the e-mail's body."""
    return (
        environment()
        .get_template("report.html")
        .render(
            **context(data, locale),
            body=render_body(data, locale),
            css=Markup(stylesheet()),  # noqa: S704 - ours
        )
    )
