"""The story score, pure: each factor moves the score the way the module table documents, penalties
multiply, and spam, bots, complaints, negative posts, consent replies, duplicates and reposts are suppressed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jobs.story_scoring import (
    SUPPRESSION_ORDER,
    WEIGHTS,
    StoryInputs,
    interactions,
    looks_like_bot,
    score_story,
)

# A good, ordinary story: positive, first-hand, a confidently linked merchant, some engagement, a photo, today.
GOOD = StoryInputs(
    kind="original",
    sentiment="positive",
    sentiment_score=0.7,
    first_person=True,
    gratitude=True,
    text_length=120,
    merchant_link_score=0.9,
    merchant_link_method="handle",
    likes=12,
    reposts=2,
    replies=1,
    followers=300,
    author_handle="amina_casa",
    has_media=True,
    age_days=1.0,
)


def score(**changes: object) -> float:
    return score_story(replace(GOOD, **changes)).score  # type: ignore[arg-type]


def test_weights_sum_to_one_and_a_perfect_post_scores_one() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    perfect = replace(
        GOOD,
        sentiment_score=1.0,
        recommendation=True,
        merchant_link_score=1.0,
        likes=10_000,
        followers=1000,
        age_days=0.0,
    )
    assert score_story(perfect).score == pytest.approx(1.0)
    assert score_story(perfect).suppressed is None


def test_breakdown_explains_the_score() -> None:
    result = score_story(GOOD)
    factors = sum(result.breakdown[name] for name in WEIGHTS)
    penalties = result.breakdown["author_diversity"] * result.breakdown["spam_cues"]
    assert result.score == pytest.approx(factors * penalties, abs=1e-3)
    assert set(result.breakdown) == {*WEIGHTS, "author_diversity", "spam_cues"}


def test_sentiment_positive_beats_neutral_and_confidence_helps() -> None:
    assert score(sentiment="positive") > score(sentiment="neutral", sentiment_score=0.0)
    assert score(sentiment_score=0.9) > score(sentiment_score=0.2)


def test_first_hand_experience_gratitude_and_recommendation_help_a_question_and_short_text_hurt() -> None:
    assert score(first_person=True) > score(first_person=False)
    assert score(gratitude=True) > score(gratitude=False)
    assert score(recommendation=True) > score(recommendation=False)
    assert score(question=True) < score(question=False)
    assert score(text_length=20) < score(text_length=120)


def test_merchant_link_and_its_confidence_and_method() -> None:
    assert score(merchant_link_score=0.9) > score(merchant_link_score=None, merchant_link_method=None)
    assert score(merchant_link_score=0.95) > score(merchant_link_score=0.6)
    assert score(merchant_link_method="handle") > score(merchant_link_method="fuzzy")
    assert score(merchant_link_method="fuzzy") > score(merchant_link_method="ner")


def test_engagement_is_log_scaled_and_relative_to_followers() -> None:
    assert score(likes=50) > score(likes=5)
    # log scale: the first likes count more than the thousandth
    assert score(likes=10) - score(likes=0) > score(likes=1010) - score(likes=1000)
    # the same interactions from a smaller audience are a stronger signal
    assert score(followers=100) > score(followers=100_000)
    # reposts weigh more than likes
    assert interactions(0, 1, 0, 0) > interactions(1, 0, 0, 0)
    # unknown followers: absolute engagement alone, still growing with it
    assert score(followers=None, likes=100) > score(followers=None, likes=1)


def test_media_and_recency() -> None:
    assert score(has_media=True) > score(has_media=False)
    assert score(age_days=0.5) > score(age_days=10)
    week = score_story(replace(GOOD, age_days=7)).breakdown["recency"]
    assert week == pytest.approx(WEIGHTS["recency"] / 2)


def test_author_diversity_penalises_an_author_who_already_has_stories() -> None:
    assert score(author_stories=0) > score(author_stories=1) > score(author_stories=3)
    assert score_story(replace(GOOD, author_stories=2)).breakdown["author_diversity"] == pytest.approx(0.5)


def test_spam_cues_below_the_threshold_cost_without_suppressing() -> None:
    cued = score_story(replace(GOOD, spam_score=0.3))
    assert cued.suppressed is None
    assert cued.score < score_story(GOOD).score


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kind": "repost"}, "repost"),
        ({"duplicate": True}, "duplicate"),
        ({"kind": "reply", "consent_reply": True}, "consent_reply"),
        ({"likely_spam": True, "spam_score": 0.7}, "spam"),
        ({"author_handle": "deals_bot"}, "bot"),
        ({"complaint": True}, "complaint"),
        ({"sentiment": "negative", "sentiment_score": -0.8}, "negative"),
    ],
)
def test_suppression(changes: dict[str, object], reason: str) -> None:
    result = score_story(replace(GOOD, **changes))  # type: ignore[arg-type]
    assert result.suppressed == reason
    assert result.score >= 0  # still scored and explained


def test_the_first_reason_in_order_wins() -> None:
    result = score_story(replace(GOOD, kind="repost", likely_spam=True, complaint=True))
    assert result.suppressed == "repost"
    assert SUPPRESSION_ORDER.index("spam") < SUPPRESSION_ORDER.index("complaint")
    assert score_story(replace(GOOD, likely_spam=True, complaint=True)).suppressed == "spam"


def test_bot_heuristics() -> None:
    assert looks_like_bot("news_bot", 5000, None, 0.0)
    assert looks_like_bot("DealsBot", 5000, None, 0.0)
    assert looks_like_bot("bot-4521", None, None, 0.0)
    assert looks_like_bot("amina", 0, None, 0.15)  # no followers and a spam cue
    assert looks_like_bot("user84920175", 3, None, 0.0)  # generated handle, nobody follows
    # not bots
    assert not looks_like_bot("talbot", 10, None, 0.0)
    assert not looks_like_bot("robotique_lyon", 10, None, 0.0)
    assert not looks_like_bot("amina", 0, None, 0.0)  # new accounts with a clean post are people
    assert not looks_like_bot("user84920175", 300, None, 0.0)
    assert not looks_like_bot("news_bot", 10, True, 0.9)  # verified
