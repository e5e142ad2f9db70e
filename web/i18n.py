"""The interface in French and English: JSON catalogues per language and the choice of language for a
request.

A language's strings are `web/locales/<lang>.json` (the shared interface) merged with one file per feature
area, `web/locales/<area>/<lang>.json` (portal, reports, ...), so features add strings without merge pain.
Keys are short dotted names (`login.title`); every file is sorted, each area holds the same keys in every
language, and no key is defined twice (tests/web/test_auth.py checks all three). A key missing from
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


def catalogue_files(locale: str) -> list[Path]:
    """The files whose strings make up `locale`: the shared one first, then each area's, by name."""
    return [_LOCALE_DIR / f"{locale}.json", *sorted(_LOCALE_DIR.glob(f"*/{locale}.json"))]


@cache
def catalogue(locale: str) -> Mapping[str, str]:
    merged: dict[str, str] = {}
    for path in catalogue_files(locale):
        data = json.loads(path.read_text(encoding="utf-8"))
        name = path.relative_to(_LOCALE_DIR.parent)
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"web/{name} must be one object of strings")
        twice = merged.keys() & data.keys()
        if twice:
            raise ValueError(f"web/{name} defines keys already defined elsewhere: {sorted(twice)}")
        merged.update(data)
    return merged


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
