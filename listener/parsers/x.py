"""X API v2 payloads (search pages, tweet lookups, twarc2 JSONL lines) to `Post` records.

A page is `{"data": [tweets], "includes": {users, tweets, media, places}, "meta": {...}, "errors": [...]}`.
Each tweet is parsed on its own: a tweet that cannot be read is returned as a quarantine item with the
reason, and the rest of the page is kept. A retweet is stored as a repost by the retweeter (its author's
followers count for reach), and the original it carries in `includes.tweets` is stored too: X truncates a
retweet's text, the original holds the story.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from listener.errors import BadPayload
from listener.parsers.common import as_int, clean_payload, parse_time, require, unescape
from listener.post import Author, Media, Metrics, Platform, Post

# X's pseudo-languages: no language at all, not one we could use as a hint.
_NO_LANGUAGE = {"und", "zxx", "qme", "qam", "qct", "qht", "qst", "art"}


@dataclass(frozen=True)
class Includes:
    users: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    tweets: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    media: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, page: Mapping[str, Any]) -> Includes:
        inc = page.get("includes") or {}
        if not isinstance(inc, dict):
            return cls()

        def index(key: str, id_key: str) -> dict[str, dict[str, Any]]:
            items = inc.get(key) or []
            return {str(i[id_key]): i for i in items if isinstance(i, dict) and i.get(id_key) is not None}

        return cls(users=index("users", "id"), tweets=index("tweets", "id"), media=index("media", "media_key"))


@dataclass(frozen=True)
class Rejected:
    """One item that could not be parsed: kept whole, with the reason, for the quarantine."""

    item: Any
    error: str


@dataclass(frozen=True)
class ParsedPage:
    posts: list[Post]
    rejected: list[Rejected]
    next_token: str | None
    newest_id: str | None


def _author(author_id: str, includes: Includes) -> Author:
    user = includes.users.get(author_id)
    if user is None:
        # The page did not expand this author: keep the id, the rest is unknown (never "0 followers").
        return Author(platform_id=author_id, handle="")
    metrics = user.get("public_metrics") or {}
    handle = str(user.get("username") or "")
    return Author(
        platform_id=author_id,
        handle=handle,
        display_name=unescape(str(user.get("name") or "")),
        followers=as_int(metrics.get("followers_count")) if isinstance(metrics, dict) else None,
        verified=user.get("verified") if isinstance(user.get("verified"), bool) else None,
        url=f"https://x.com/{handle}" if handle else None,
    )


def _references(tweet: Mapping[str, Any]) -> dict[str, str]:
    refs: dict[str, str] = {}
    for ref in tweet.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") and ref.get("id"):
            refs[str(ref["type"])] = str(ref["id"])
    return refs


def _entities(tweet: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    entities = tweet.get("entities") or {}
    if not isinstance(entities, dict):
        return (), (), ()
    tags = tuple(str(h["tag"]) for h in entities.get("hashtags") or [] if isinstance(h, dict) and h.get("tag"))
    mentions = tuple(
        str(m["username"]) for m in entities.get("mentions") or [] if isinstance(m, dict) and m.get("username")
    )
    urls = tuple(
        str(u.get("unwound_url") or u.get("expanded_url") or u.get("url"))
        for u in entities.get("urls") or []
        if isinstance(u, dict) and (u.get("expanded_url") or u.get("url"))
    )
    return tags, mentions, urls


def _media(tweet: Mapping[str, Any], includes: Includes) -> tuple[Media, ...]:
    attachments = tweet.get("attachments")
    keys = (attachments.get("media_keys") or []) if isinstance(attachments, dict) else []
    out = []
    for key in keys:
        item = includes.media.get(str(key))
        if item is None:
            out.append(Media(kind="unknown"))
            continue
        out.append(
            Media(
                kind=str(item.get("type") or "unknown"),
                url=item.get("url") or item.get("preview_image_url"),
                alt_text=item.get("alt_text"),
            )
        )
    return tuple(out)


def parse_tweet(tweet: Mapping[str, Any], includes: Includes, query: str | None = None, *, clean: bool = True) -> Post:
    """One v2 tweet object (with the page's includes) to a Post; BadPayload when it cannot be read.

    `clean=False` when the raw body is known to hold no NUL or surrogate escapes (`may_need_cleaning`).
    """
    if clean:
        tweet = clean_payload(tweet)
    tweet_id = str(require(tweet, "id", "tweet"))
    what = f"tweet {tweet_id}"
    text = require(tweet, "text", what)
    author_id = str(require(tweet, "author_id", what))
    if not isinstance(text, str):
        raise BadPayload(f"{what}: text is not a string")
    created_at = parse_time(tweet.get("created_at"), what)
    refs = _references(tweet)
    metrics = tweet.get("public_metrics") or {}
    if not isinstance(metrics, dict):
        metrics = {}
    tags, mentions, urls = _entities(tweet)
    author = _author(author_id, includes)
    lang = tweet.get("lang")
    handle = author.handle or "i/web"
    return Post(
        platform=Platform.X,
        platform_id=tweet_id,
        url=f"https://x.com/{handle}/status/{tweet_id}",
        author=author,
        text=unescape(text),
        created_at=created_at,
        language_hint=lang if isinstance(lang, str) and lang not in _NO_LANGUAGE else None,
        hashtags=tags,
        mentions=mentions,
        urls=urls,
        media=_media(tweet, includes),
        reply_to_id=refs.get("replied_to"),
        repost_of_id=refs.get("retweeted"),
        quote_of_id=refs.get("quoted"),
        metrics=Metrics(
            likes=as_int(metrics.get("like_count")),
            reposts=as_int(metrics.get("retweet_count")),
            replies=as_int(metrics.get("reply_count")),
            quotes=as_int(metrics.get("quote_count")),
            views=as_int(metrics.get("impression_count")),
        ),
        query=query,
        raw=dict(tweet),
    )


def parse_page(page: Any, query: str | None = None, *, clean: bool = True) -> ParsedPage:
    """A whole v2 response page. Raises BadPayload only when the page itself is not a v2 response."""
    if not isinstance(page, dict):
        raise BadPayload(f"not an X API v2 response (got {type(page).__name__})")
    if clean:  # the whole page at once: includes (authors, originals) too
        page = clean_payload(page)
    data = page.get("data", [])
    if isinstance(data, dict):  # single-tweet lookup
        data = [data]
    if not isinstance(data, list):
        raise BadPayload("X API v2 response: 'data' is not a list")
    meta = page.get("meta") or {}
    if not isinstance(meta, dict):
        meta = {}
    if not data and "meta" not in page and "errors" not in page:
        raise BadPayload("not an X API v2 response: no 'data', 'meta' or 'errors'")
    includes = Includes.of(page)
    posts: list[Post] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for tweet in data:
        try:
            post = parse_tweet(tweet, includes, query, clean=False)
        except BadPayload as exc:
            rejected.append(Rejected(item=tweet, error=str(exc)))
            continue
        posts.append(post)
        seen.add(post.platform_id)
    for post in list(posts):
        original_id = post.repost_of_id
        original = includes.tweets.get(original_id) if original_id else None
        if original is None or original_id in seen:
            continue
        try:
            posts.append(parse_tweet(original, includes, query, clean=False))
            seen.add(str(original_id))
        except BadPayload as exc:
            rejected.append(Rejected(item=original, error=str(exc)))
    next_token = meta.get("next_token")
    newest = meta.get("newest_id")
    return ParsedPage(
        posts=posts,
        rejected=rejected,
        next_token=str(next_token) if next_token else None,
        newest_id=str(newest) if newest else None,
    )
