"""The write side of the queue: analysed campaign posts that are not stories yet, and storing their stories.

Every analysed post of a campaign within the look-back becomes exactly one story row (UNIQUE post, campaign):
a candidate when it scores at least `stories.min_score` and nothing suppresses it, else a story created
`rejected` whose creation move says why (score too low, spam, repost, duplicate ...). Storing the rejected
ones is what makes the job cheap and idempotent: "not a story yet" is a NOT EXISTS on the unique key, and a
post is never scored twice; it also answers "why is my post not in the queue?".

Reading is keyset-paginated by post id over `post_campaigns (campaign_id, post_id)`, starting at the first
post created in the look-back (`first_post_id_since`), with the post, its author and analysis joined and the
mentions of the whole batch read in one query: no per-post queries at any size.

Duplicates and reposts are grouped under their original (`original_story_id`): a repost under the story of
the post it reposts; a post whose text fingerprint (see nlp.signals) equals an earlier story's under that
story. `ScoringContext` holds the fingerprints and the per-author counts of the campaign's stories in the
look-back, read once per run: stories have no fingerprint column, so it is read from the analyses once rather
than per batch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Analysis, Author, Mention, Post, PostCampaign, Story, StoryTransition
from storage.repositories._sql import upsert_insert
from storage.repositories.story_states import StoryState


@dataclass(frozen=True)
class PostToScore:
    """An analysed campaign post with what scoring needs: post, author, analysis and its best merchant link."""

    post_id: int
    platform: str
    platform_id: str
    kind: str
    repost_of_id: str | None
    reply_to_id: str | None
    text: str
    hashtags: list[str]
    created_at: datetime
    has_media: bool
    likes: int | None
    reposts: int | None
    replies: int | None
    quotes: int | None
    author_id: int
    author_handle: str
    author_name: str
    followers: int | None
    verified: bool | None
    language: str
    sentiment: str
    sentiment_score: float
    signals: dict[str, Any]
    merchant_id: int | None = None
    merchant_link_score: float | None = None
    merchant_link_method: str | None = None

    @property
    def fingerprint(self) -> str:
        return str(self.signals.get("fingerprint") or "")


@dataclass(frozen=True)
class NewStory:
    """A story to store. Its original is a stored story (`original_story_id`) or a post of the same batch
    (`original_post_id`), resolved after that post's story is inserted."""

    post: PostToScore
    campaign_id: int
    state: StoryState  # candidate or rejected
    score: float
    breakdown: dict[str, Any]
    reason: str  # of the creation move
    original_story_id: int | None = None
    original_post_id: int | None = None


@dataclass
class ScoringContext:
    """The campaign's stories in the look-back as scoring needs them: originals by text fingerprint, and how
    many non-rejected stories each author already has. Updated as batches are stored."""

    fingerprints: dict[str, int] = field(default_factory=dict)  # fingerprint -> original story id
    author_stories: Counter[int] = field(default_factory=Counter)


_TAG_CHARS = r"[\w\u0600-\u06ff]"


def has_hashtag(text: str, hashtags: Sequence[str], tag: str) -> bool:
    """Whether a post carries `tag` (with or without '#'), case-insensitively, in its hashtags or its text."""
    wanted = tag.strip().lstrip("#").casefold()
    if not wanted:
        return False
    if any(h.strip().lstrip("#").casefold() == wanted for h in hashtags):
        return True
    pattern = rf"(?<!{_TAG_CHARS})#{re.escape(wanted)}(?!{_TAG_CHARS})"
    return re.search(pattern, text.casefold()) is not None


async def first_post_id_since(session: AsyncSession, since: datetime) -> int | None:
    """The smallest id of a post created at or after `since` (read on the posts created_at index): the
    keyset scan starts there instead of at the campaign's first post."""
    return await session.scalar(select(func.min(Post.id)).where(Post.created_at >= since))


async def candidates_to_score(
    session: AsyncSession, campaign_id: int, since: datetime, limit: int, *, after_post_id: int = 0
) -> list[PostToScore]:
    """Up to `limit` analysed posts of the campaign created since `since`, with id > `after_post_id`, that have
    no story in this campaign yet; in post id order."""
    has_story = exists().where(Story.post_id == PostCampaign.post_id, Story.campaign_id == campaign_id)
    rows = await session.execute(
        select(
            Post.id,
            Post.platform,
            Post.platform_id,
            Post.kind,
            Post.repost_of_id,
            Post.reply_to_id,
            Post.text,
            Post.hashtags,
            Post.created_at,
            Post.media,
            Post.likes,
            Post.reposts,
            Post.replies,
            Post.quotes,
            Post.author_id,
            Author.handle,
            Author.display_name,
            Author.followers,
            Author.verified,
            Analysis.language,
            Analysis.sentiment,
            Analysis.sentiment_score,
            Analysis.signals,
        )
        .select_from(PostCampaign)
        .join(Post, Post.id == PostCampaign.post_id)
        .join(Analysis, Analysis.post_id == PostCampaign.post_id)
        .join(Author, Author.id == Post.author_id)
        .where(
            PostCampaign.campaign_id == campaign_id,
            PostCampaign.post_id > after_post_id,
            Post.created_at >= since,
            ~has_story,
        )
        .order_by(PostCampaign.post_id)
        .limit(limit)
    )
    posts = [
        PostToScore(
            post_id=r[0],
            platform=r[1],
            platform_id=r[2],
            kind=r[3],
            repost_of_id=r[4],
            reply_to_id=r[5],
            text=r[6],
            hashtags=list(r[7] or []),
            created_at=r[8],
            has_media=bool(r[9]),
            likes=r[10],
            reposts=r[11],
            replies=r[12],
            quotes=r[13],
            author_id=r[14],
            author_handle=r[15],
            author_name=r[16] or "",
            followers=r[17],
            verified=r[18],
            language=r[19],
            sentiment=r[20],
            sentiment_score=float(r[21]),
            signals=dict(r[22] or {}),
        )
        for r in rows.all()
    ]
    if not posts:
        return posts
    best = await _best_links(session, [p.post_id for p in posts])
    return [
        replace(p, merchant_id=link[0], merchant_link_score=link[1], merchant_link_method=link[2])
        if (link := best.get(p.post_id))
        else p
        for p in posts
    ]


async def _best_links(session: AsyncSession, post_ids: Sequence[int]) -> dict[int, tuple[int, float, str]]:
    """Each post's most confident link to a registry merchant (one query for the batch)."""
    rows = await session.execute(
        select(Mention.post_id, Mention.merchant_id, Mention.score, Mention.method)
        .where(Mention.post_id.in_(post_ids), Mention.merchant_id.is_not(None))
        .order_by(Mention.post_id, Mention.score.desc(), Mention.id)
    )
    best: dict[int, tuple[int, float, str]] = {}
    for post_id, merchant_id, score, method in rows.all():
        if merchant_id is not None:
            best.setdefault(post_id, (merchant_id, float(score), method))
    return best


async def scoring_context(session: AsyncSession, campaign_id: int, since: datetime) -> ScoringContext:
    """Fingerprints of the campaign's original stories and per-author counts, over stories of posts created
    since `since` (read on the stories (campaign_id, post_created_at) index)."""
    rows = await session.execute(
        select(Story.id, Story.author_id, Story.state, Story.original_story_id, Analysis.signals)
        .join(Analysis, Analysis.post_id == Story.post_id)
        .where(Story.campaign_id == campaign_id, Story.post_created_at >= since)
        .order_by(Story.id)
    )
    context = ScoringContext()
    for story_id, author_id, state, original_id, signals in rows.all():
        if state != StoryState.REJECTED:
            context.author_stories[author_id] += 1
        fingerprint = (signals or {}).get("fingerprint")
        if fingerprint and original_id is None:
            context.fingerprints.setdefault(str(fingerprint), story_id)
    return context


async def repost_originals(
    session: AsyncSession, campaign_id: int, posts: Sequence[PostToScore]
) -> dict[int, tuple[int | None, int]]:
    """For each repost of the batch whose original post is stored: post id -> (the original's story id in this
    campaign or None, the original's post id)."""
    wanted = {(p.platform, p.repost_of_id) for p in posts if p.repost_of_id}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Post.platform, Post.platform_id, Post.id, Story.id)
        .outerjoin(Story, and_(Story.post_id == Post.id, Story.campaign_id == campaign_id))
        .where(tuple_(Post.platform, Post.platform_id).in_(list(wanted)))
    )
    found = {(platform, platform_id): (story_id, post_id) for platform, platform_id, post_id, story_id in rows.all()}
    return {
        p.post_id: found[(p.platform, p.repost_of_id)]
        for p in posts
        if p.repost_of_id and (p.platform, p.repost_of_id) in found
    }


def _row(story: NewStory, now: datetime, original_story_id: int | None) -> dict[str, Any]:
    post = story.post
    return {
        "post_id": post.post_id,
        "campaign_id": story.campaign_id,
        "merchant_id": post.merchant_id,
        "original_story_id": original_story_id,
        "state": story.state.value,
        "score": story.score,
        "score_breakdown": story.breakdown,
        "platform": post.platform,
        "language": post.language,
        "sentiment": post.sentiment,
        "author_id": post.author_id,
        "post_created_at": post.created_at,
        "created_at": now,
        "updated_at": now,
    }


async def upsert_stories(session: AsyncSession, stories: Sequence[NewStory], now: datetime) -> dict[int, int]:
    """Insert the stories that do not exist yet (ON CONFLICT DO NOTHING: a concurrent run is harmless) with
    their creation moves; returns post id -> story id of the stories inserted now."""
    table: Any = Story.__table__
    created: dict[int, int] = {}
    first = [s for s in stories if s.original_post_id is None]
    later = [s for s in stories if s.original_post_id is not None]
    for group in (first, later):
        rows = []
        for story in group:
            original = story.original_story_id
            if story.original_post_id is not None:
                original = created.get(story.original_post_id, original)
            rows.append(_row(story, now, original))
        if not rows:
            continue
        stmt = (
            upsert_insert(session, table)
            .on_conflict_do_nothing(index_elements=[table.c.post_id, table.c.campaign_id])
            .returning(table.c.id, table.c.post_id)
        )
        result = await session.execute(stmt, rows)
        created.update({int(post_id): int(story_id) for story_id, post_id in result.all()})
    moves = [
        {
            "story_id": created[s.post.post_id],
            "from_state": None,
            "to_state": s.state.value,
            "actor_user_id": None,
            "reason": s.reason,
            "at": now,
        }
        for s in stories
        if s.post.post_id in created
    ]
    if moves:
        await session.execute(insert(StoryTransition), moves)
    return created
