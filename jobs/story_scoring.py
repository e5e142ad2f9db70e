"""The story score: how strong a first-hand story about a local shop an analysed post is, explained.

Pure: ``score_story(StoryInputs) -> StoryScore``, no database and no clock (the caller passes the post's age).
The score is a weighted sum of six factors, each a component in [0, 1] times its weight (the weights sum to
1), then multiplied by two penalties. ``StoryScore.breakdown`` holds each weighted factor and each penalty,
so the curator sees why a post ranks where it does; the README quotes this table.

| factor       | weight | component in [0, 1]                                                                |
| ------------ | ------ | ---------------------------------------------------------------------------------- |
| sentiment    | 0.20   | positive: 0.6 + 0.4 x max(0, sentiment score); neutral: 0.3; negative: 0           |
| experience   | 0.25   | first person 0.5 + gratitude 0.25 + recommendation 0.25; x0.5 for a question;      |
|              |        | x0.6 under 40 characters of text                                                   |
| merchant     | 0.20   | best link's score x method trust (handle, domain, hashtag 1.0; name 0.95; alias    |
|              |        | 0.9; fuzzy 0.75; other 0.5); 0 without a linked merchant                           |
| engagement   | 0.15   | interactions = likes + 2 reposts + 2 quotes + 1.5 replies; absolute =              |
|              |        | log(1 + i) / log(1 + 250), capped at 1; relative = (i / max(followers, 20)) / 5 %, |
|              |        | capped at 1; the mean of both (absolute alone when followers are unknown)          |
| media        | 0.10   | 1 with a photo or video, else 0                                                    |
| recency      | 0.10   | 0.5 ^ (age in days / 7): halves every week                                         |

| penalty          | multiplier                                                                         |
| ---------------- | ---------------------------------------------------------------------------------- |
| author_diversity | 1 / (1 + 0.5 n), n = the author's stories already in the queue (not rejected)       |
| spam_cues        | 1 - spam score (spam cues below the spam threshold still cost)                      |

Suppressed posts never become candidates (``StoryScore.suppressed`` names the first reason that holds, in
this order): ``repost`` (grouped under the original post's story), ``duplicate`` (same text fingerprint as an
earlier story, grouped under it), ``consent_reply`` (an author's reply granting rights is evidence, not a
story), ``spam`` (the analysis's ``likely_spam``), ``bot`` (see ``looks_like_bot``), ``complaint`` (the
complaint signal, including "would not recommend") and ``negative`` (negative sentiment). A suppressed post
keeps its computed score and breakdown, so "why is this not a candidate?" has an answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SCORING_VERSION = "1"

WEIGHTS: dict[str, float] = {
    "sentiment": 0.20,
    "experience": 0.25,
    "merchant": 0.20,
    "engagement": 0.15,
    "media": 0.10,
    "recency": 0.10,
}
METHOD_TRUST: dict[str, float] = {
    "handle": 1.0,
    "domain": 1.0,
    "hashtag": 1.0,
    "name": 0.95,
    "alias": 0.9,
    "fuzzy": 0.75,
}
OTHER_METHOD_TRUST = 0.5
ENGAGEMENT_SATURATION = 250  # interactions at which the absolute engagement component reaches 1
ENGAGEMENT_RATE_SATURATION = 0.05  # interactions per follower at which the relative component reaches 1
MIN_FOLLOWERS_FOR_RATE = 20  # a 3-follower account with 2 likes is not a 67 % engagement rate
RECENCY_HALF_LIFE_DAYS = 7.0
SHORT_TEXT_CHARS = 40
AUTHOR_REPEAT_PENALTY = 0.5
SUPPRESSION_ORDER = ("repost", "duplicate", "consent_reply", "spam", "bot", "complaint", "negative")

_BOT_WORD = re.compile(r"(?:^|[^a-z])bots?(?:[^a-z]|$)")
_CAMEL_BOT = re.compile(r"[a-z0-9]Bot$")
_DIGIT_TAIL = re.compile(r"\d{6,}$")


@dataclass(frozen=True)
class StoryInputs:
    """What the score reads of one analysed post (the job builds it from the stored post and analysis)."""

    kind: str = "original"  # original, reply, quote, repost
    sentiment: str = "neutral"  # negative, neutral, positive
    sentiment_score: float = 0.0  # P(positive) - P(negative), in [-1, 1]
    first_person: bool = False
    gratitude: bool = False
    recommendation: bool = False
    question: bool = False
    complaint: bool = False
    text_length: int = 0
    spam_score: float = 0.0
    likely_spam: bool = False
    merchant_link_score: float | None = None  # the best linked mention's score; None: no merchant linked
    merchant_link_method: str | None = None
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    followers: int | None = None  # None: the platform does not say
    author_handle: str = ""
    author_verified: bool | None = None
    has_media: bool = False
    age_days: float = 0.0
    author_stories: int = 0  # the author's stories already in this campaign's queue (not rejected)
    duplicate: bool = False  # an earlier story has the same text fingerprint
    consent_reply: bool = False  # a reply carrying the campaign's consent hashtag


@dataclass(frozen=True)
class StoryScore:
    score: float  # in [0, 1]
    breakdown: dict[str, float]  # weighted factors and penalty multipliers
    suppressed: str | None  # the reason this post is not a candidate, or None


def looks_like_bot(handle: str, followers: int | None, verified: bool | None, spam_score: float) -> bool:
    """Cheap, conservative bot heuristics (a verified account never is one):

    - the handle says so: a word "bot"/"bots" ("news_bot", "bot-4521") or a CamelCase "...Bot" suffix;
    - zero followers and at least one spam cue in the post;
    - a handle ending in six or more digits (generated names such as "user84920175") with under 10 followers.
    """
    if verified:
        return False
    if _BOT_WORD.search(handle.casefold()) or _CAMEL_BOT.search(handle):
        return True
    if followers == 0 and spam_score > 0:
        return True
    return followers is not None and followers < 10 and _DIGIT_TAIL.search(handle) is not None


def _sentiment(inputs: StoryInputs) -> float:
    if inputs.sentiment == "positive":
        return 0.6 + 0.4 * max(0.0, min(1.0, inputs.sentiment_score))
    if inputs.sentiment == "neutral":
        return 0.3
    return 0.0


def _experience(inputs: StoryInputs) -> float:
    value = 0.5 * inputs.first_person + 0.25 * inputs.gratitude + 0.25 * inputs.recommendation
    if inputs.question:  # asking is not telling
        value *= 0.5
    if inputs.text_length < SHORT_TEXT_CHARS:
        value *= 0.6
    return value


def _merchant(inputs: StoryInputs) -> float:
    if inputs.merchant_link_score is None:
        return 0.0
    trust = METHOD_TRUST.get(inputs.merchant_link_method or "", OTHER_METHOD_TRUST)
    return max(0.0, min(1.0, inputs.merchant_link_score)) * trust


def interactions(likes: int | None, reposts: int | None, replies: int | None, quotes: int | None) -> float:
    """Weighted interactions: sharing and replying take more than a like."""
    return (likes or 0) + 2 * (reposts or 0) + 2 * (quotes or 0) + 1.5 * (replies or 0)


def _engagement(inputs: StoryInputs) -> float:
    total = interactions(inputs.likes, inputs.reposts, inputs.replies, inputs.quotes)
    absolute = min(1.0, math.log1p(total) / math.log1p(ENGAGEMENT_SATURATION))
    if inputs.followers is None:
        return absolute
    rate = total / max(inputs.followers, MIN_FOLLOWERS_FOR_RATE)
    relative = min(1.0, rate / ENGAGEMENT_RATE_SATURATION)
    return (absolute + relative) / 2


def _recency(inputs: StoryInputs) -> float:
    return float(0.5 ** (max(0.0, inputs.age_days) / RECENCY_HALF_LIFE_DAYS))


def _suppressed(inputs: StoryInputs) -> str | None:
    holds = {
        "repost": inputs.kind == "repost",
        "duplicate": inputs.duplicate,
        "consent_reply": inputs.consent_reply,
        "spam": inputs.likely_spam,
        "bot": looks_like_bot(inputs.author_handle, inputs.followers, inputs.author_verified, inputs.spam_score),
        "complaint": inputs.complaint,
        "negative": inputs.sentiment == "negative",
    }
    return next((reason for reason in SUPPRESSION_ORDER if holds[reason]), None)


def score_story(inputs: StoryInputs) -> StoryScore:
    """The score of one post with its breakdown (see the module table) and why it is suppressed, if it is."""
    components = {
        "sentiment": _sentiment(inputs),
        "experience": _experience(inputs),
        "merchant": _merchant(inputs),
        "engagement": _engagement(inputs),
        "media": 1.0 if inputs.has_media else 0.0,
        "recency": _recency(inputs),
    }
    breakdown = {name: round(WEIGHTS[name] * value, 4) for name, value in components.items()}
    penalties = {
        "author_diversity": 1.0 / (1.0 + AUTHOR_REPEAT_PENALTY * max(0, inputs.author_stories)),
        "spam_cues": 1.0 - max(0.0, min(1.0, inputs.spam_score)),
    }
    breakdown.update({name: round(value, 4) for name, value in penalties.items()})
    total = sum(WEIGHTS[name] * value for name, value in components.items())
    for value in penalties.values():
        total *= value
    return StoryScore(round(max(0.0, min(1.0, total)), 4), breakdown, _suppressed(inputs))
