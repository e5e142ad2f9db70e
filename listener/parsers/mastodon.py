"""Mastodon REST API statuses (hashtag timelines, status lookups) to `Post` records.

A status's `uri` is its global identity: the same status fetched from two instances has two local ids
but one URI, so the URI is the platform id and it is stored once. A boost is stored as a repost by the
booster (for reach) and the boosted original is stored too (it holds the story). Content is HTML: it is
turned into plain text here, links kept, hashtag and mention links not counted as links.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from listener.errors import BadPayload
from listener.parsers.common import as_int, clean_payload, clean_text, html_to_text, parse_time, require
from listener.parsers.x import ParsedPage, Rejected
from listener.post import Author, Media, Metrics, Platform, Post


def _author(account: Any) -> Author:
    if not isinstance(account, dict):
        raise BadPayload("status: missing 'account'")
    uri = str(account.get("uri") or account.get("url") or "")
    if not uri:
        raise BadPayload("status account: missing 'uri' and 'url'")
    acct = str(account.get("acct") or account.get("username") or "")
    if acct and "@" not in acct:
        # Local accounts have no domain in `acct`; the account URL gives it.
        host = urlsplit(str(account.get("url") or uri)).hostname
        acct = f"{acct}@{host}" if host else acct
    return Author(
        platform_id=uri,
        handle=acct,
        display_name=clean_text(str(account.get("display_name") or "")),
        followers=as_int(account.get("followers_count")),
        url=account.get("url"),
    )


def parse_status(status: Mapping[str, Any], query: str | None = None, instance: str | None = None) -> Post:
    """One Status entity (not a boost wrapper) to a Post."""
    status = clean_payload(status)
    uri = str(require(status, "uri", "status"))
    what = f"status {uri}"
    content = status.get("content")
    if not isinstance(content, str):
        raise BadPayload(f"{what}: 'content' is not text")
    text, links = html_to_text(content)
    spoiler = status.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{clean_text(spoiler.strip())}\n\n{text}"
    card = status.get("card")
    if isinstance(card, dict) and card.get("url") and card["url"] not in links:
        links.append(str(card["url"]))
    tags = tuple(str(t["name"]) for t in status.get("tags") or [] if isinstance(t, dict) and t.get("name"))
    mentions = tuple(str(m["acct"]) for m in status.get("mentions") or [] if isinstance(m, dict) and m.get("acct"))
    media = tuple(
        Media(
            kind=str(m.get("type") or "unknown"), url=m.get("url") or m.get("remote_url"), alt_text=m.get("description")
        )
        for m in status.get("media_attachments") or []
        if isinstance(m, dict)
    )
    language = status.get("language")
    raw = dict(status)
    if instance:
        raw["_instance"] = instance
    return Post(
        platform=Platform.MASTODON,
        platform_id=uri,
        url=status.get("url") or uri,
        author=_author(status.get("account")),
        text=text,
        created_at=parse_time(status.get("created_at"), what),
        language_hint=language if isinstance(language, str) and language else None,
        hashtags=tags,
        mentions=mentions,
        urls=tuple(links),
        media=media,
        # Replies point at a local id of the fetching instance; kept as given (the URI is not provided).
        reply_to_id=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
        quote_of_id=_quoted_uri(status),
        metrics=Metrics(
            likes=as_int(status.get("favourites_count")),
            reposts=as_int(status.get("reblogs_count")),
            replies=as_int(status.get("replies_count")),
            quotes=as_int(status.get("quotes_count")),
        ),
        query=query,
        raw=raw,
    )


def _quoted_uri(status: Mapping[str, Any]) -> str | None:
    quote = status.get("quote")
    if isinstance(quote, dict):
        quoted = quote.get("quoted_status")
        if isinstance(quoted, dict) and quoted.get("uri"):
            return str(quoted["uri"])
    return None


def parse_statuses(statuses: Any, query: str | None = None, instance: str | None = None) -> ParsedPage:
    """A timeline page (a JSON array of statuses). Boosts give the booster's repost and the original."""
    if not isinstance(statuses, list):
        raise BadPayload(f"not a Mastodon timeline (expected a JSON array, got {type(statuses).__name__})")
    posts: list[Post] = []
    rejected: list[Rejected] = []
    for item in statuses:
        try:
            if not isinstance(item, dict):
                raise BadPayload(f"status: expected an object, got {type(item).__name__}")
            status = clean_payload(item)
            boosted = status.get("reblog")
            if isinstance(boosted, dict):
                original = parse_status(boosted, query, instance)
                booster = _author(status.get("account"))
                uri = str(require(status, "uri", "boost"))
                posts.append(
                    Post(
                        platform=Platform.MASTODON,
                        platform_id=uri,
                        url=status.get("url") or uri,
                        author=booster,
                        text=original.text,
                        created_at=parse_time(status.get("created_at"), f"boost {uri}"),
                        language_hint=original.language_hint,
                        hashtags=original.hashtags,
                        repost_of_id=original.platform_id,
                        metrics=Metrics(),
                        query=query,
                        raw=dict(status),
                    )
                )
                posts.append(original)
            else:
                posts.append(parse_status(status, query, instance))
        except BadPayload as exc:
            rejected.append(Rejected(item=item, error=str(exc)))
    newest = str(statuses[0]["id"]) if statuses and isinstance(statuses[0], dict) and statuses[0].get("id") else None
    return ParsedPage(posts=posts, rejected=rejected, next_token=None, newest_id=newest)
