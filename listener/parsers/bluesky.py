"""Bluesky `app.bsky.feed.searchPosts` (and getPosts) post views to `Post` records.

Rich text lives in facets indexed by UTF-8 byte offsets: hashtags, mentions and links are read from them
(a mention's facet carries only a DID, so its handle is the text it covers). Search results carry no
follower counts: they stay unknown rather than 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from listener.errors import BadPayload
from listener.parsers.common import as_int, clean_payload, clean_text, parse_time, require
from listener.parsers.x import ParsedPage, Rejected
from listener.post import Author, Media, Metrics, Platform, Post


def _facets(record: Mapping[str, Any], text: str) -> tuple[list[str], list[str], list[str]]:
    tags: list[str] = [str(t) for t in record.get("tags") or [] if isinstance(t, str)]
    mentions: list[str] = []
    links: list[str] = []
    data = text.encode("utf-8")
    for facet in record.get("facets") or []:
        if not isinstance(facet, dict):
            continue
        index = facet.get("index") or {}
        start, end = as_int(index.get("byteStart")), as_int(index.get("byteEnd"))
        covered = data[start:end].decode("utf-8", "replace") if start is not None and end is not None else ""
        for feature in facet.get("features") or []:
            if not isinstance(feature, dict):
                continue
            kind = str(feature.get("$type") or "")
            if kind.endswith("#tag") and feature.get("tag"):
                tags.append(str(feature["tag"]))
            elif kind.endswith("#link") and feature.get("uri"):
                links.append(str(feature["uri"]))
            elif kind.endswith("#mention"):
                mentions.append(covered.lstrip("@") or str(feature.get("did") or ""))
    return list(dict.fromkeys(tags)), list(dict.fromkeys(mentions)), list(dict.fromkeys(links))


def _embeds(view: Mapping[str, Any], links: list[str]) -> tuple[tuple[Media, ...], str | None]:
    embed = view.get("embed") or {}
    media: list[Media] = []
    quoted: str | None = None
    if not isinstance(embed, dict):
        return (), None
    kind = str(embed.get("$type") or "")
    parts = [embed.get("media") or {}, embed] if "recordWithMedia" in kind else [embed]
    for part in parts:
        if not isinstance(part, dict):
            continue
        for image in part.get("images") or []:
            if isinstance(image, dict):
                media.append(
                    Media(kind="photo", url=image.get("fullsize") or image.get("thumb"), alt_text=image.get("alt"))
                )
        if part.get("playlist"):
            media.append(Media(kind="video", url=part.get("playlist"), alt_text=part.get("alt")))
        external = part.get("external")
        if isinstance(external, dict) and external.get("uri") and external["uri"] not in links:
            links.append(str(external["uri"]))
    record = embed.get("record")
    if isinstance(record, dict):
        nested = record.get("record")
        inner: dict[str, Any] = nested if isinstance(nested, dict) else record
        if inner.get("uri"):
            quoted = str(inner["uri"])
    return tuple(media), quoted


def parse_post_view(view: Mapping[str, Any], query: str | None = None) -> Post:
    view = clean_payload(view)
    uri = str(require(view, "uri", "post"))
    what = f"post {uri}"
    record = require(view, "record", what)
    author = require(view, "author", what)
    if not isinstance(record, dict) or not isinstance(author, dict):
        raise BadPayload(f"{what}: 'record' and 'author' must be objects")
    text = record.get("text", "")
    if not isinstance(text, str):
        raise BadPayload(f"{what}: text is not a string")
    did = str(require(author, "did", what))
    handle = str(author.get("handle") or "")
    tags, mentions, links = _facets(record, text)
    media, quoted = _embeds(view, links)
    reply = record.get("reply") or {}
    parent = reply.get("parent") if isinstance(reply, dict) else None
    langs = record.get("langs") or []
    rkey = uri.rsplit("/", 1)[-1]
    return Post(
        platform=Platform.BLUESKY,
        platform_id=uri,
        url=f"https://bsky.app/profile/{handle or did}/post/{rkey}",
        author=Author(
            platform_id=did,
            handle=handle,
            display_name=clean_text(str(author.get("displayName") or "")),
            followers=as_int(author.get("followersCount")),
            url=f"https://bsky.app/profile/{handle or did}",
        ),
        text=clean_text(text),
        created_at=parse_time(record.get("createdAt") or view.get("indexedAt"), what),
        language_hint=str(langs[0]) if isinstance(langs, list) and langs else None,
        hashtags=tuple(tags),
        mentions=tuple(mentions),
        urls=tuple(links),
        media=media,
        reply_to_id=str(parent["uri"]) if isinstance(parent, dict) and parent.get("uri") else None,
        quote_of_id=quoted,
        metrics=Metrics(
            likes=as_int(view.get("likeCount")),
            reposts=as_int(view.get("repostCount")),
            replies=as_int(view.get("replyCount")),
            quotes=as_int(view.get("quoteCount")),
        ),
        query=query,
        raw=dict(view),
    )


def parse_search(page: Any, query: str | None = None) -> ParsedPage:
    """A searchPosts (or getPosts) response: `{"posts": [...], "cursor": "..."}`."""
    if not isinstance(page, dict) or not isinstance(page.get("posts"), list):
        raise BadPayload("not a Bluesky searchPosts response (expected an object with a 'posts' list)")
    posts: list[Post] = []
    rejected: list[Rejected] = []
    for view in page["posts"]:
        try:
            posts.append(parse_post_view(view, query))
        except BadPayload as exc:
            rejected.append(Rejected(item=view, error=str(exc)))
    cursor = page.get("cursor")
    return ParsedPage(posts=posts, rejected=rejected, next_token=str(cursor) if cursor else None, newest_id=None)
