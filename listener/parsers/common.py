"""Helpers shared by the platform parsers: timestamps, integers and HTML-to-text, all defensive."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from listener.errors import BadPayload

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What no database column can hold: U+0000 (PostgreSQL text and JSONB) and lone surrogates (not UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Plain text fit to store: control characters out, lone surrogates replaced, line ends unified."""
    text = text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def may_need_cleaning(body: bytes) -> bool:
    """Whether a raw JSON body can hold what `clean_payload` removes (NUL, surrogate escapes).

    A byte scan, far cheaper than walking the decoded payload: most pages are clean and skip the walk.
    """
    return b"\x00" in body or _UNSTORABLE_ESCAPE.search(body) is not None


def clean_payload(value: Any) -> Any:
    """A JSON payload fit to store as the platform sent it, minus what no database accepts: lone surrogates
    (`"\\ud83d"` alone is valid JSON) become U+FFFD and NUL characters are dropped, in keys and values.

    Parsers read the cleaned copy, so the text, handles, links and the raw payload of a post can all be
    stored; one such character must not make a whole page fail to store.
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub(_replacement, value) if _UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        return {clean_payload(k): clean_payload(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_payload(v) for v in value]
    return value


def _replacement(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else "\ufffd"


def parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise BadPayload(f"{what}: missing timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadPayload(f"{what}: unreadable timestamp {value[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def require(mapping: Any, key: str, what: str) -> Any:
    if not isinstance(mapping, dict):
        raise BadPayload(f"{what}: expected an object, got {type(mapping).__name__}")
    value = mapping.get(key)
    if value is None or value == "":
        raise BadPayload(f"{what}: missing '{key}'")
    return value


class _TextExtractor(HTMLParser):
    """Mastodon/RSS HTML to plain text: paragraphs and <br> become line breaks, links keep their text."""

    _BLOCKS = frozenset({"p", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr"})
    _SKIP = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in self._BLOCKS and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n\n" if tag == "p" else "\n")
        if tag == "a":
            found = dict(attrs)
            href = found.get("href")
            classes = (found.get("class") or "").split()
            # Mentions and hashtags are links in Mastodon's HTML; they are not the post's links.
            if href and "mention" not in classes and "hashtag" not in classes:
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> tuple[str, list[str]]:
    """(plain text, link targets) of an HTML fragment; script and style content is dropped."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return clean_text(text.strip()), parser.links


def unescape(text: str) -> str:
    """X API v2 text arrives with &amp; &lt; &gt; escaped; stored text is plain (escaped at display)."""
    return clean_text(html.unescape(text))
