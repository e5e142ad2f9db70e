"""Story candidates of the synthetic corpus (`bench.generate`), scored by the stories job's own function
(`jobs.story_scoring.score_story`, with its author-diversity penalty, duplicate and repost suppression) and
stored in its format, spread over every state of the curation queue, each with the transitions that led there
and, past shortlisting, its rights request. Opted-out merchants' stories are never featured; a featured story
whose window is over is archived.

Two volumes: by default only the best ~20 % of posts become stories (unsuppressed, scoring at least
`STORY_THRESHOLD`); with `all_scored`, every campaign post gets one, as the stories job leaves them: the rest
rejected with the job's "auto:" reason, reposts and duplicates grouped under their original's story.

Pure, driven by the corpus's one `random.Random`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.population import Tables
from bench.texts import Content
from jobs.story_scoring import SCORING_VERSION, StoryInputs, score_story

# About a fifth of the generated posts score at least this (25 % of 2,000 posts, 20 % of 200,000: prolific
# authors' later posts pay the author-diversity penalty); the default stories.min_score, 0.35, lets about half
# of them through.
STORY_THRESHOLD = 0.47
_STATES = (
    ("candidate", 0.62), ("shortlisted", 0.72), ("rights_requested", 0.78), ("rights_granted", 0.82),
    ("featured", 0.85), ("archived", 0.9), ("rejected", 1.0),
)  # fmt: skip
_PATHS = {
    "candidate": ("candidate",),
    "shortlisted": ("candidate", "shortlisted"),
    "rights_requested": ("candidate", "shortlisted", "rights_requested"),
    "rights_granted": ("candidate", "shortlisted", "rights_requested", "rights_granted"),
    "featured": ("candidate", "shortlisted", "rights_requested", "rights_granted", "featured"),
    "archived": ("candidate", "shortlisted", "rights_requested", "rights_granted", "featured", "archived"),
    "rejected": ("candidate", "rejected"),
}
_REJECTIONS = ("hors sujet", "doublon", "pas un témoignage", "auteur injoignable", "off-topic")
_DAY = 86400.0


@dataclass(frozen=True)
class StoryPost:
    """What scoring reads of a post, and what a story copies from it (the queue filters on one table)."""

    post_id: int
    kind: str
    platform: str
    language: str
    sentiment: str
    sentiment_score: float
    spam_score: float
    likely_spam: bool
    fingerprint: str
    has_media: bool
    metrics: tuple[int | None, ...]
    author_id: int
    author_handle: str
    followers: int | None
    verified: bool | None
    public_name: str | None
    created: float
    analysed: float


class Stories:
    """Story rows with ids from `first_id` on; timestamps are epoch seconds, written through `t`."""

    def __init__(
        self,
        rng: random.Random,
        now: float,
        first_id: int,
        t: Callable[[float], Any],
        json: Callable[[Any], Any],
        *,
        min_score: float,
        all_scored: bool,
    ) -> None:
        self._rng = rng
        self._now = now
        self._id = first_id
        self._t = t
        self._json = json
        self._min_score = min_score
        self.all_scored = all_scored
        self._queued: Counter[tuple[int, int]] = Counter()  # (campaign, author) -> stories not rejected
        self._fingerprints: dict[tuple[int, str], int] = {}  # (campaign, fingerprint) -> first story

    def add(
        self,
        post: StoryPost,
        content: Content,
        campaign_id: int,
        consent_hashtag: str | None,
        original_story: int | None,
        out: Tables,
    ) -> int | None:
        """Score the post for the campaign and store its story when it gets one; returns the story id.
        `original_story`: the story of the post a repost repeats, if it has one."""
        if not self.all_scored and (post.likely_spam or "c" in content.flags or post.sentiment == "negative"):
            return None  # suppressed whatever it scores (spam, complaint, negative): spare the scoring
        duplicate_of = self._fingerprints.get((campaign_id, post.fingerprint)) if post.kind != "repost" else None
        links = [link for link in content.links if link[0] is not None]
        best = max(links, key=lambda link: link[4]) if links else None
        flags = content.flags
        result = score_story(
            StoryInputs(
                kind=post.kind,
                sentiment=post.sentiment,
                sentiment_score=post.sentiment_score,
                first_person="f" in flags,
                gratitude="g" in flags,
                recommendation="r" in flags,
                question="q" in flags,
                complaint="c" in flags,
                text_length=len(content.text),
                spam_score=post.spam_score,
                likely_spam=post.likely_spam,
                merchant_link_score=best[4] if best else None,
                merchant_link_method=best[3] if best else None,
                likes=post.metrics[0],
                reposts=post.metrics[1],
                replies=post.metrics[2],
                quotes=post.metrics[3],
                followers=post.followers,
                author_handle=post.author_handle,
                author_verified=post.verified,
                has_media=post.has_media,
                age_days=(self._now - post.created) / _DAY,
                author_stories=self._queued[(campaign_id, post.author_id)],
                duplicate=duplicate_of is not None,
            )
        )
        candidate = result.suppressed is None and result.score >= self._min_score
        if not self.all_scored and not (candidate and result.score >= STORY_THRESHOLD):
            return None
        if candidate:
            roll = self._rng.random()
            state = next(name for name, bound in _STATES if roll < bound)
            reason = f"scored {result.score:.2f}"
        else:
            state = "rejected"
            why = result.suppressed or f"score {result.score:.2f} below stories.min_score {self._min_score:.2f}"
            reason = f"auto: {why}"
        self._id += 1
        story_id = self._id
        if post.fingerprint and post.kind != "repost":
            self._fingerprints.setdefault((campaign_id, post.fingerprint), story_id)
        if state != "rejected":
            self._queued[(campaign_id, post.author_id)] += 1
        breakdown = {"version": SCORING_VERSION, "factors": result.breakdown, "suppressed": result.suppressed}
        grouped = original_story if result.suppressed == "repost" else duplicate_of
        self._write(story_id, state, candidate, result.score, breakdown, reason, grouped, post, content,
                    campaign_id, consent_hashtag, out)  # fmt: skip
        return story_id

    def _write(
        self,
        story_id: int,
        state: str,
        scored_in: bool,
        score: float,
        breakdown: dict[str, Any],
        reason: str,
        original_story: int | None,
        post: StoryPost,
        content: Content,
        campaign_id: int,
        consent_hashtag: str | None,
        out: Tables,
    ) -> None:
        rng = self._rng
        now, t = self._now, self._t
        shop = content.shop
        links = [link for link in content.links if link[0] is not None]
        merchant_id = max(links, key=lambda link: link[4])[0] if links else None
        if state in ("featured", "archived") and shop is not None and shop.opt_out:
            state = "rights_granted"  # an opted-out shop's stories are never featured
        # A story the job rejected is created rejected; a candidate a curator rejected went through candidate.
        path = list(_PATHS[state]) if scored_in else ["rejected"]
        at = min(now, post.analysed + rng.uniform(60, 900))
        created_at = at
        featured_from = featured_until = requested = granted = None
        previous: str | None = None
        for step in path:
            if previous is not None:
                at = min(now, at + rng.uniform(1800, 2 * _DAY))
            if step == "featured":
                featured_from, featured_until = at, at + 7 * _DAY
                if featured_until <= now and path[-1] == "featured":
                    path.append("archived")  # its window is over
                    state = "archived"
            if step == "archived" and featured_until is not None:
                at = min(now, max(at, featured_until))
                featured_until = min(featured_until, at)
            if step == "rights_requested":
                requested = at
            if step == "rights_granted":
                granted = at
            why = reason if previous is None else rng.choice(_REJECTIONS) if step == "rejected" else None
            out["story_transitions"].append((story_id, previous, step, None, why, t(at)))
            previous = step
        if requested is not None:
            expires = requested + 14 * _DAY
            status = "granted" if granted is not None else "pending" if expires > now else "expired"
            consent = consent_hashtag or "OK"
            message = f"Bonjour ! Pouvons-nous partager votre publication ? Répondez avec #{consent} pour accepter."
            out["rights_requests"].append(
                (
                    story_id,
                    None,
                    t(requested),
                    t(expires),
                    message,
                    consent,
                    status,
                    None,
                    t(granted) if granted is not None else None,
                )
            )
        out["stories"].append(
            (
                story_id,
                post.post_id,
                campaign_id,
                merchant_id,
                original_story,
                state,
                score,
                self._json(breakdown),
                post.platform,
                post.language,
                post.sentiment,
                post.author_id,
                t(post.created),
                post.public_name if granted is not None else None,
                t(featured_from) if featured_from is not None else None,
                t(featured_until) if featured_until is not None else None,
                t(created_at),
                t(at),
            )
        )
