"""The interface in French and English: one JSON catalogue per language (web/locales/<lang>.json) and the
choice of language for a request.

Keys are short dotted names (`login.title`); each catalogue is sorted and holds the same keys
(tests/web/test_auth.py checks both), so features can add strings without merge pain. A key missing from
French falls back to English, and one missing everywhere shows the key itself: visible, never a crash.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

LOCALES = ("en", "fr")
DEFAULT_LOCALE = "en"
RTL_LOCALES: frozenset[str] = frozenset({"ar"})  # none shipped yet; the layout already honours `dir`
_LOCALE_DIR = Path(__file__).resolve().parent / "locales"


class Translator(Protocol):
    """`t("key")`, or `t("key", minutes=3)` for a string with `{minutes}` in it."""

    def __call__(self, key: str, /, **params: object) -> str: ...


@cache
def catalogue(locale: str) -> Mapping[str, str]:
    data = json.loads((_LOCALE_DIR / f"{locale}.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"web/locales/{locale}.json must be one object of strings")
    return data


def supported(locale: str | None) -> str | None:
    """The supported locale a tag names ("fr-CA" → "fr"), or None."""
    if not locale:
        return None
    base = locale.strip().replace("_", "-").split("-", 1)[0].casefold()
    return base if base in LOCALES else None


def text_direction(locale: str) -> str:
    return "rtl" if locale in RTL_LOCALES else "ltr"


def translator(locale: str | None) -> Translator:
    chosen = supported(locale) or DEFAULT_LOCALE
    primary = catalogue(chosen)
    fallback = catalogue(DEFAULT_LOCALE)

    def translate(key: str, /, **params: object) -> str:
        text = primary.get(key)
        if text is None:
            text = fallback.get(key)
            if text is None:
                log.warning("no translation for %r", key)
                return key
        if params:
            try:
                return text.format_map(params)
            except (KeyError, IndexError, ValueError):
                log.warning("translation %r does not fit the parameters %s", key, sorted(params))
                return text
        return text

    return translate


def from_accept_language(header: str | None) -> str | None:
    """The best supported language of an Accept-Language header (by q-value, then order), or None."""
    if not header:
        return None
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        locale = supported(tag)
        if locale is None or not 0.0 < quality <= 1.0:
            continue
        candidate = (-quality, position, locale)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else None


def choose_locale(user_locale: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The user's own setting, then the language switcher's cookie, then the browser's wish, then English."""
    return supported(user_locale) or supported(cookie) or from_accept_language(accept_language) or DEFAULT_LOCALE
