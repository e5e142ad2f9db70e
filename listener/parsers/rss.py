"""RSS 2.0 and Atom feeds (news sites, blogs) to `Post` records; the XML is parsed with defusedxml so a
hostile feed (entity expansion, external entities) cannot exhaust memory or read local files.

The feed is the author; each entry's guid (or id, or link) is its platform id, scoped by the feed URL so
two feeds cannot collide. Entry HTML becomes plain text; the entry link is kept in `urls`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element, tostring  # serialising parsed elements is safe

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from listener.errors import BadPayload
from listener.parsers.common import clean_text, html_to_text, parse_time
from listener.parsers.x import ParsedPage, Rejected
from listener.post import Author, Platform, Post

ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


def _text(element: Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _time(value: str, what: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return parse_time(value, what)  # Atom and some RSS use ISO 8601
    # RFC 5322's "-0000" (UTC, local zone unknown) parses without a zone, as does a date missing its zone:
    # both are read as UTC, as feed readers do, rather than losing the entry.
    return parse_time(parsed.isoformat(), what)


def _entry_id(feed_url: str, local: str) -> str:
    # Platform ids are bounded in size; a long guid is hashed, scoped by the feed.
    digest = hashlib.sha256(f"{feed_url}\n{local}".encode()).hexdigest()[:32]
    return f"{feed_url[:120]}#{digest}"


def _post(feed_url: str, feed_title: str, item: Element, atom: bool, seen_at: datetime, query: str | None) -> Post:
    if atom:
        link_el = next(
            (link for link in item.findall(f"{ATOM}link") if link.get("rel", "alternate") == "alternate"), None
        )
        link = link_el.get("href") if link_el is not None else None
        local = _text(item.find(f"{ATOM}id")) or link or ""
        title = _text(item.find(f"{ATOM}title"))
        body = _text(item.find(f"{ATOM}content")) or _text(item.find(f"{ATOM}summary"))
        stamp = _text(item.find(f"{ATOM}published")) or _text(item.find(f"{ATOM}updated"))
        author_name = _text(item.find(f"{ATOM}author/{ATOM}name"))
    else:
        link = _text(item.find("link")) or None
        local = _text(item.find("guid")) or link or ""
        title = _text(item.find("title"))
        body = _text(item.find(_CONTENT)) or _text(item.find("description"))
        stamp = _text(item.find("pubDate"))
        author_name = _text(item.find("author")) or _text(item.find("{http://purl.org/dc/elements/1.1/}creator"))
    if not local:
        raise BadPayload(f"feed {feed_url}: an entry has no guid, id or link")
    what = f"feed entry {local[:80]}"
    plain, links = html_to_text(body)
    text = "\n\n".join(part for part in (clean_text(html_to_text(title)[0]), plain) if part)
    created = _time(stamp, what) if stamp else seen_at
    return Post(
        platform=Platform.RSS,
        platform_id=_entry_id(feed_url, local),
        url=link,
        author=Author(platform_id=feed_url, handle=feed_title[:200], display_name=author_name or feed_title),
        text=text,
        created_at=created,
        urls=tuple(dict.fromkeys([u for u in [link, *links] if u])),
        query=query,
        raw={"feed": feed_url, "id": local, "title": title, "link": link, "published": stamp, "summary": body[:20000]},
    )


def parse_feed(body: bytes, feed_url: str, seen_at: datetime, query: str | None = None) -> ParsedPage:
    try:
        root: Any = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise BadPayload(
            f"feed {feed_url}: not a readable RSS or Atom document ({type(exc).__name__}: {exc})"
        ) from None
    atom = root.tag == f"{ATOM}feed"
    if atom:
        feed_title = _text(root.find(f"{ATOM}title"))
        items = root.findall(f"{ATOM}entry")
    elif root.tag == "rss" or root.find("channel") is not None:
        channel = root.find("channel")
        feed_title = _text(channel.find("title")) if channel is not None else ""
        items = channel.findall("item") if channel is not None else []
    else:
        raise BadPayload(f"feed {feed_url}: the document is <{root.tag}>, neither RSS nor Atom")
    posts: list[Post] = []
    rejected: list[Rejected] = []
    for item in items:
        try:
            posts.append(_post(feed_url, feed_title or feed_url, item, atom, seen_at, query))
        except BadPayload as exc:
            rejected.append(Rejected(item=tostring(item, encoding="unicode"), error=str(exc)))
    return ParsedPage(posts=posts, rejected=rejected, next_token=None, newest_id=None)
