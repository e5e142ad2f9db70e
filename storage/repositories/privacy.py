"""Privacy: forget one author everywhere, the audit log of erasures, and who may be shown by handle.

`forget_author` erases an author's posts and everything derived from them (through `erase.erase_posts`, the
code path the retention purge and the deleted-upstream check use too), then the traces they left in other
people's rows: replies and quotes lose the link to the erased posts, other posts' raw payloads that name the
author are blanked, "@handle" in other posts' text becomes "@[removed]", mentions and links to them are
dropped; quarantined payloads that contain them are deleted; stored reports lose their rows. The author row
goes last, and the erasure is recorded by pseudonym and counts, never by handle.

A handle changes hands over time: `resolve_author` looks the handle up both as the authors' current
handle and in the URLs of stored posts (which keep the handle the post was made under), and refuses to
guess when that names more than one account.

`public_author_keys` tells the merchant views and report exports which authors may be shown by handle
(`storage.pseudonyms.shown_handle`): those who granted rights on a story, and registered merchant accounts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Author, MerchantHandle, Post, PrivacyErasure, Quarantine, RightsRequest, Story
from storage.pseudonyms import pseudonym
from storage.repositories._sql import chunks
from storage.repositories.erase import Erased, author_key, erase_posts, redact_reports

REMOVED = "@[removed]"
_BATCH = 1000
# A post's URL keeps the handle it was made under (handles change; old posts keep the old one).
_HANDLE_IN_URL = {
    "x": re.compile(r"^https?://(?:www\.)?(?:x|twitter)\.com/([A-Za-z0-9_]{1,50})/status/", re.I),
    "bluesky": re.compile(r"^https://bsky\.app/profile/([^/]+)/post/", re.I),
    "mastodon": re.compile(r"^https?://([^/]+)/@([^/@]+)/", re.I),
}


class PrivacyError(Exception):
    """A privacy command cannot do what was asked; the message names the fix."""

    exit_code = 1


class AmbiguousAuthor(PrivacyError):
    exit_code = 2


@dataclass(frozen=True)
class AuthorRef:
    id: int
    platform: str
    platform_id: str
    handle: str
    display_name: str


@dataclass(frozen=True)
class ForgetResult:
    subject: str  # the author's pseudonym: what the audit log keeps
    counts: dict[str, int]
    audit_id: int | None


# --- finding the author -------------------------------------------------------------------------------------


def _clean_handle(handle: str) -> str:
    return handle.strip().lstrip("@").casefold()


async def resolve_author(
    session: AsyncSession, platform: str, *, handle: str | None = None, platform_id: str | None = None
) -> AuthorRef:
    """The one author meant by a handle (current or former) or a platform id; PrivacyError otherwise."""
    columns = (Author.id, Author.platform, Author.platform_id, Author.handle, Author.display_name)
    if platform_id is not None:
        match = (Author.platform == platform) & (Author.platform_id == platform_id)
        row = (await session.execute(select(*columns).where(match))).first()
        if row is None:
            raise PrivacyError(f"no {platform} author with id {platform_id} is stored (nothing to forget)")
        return AuthorRef(*row)
    wanted = _clean_handle(handle or "")
    if not wanted:
        raise PrivacyError("give --author HANDLE or --author-id ID")
    current = func.lower(Author.handle) == wanted
    if platform == "mastodon" and "@" not in wanted:
        current = or_(current, func.lower(Author.handle).like(f"{_like(wanted)}@%", escape="\\"))
    ids = set((await session.scalars(select(Author.id).where(Author.platform == platform, current))).all())
    ids |= await _authors_by_post_url(session, platform, wanted)
    if not ids:
        raise PrivacyError(
            f"no {platform} author has (or had) the handle @{wanted}: check the spelling and the platform, "
            "or give the account's id with --author-id"
        )
    rows = (await session.execute(select(*columns).where(Author.id.in_(sorted(ids))).order_by(Author.id))).all()
    if len(rows) > 1:
        listed = ", ".join(f"id {r.platform_id} (now @{r.handle})" for r in rows)
        raise AmbiguousAuthor(
            f"@{wanted} names {len(rows)} {platform} accounts over time: {listed}; choose one with --author-id"
        )
    return AuthorRef(*rows[0])


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _authors_by_post_url(session: AsyncSession, platform: str, handle: str) -> set[int]:
    local = handle.split("@")[0]
    patterns = {
        "x": [f"%/{_like(handle)}/status/%"],
        "bluesky": [f"%/profile/{_like(handle)}/post/%"],
        "mastodon": [f"%/@{_like(local)}/%"],
    }.get(platform, [])
    found: set[int] = set()
    for pattern in patterns:
        rows = await session.execute(
            select(Post.author_id, Post.url)
            .where(Post.platform == platform, Post.url.ilike(pattern, escape="\\"))
            .distinct()
        )
        found.update(int(a) for a, url in rows.all() if handle in _url_handles(platform, [url]))
    return found


def _url_handles(platform: str, urls: Iterable[str | None]) -> set[str]:
    pattern = _HANDLE_IN_URL.get(platform)
    found: set[str] = set()
    for url in urls:
        match = pattern.match(url or "") if pattern else None
        if match is None:
            continue
        if platform == "mastodon":
            host, user = match.groups()
            found.update({f"{user}@{host}".casefold(), user.casefold()})
        elif not match.group(1).startswith("did:"):
            found.add(match.group(1).casefold())
    return found


# --- forgetting ---------------------------------------------------------------------------------------------


# Where a handle shows in a link to the author's profile or posts, per platform.
_PROFILE_URL = {
    "x": r"(?:x|twitter)\.com/(?:{names})",
    "bluesky": r"bsky\.app/profile/(?:{names})",
    "mastodon": r"/@(?:{names})",
}


@dataclass(frozen=True)
class _Traces:
    """How the author shows in other people's rows: their account id anywhere (as a whole token), their
    handle as a whole JSON string value or in a link to their profile, and "@handle" in text."""

    platform: str
    platform_id: str
    handles: tuple[str, ...]  # case-folded, longest first (Mastodon: "user@host" and "user")
    post_ids: frozenset[str]  # platform ids of their erased posts

    def _names(self) -> str:
        return "|".join(re.escape(h) for h in self.handles) or r"(?!x)x"

    def pattern(self) -> re.Pattern[str]:
        """A trace in a payload or a URL."""
        names = self._names()
        parts = [rf"(?<![\w.:/-]){re.escape(self.platform_id)}(?![\w-])", rf'"@?(?:{names})"']
        if self.platform_id.startswith(("http://", "https://", "did:")):  # a URI or DID: any occurrence
            parts[0] = re.escape(self.platform_id)
        if self.platform in _PROFILE_URL:
            parts.append(_PROFILE_URL[self.platform].format(names=names) + r'(?=[/?#"]|$)')
        return re.compile("|".join(parts), re.I)

    def at_pattern(self) -> re.Pattern[str]:
        """ "@handle" in a post's text (not "@handle2", not "@handle@other.host")."""
        return re.compile(rf"(?<![\w@])@(?:{self._names()})(?![\w@-])", re.I)

    def needles(self) -> list[str]:
        """Substrings for the database's coarse pre-filter (LIKE); the patterns above decide."""
        return [self.platform_id, *self.handles]


def _traces(author: AuthorRef, handles: set[str], post_ids: set[str]) -> _Traces:
    names = sorted({h.casefold() for h in handles if h}, key=len, reverse=True)
    return _Traces(author.platform, author.platform_id, tuple(names), frozenset(post_ids))


def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


async def _plan_scrubs(session: AsyncSession, author: AuthorRef, traces: _Traces) -> dict[int, dict[str, Any]]:
    """Other people's posts that reply to, quote or name the author, with the changes that keep their words
    and drop the traces (read only: on SQLite the scan does not hold the write lock)."""
    pattern, at_pattern = traces.pattern(), traces.at_pattern()
    likes = [
        column.ilike(f"%{_like(n)}%", escape="\\")
        for n in traces.needles()
        for column in (cast(Post.raw, Text), Post.text, cast(Post.mentions, Text), cast(Post.urls, Text))
    ]
    refs = [Post.reply_to_id.in_(part) for part in chunks(sorted(traces.post_ids), 500)]
    query = select(Post.id, Post.text, Post.raw, Post.mentions, Post.urls, Post.reply_to_id, Post.quote_of_id).where(
        Post.platform == author.platform, Post.author_id != author.id, or_(*likes, *refs)
    )
    handles = set(traces.handles)
    plans: dict[int, dict[str, Any]] = {}
    for row in (await session.execute(query)).all():
        values: dict[str, Any] = {}
        if row.raw is not None and _traced(_text_of(row.raw), pattern, at_pattern):
            values["raw"] = null()  # SQL NULL (a bare None stores JSON null)
        text = at_pattern.sub(REMOVED, row.text)
        if text != row.text:
            values["text"] = text
        mentions = [m for m in row.mentions or [] if str(m).lstrip("@").casefold() not in handles]
        if mentions != list(row.mentions or []):
            values["mentions"] = mentions
        urls = [u for u in row.urls or [] if not pattern.search(str(u)) and not _names_post(str(u), traces)]
        if urls != list(row.urls or []):
            values["urls"] = urls
        if row.reply_to_id in traces.post_ids:
            values["reply_to_id"] = None
        if row.quote_of_id in traces.post_ids:
            values["quote_of_id"] = None
        if values:
            plans[int(row.id)] = values
    return plans


def _traced(text: str, pattern: re.Pattern[str], at_pattern: re.Pattern[str]) -> bool:
    return pattern.search(text) is not None or at_pattern.search(text) is not None


def _names_post(url: str, traces: _Traces) -> bool:
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return tail in traces.post_ids


async def _quarantined(session: AsyncSession, platform: str, traces: _Traces) -> list[int]:
    """Quarantined payloads holding the author's posts (they carry the author's id or handle) or naming them
    ("@handle" in someone else's text: a payload cannot be edited, it goes whole)."""
    pattern, at_pattern = traces.pattern(), traces.at_pattern()
    likes = [Quarantine.payload.ilike(f"%{_like(n)}%", escape="\\") for n in traces.needles()]
    rows = await session.execute(
        select(Quarantine.id, Quarantine.payload).where(Quarantine.platform == platform, or_(*likes))
    )
    return [int(i) for i, payload in rows.all() if _traced(payload, pattern, at_pattern)]


async def forget_author(
    session: AsyncSession, author: AuthorRef, *, key: bytes, now: datetime, actor: str = "cli"
) -> ForgetResult:
    """Erase the author everywhere, in the caller's transaction (roll it back for a dry run).

    Everything is read first (the scans of other people's posts and of the quarantine are the slow part),
    then written: on SQLite the write lock is taken only for the writes."""
    rows = (await session.execute(select(Post.id, Post.platform_id, Post.url).where(Post.author_id == author.id))).all()
    handles = {_clean_handle(author.handle)} | _url_handles(author.platform, [r.url for r in rows])
    if author.platform == "mastodon":
        handles |= {h.split("@")[0] for h in set(handles) if "@" in h}
    traces = _traces(author, handles, {str(r.platform_id) for r in rows})
    plans = await _plan_scrubs(session, author, traces)
    quarantined = await _quarantined(session, author.platform, traces)

    erased = Erased()
    for part in chunks([int(r.id) for r in rows], _BATCH):
        erased.add(await erase_posts(session, part))
    counts = erased.counts
    for post_id, values in plans.items():  # a repost erased above is simply not there any more
        changed = await session.execute(update(Post).where(Post.id == post_id).values(**values))
        counts["posts_scrubbed"] += max(getattr(changed, "rowcount", 0), 0)
    for part in chunks(quarantined, 500):
        await session.execute(delete(Quarantine).where(Quarantine.id.in_(part)))
    counts["quarantine"] += len(quarantined)
    counts["report_rows"] += await redact_reports(
        session, {author_key(author.platform, author.platform_id)}, erased.post_keys
    )
    await session.execute(delete(Author).where(Author.id == author.id))
    counts["authors"] += 1
    subject = pseudonym(author.platform, author.platform_id, key)
    audit_id = await record_erasure(
        session, kind="forget", platform=author.platform, subject=subject, actor=actor, counts=counts, now=now
    )
    return ForgetResult(subject=subject, counts={k: v for k, v in counts.items() if v}, audit_id=audit_id)


# --- the audit log ------------------------------------------------------------------------------------------


async def record_erasure(
    session: AsyncSession,
    *,
    kind: str,
    platform: str | None,
    subject: str | None,
    actor: str,
    counts: dict[str, int],
    now: datetime,
) -> int:
    row = PrivacyErasure(
        at=now,
        kind=kind,
        platform=platform,
        subject=subject,
        actor=actor,
        counts={k: int(v) for k, v in sorted(counts.items()) if v},
    )
    session.add(row)
    await session.flush()
    return row.id


async def erasures(session: AsyncSession, limit: int = 50) -> list[PrivacyErasure]:
    rows = await session.scalars(select(PrivacyErasure).order_by(PrivacyErasure.id.desc()).limit(limit))
    return list(rows)


# --- who may be shown by handle -----------------------------------------------------------------------------

# A story whose rights were granted, by a collected reply or recorded by hand, is in one of these states.
_GRANTED_STATES = ("rights_granted", "featured")


async def public_author_keys(session: AsyncSession, author_ids: Collection[int]) -> set[int]:
    """Of these authors (ids of the authors table), those who may be shown by their handle: they granted
    rights on a story (a granted rights request, or a story granted by hand), or the account is a registered
    merchant handle. Everyone else is a private individual: merchant views and report exports show their
    pseudonym (`storage.pseudonyms.shown_handle`)."""
    public: set[int] = set()
    for part in chunks(sorted(set(author_ids)), 500):
        granted = select(Story.author_id).where(
            Story.author_id.in_(part),
            or_(
                Story.state.in_(_GRANTED_STATES),
                select(RightsRequest.id)
                .where(RightsRequest.story_id == Story.id, RightsRequest.status == "granted")
                .exists(),
            ),
        )
        merchants = (
            select(Author.id)
            .join(
                MerchantHandle,
                (MerchantHandle.platform == Author.platform)
                & (MerchantHandle.handle == func.lower(func.ltrim(Author.handle, "@"))),
            )
            .where(Author.id.in_(part))
        )
        public.update(int(i) for i in await session.scalars(granted.union(merchants)))
    return public
