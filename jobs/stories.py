"""The stories job: analysed campaign posts become scored stories; consent replies grant rights; unanswered
requests expire; ended feature windows are archived.

For each campaign, posts analysed and created within `stories.lookback_days` that are not stories yet are read
in batches (keyset by post id), scored by `jobs.story_scoring.score_story`, and stored, each batch in its own
transaction: a candidate when it scores at least `stories.min_score` and nothing suppresses it, else a story
created rejected with the reason (so it is never scored again, and the curator can see why; undo makes it a
candidate). Duplicates (same text fingerprint) and reposts are grouped under their original story.

Idempotent: a second run finds nothing new to score (stories are unique per post and campaign) and the rights
and archive steps only act on what is due. Scoring happens once per post: a post whose engagement grows after
it was scored keeps its first score.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from jobs.services import Services
from jobs.story_scoring import SCORING_VERSION, StoryInputs, StoryScore, score_story
from storage.repositories import stories as repo
from storage.repositories._sql import utcnow
from storage.repositories.stories import NewStory, PostToScore, ScoringContext, StoryState

log = logging.getLogger(__name__)

BATCH = 500

_WHY = {
    "repost": "a repost",
    "duplicate": "the same text as an earlier story",
    "consent_reply": "a consent reply (evidence for a rights request, not a story)",
    "spam": "likely spam",
    "bot": "the author looks like a bot",
    "complaint": "a complaint",
    "negative": "negative sentiment",
}


def inputs_for(
    post: PostToScore, now: datetime, *, author_stories: int, duplicate: bool, consent_reply: bool
) -> StoryInputs:
    signals = post.signals
    return StoryInputs(
        kind=post.kind,
        sentiment=post.sentiment,
        sentiment_score=post.sentiment_score,
        first_person=bool(signals.get("first_person")),
        gratitude=bool(signals.get("gratitude")),
        recommendation=bool(signals.get("recommendation")),
        question=bool(signals.get("question")),
        complaint=bool(signals.get("complaint")),
        text_length=int(signals.get("length") or len(post.text)),
        spam_score=float(signals.get("spam_score") or 0.0),
        likely_spam=bool(signals.get("likely_spam")),
        merchant_link_score=post.merchant_link_score,
        merchant_link_method=post.merchant_link_method,
        likes=post.likes,
        reposts=post.reposts,
        replies=post.replies,
        quotes=post.quotes,
        followers=post.followers,
        author_handle=post.author_handle,
        author_verified=post.verified,
        has_media=post.has_media or bool(signals.get("has_media")),
        age_days=(now - post.created_at).total_seconds() / 86_400,
        author_stories=author_stories,
        duplicate=duplicate,
        consent_reply=consent_reply,
    )


def _reason(result: StoryScore, post: PostToScore, min_score: float) -> str:
    if result.suppressed is not None:
        why = _WHY.get(result.suppressed, result.suppressed)
        if result.suppressed == "spam":
            cues = ", ".join(post.signals.get("reasons") or ())
            why += f" (spam score {float(post.signals.get('spam_score') or 0):.2f}{': ' + cues if cues else ''})"
        return f"auto: {why}"
    if result.score < min_score:
        return f"auto: score {result.score:.2f} below stories.min_score {min_score:.2f}"
    return f"scored {result.score:.2f}"


class _Scorer:
    """Scores a campaign's batches against its context; originals inside a batch are tracked by post id."""

    def __init__(self, services: Services, campaign_id: int, consent_tag: str | None, context: ScoringContext) -> None:
        self.services = services
        self.campaign_id = campaign_id
        self.consent_tag = consent_tag
        self.context = context
        self.min_score = services.settings.stories.min_score
        self.counts: Counter[str] = Counter()
        self._in_batch: set[int] = set()
        self._pending: dict[str, int] = {}  # fingerprint -> post id of an original in this batch

    def decide(self, post: PostToScore, repost_of: tuple[int | None, int] | None, now: datetime) -> NewStory:
        original_story: int | None = None
        original_post: int | None = None
        if repost_of is not None:  # grouped under the original's story, stored or about to be
            original_story, original_post = repost_of
            if original_story is not None or original_post not in self._in_batch:
                original_post = None
        fingerprint = post.fingerprint if post.kind != "repost" else ""
        duplicate = False
        if fingerprint in self.context.fingerprints:
            duplicate, original_story = True, self.context.fingerprints[fingerprint]
        elif fingerprint in self._pending:
            duplicate, original_post = True, self._pending[fingerprint]
        elif fingerprint:
            self._pending[fingerprint] = post.post_id
        consent_reply = bool(
            self.consent_tag and post.kind == "reply" and repo.has_hashtag(post.text, post.hashtags, self.consent_tag)
        )
        result = score_story(
            inputs_for(
                post,
                now,
                author_stories=self.context.author_stories[post.author_id],
                duplicate=duplicate,
                consent_reply=consent_reply,
            )
        )
        candidate = result.suppressed is None and result.score >= self.min_score
        if candidate:  # the author's next post, even in this batch, meets the diversity penalty
            self.context.author_stories[post.author_id] += 1
        self.counts["candidates" if candidate else "rejected"] += 1
        if result.suppressed:
            self.counts[f"suppressed_{result.suppressed}"] += 1
        return NewStory(
            post=post,
            campaign_id=self.campaign_id,
            state=StoryState.CANDIDATE if candidate else StoryState.REJECTED,
            score=result.score,
            breakdown={"version": SCORING_VERSION, "factors": result.breakdown, "suppressed": result.suppressed},
            reason=_reason(result, post, self.min_score),
            original_story_id=original_story,
            original_post_id=original_post,
        )

    async def next_batch(self, since: datetime, after: int, now: datetime) -> tuple[int, int] | None:
        """Score and store the next batch in one transaction: (stories created, last post id), None when done."""
        async with self.services.sessions.begin() as session:
            posts = await repo.candidates_to_score(session, self.campaign_id, since, BATCH, after_post_id=after)
            if not posts:
                return None
            reposts = await repo.repost_originals(session, self.campaign_id, posts)
            self._in_batch, self._pending = {p.post_id for p in posts}, {}
            new = [self.decide(p, reposts.get(p.post_id), now) for p in posts]
            created = await repo.upsert_stories(session, new, now)
        for fingerprint, post_id in self._pending.items():
            if post_id in created:
                self.context.fingerprints.setdefault(fingerprint, created[post_id])
        return len(created), posts[-1].post_id


async def score_campaign(
    services: Services, campaign_id: int, consent_tag: str | None, now: datetime
) -> dict[str, int]:
    """Score the campaign's new analysed posts into stories, batch by batch; returns counts."""
    since = now - timedelta(days=services.settings.stories.lookback_days)
    async with services.sessions() as session:
        first_id = await repo.first_post_id_since(session, since)
        if first_id is None:
            return {}
        after = first_id - 1
        if not await repo.candidates_to_score(session, campaign_id, since, 1, after_post_id=after):
            return {}  # nothing new: skip reading the context
        context = await repo.scoring_context(session, campaign_id, since)
    scorer = _Scorer(services, campaign_id, consent_tag, context)
    created = 0
    while (done := await scorer.next_batch(since, after, now)) is not None:
        created += done[0]
        after = done[1]
    return {"stories": created, **scorer.counts}


async def run(services: Services, *, now: datetime | None = None) -> dict[str, Any]:
    """One pass of the whole pipeline after analysis (see the module notes); returns what it did."""
    now = now or utcnow()
    totals: Counter[str] = Counter()
    for slug, campaign_id in services.campaign_ids.items():
        campaign = services.settings.campaigns.get(slug)
        consent = campaign.consent_hashtag if campaign is not None else None
        tag = (consent or "").strip().lstrip("#") or None
        counts = await score_campaign(services, campaign_id, tag, now)
        if counts:
            log.info("stories: campaign %s: %s", slug, counts)
        totals.update(counts)
    async with services.sessions.begin() as session:
        granted = await repo.grant_from_replies(session, now)
    async with services.sessions.begin() as session:
        expired = await repo.expire_rights(session, now)
    async with services.sessions.begin() as session:
        archived = await repo.archive_expired(session, now)
    return {"stories": 0, **totals, "rights_granted": granted, "rights_expired": expired, "archived": archived}
