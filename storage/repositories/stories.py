"""The featured-stories queue: one import for everything the job, the web app and the API call.

The queue is split by idea, each module with its own notes:

- `story_states`: the states, the allowed moves, the audit trail, bulk moves and undo;
- `story_candidates`: analysed campaign posts not yet stories, and storing their stories (the job's side);
- `story_rights`: asking the author, recognising the consent reply, expiring requests;
- `story_featuring`: featuring under the rotation rules, the balance report, archiving ended windows;
- `story_queue`: the queue page (the curators' list and API);
- `story_detail`: one story in full (the story page).

Repositories take an AsyncSession; the caller owns the transaction. Every time is an aware UTC `now` passed
in, so the rules are testable at any date.
"""

from __future__ import annotations

from storage.repositories.story_candidates import (
    NewStory,
    PostToScore,
    ScoringContext,
    candidates_to_score,
    first_post_id_since,
    has_hashtag,
    repost_originals,
    scoring_context,
    upsert_stories,
)
from storage.repositories.story_detail import (
    AnalysisInfo,
    DuplicateInfo,
    MentionInfo,
    MerchantInfo,
    RightsInfo,
    StoryDetail,
    TransitionInfo,
    story_detail,
)
from storage.repositories.story_featuring import (
    FeatureResult,
    RotationReport,
    archive_expired,
    feature,
    iso_weeks,
    rotation_report,
)
from storage.repositories.story_queue import (
    COUNT_CAP,
    QueueFilters,
    QueuePage,
    QueueRow,
    queue_page,
    queue_page_sqlite,
)
from storage.repositories.story_rights import (
    RightsRequestResult,
    expire_rights,
    grant_from_replies,
    grant_manually,
    reply_url,
    request_rights,
    suggested_message,
)
from storage.repositories.story_states import (
    TRANSITIONS,
    BulkResult,
    StoryState,
    TransitionError,
    transition,
    transition_many,
    undo_last,
)

__all__ = [
    "COUNT_CAP",
    "TRANSITIONS",
    "AnalysisInfo",
    "BulkResult",
    "DuplicateInfo",
    "FeatureResult",
    "MentionInfo",
    "MerchantInfo",
    "NewStory",
    "PostToScore",
    "QueueFilters",
    "QueuePage",
    "QueueRow",
    "RightsInfo",
    "RightsRequestResult",
    "RotationReport",
    "ScoringContext",
    "StoryDetail",
    "StoryState",
    "TransitionError",
    "TransitionInfo",
    "archive_expired",
    "candidates_to_score",
    "expire_rights",
    "feature",
    "first_post_id_since",
    "grant_from_replies",
    "grant_manually",
    "has_hashtag",
    "iso_weeks",
    "queue_page",
    "queue_page_sqlite",
    "reply_url",
    "repost_originals",
    "request_rights",
    "rotation_report",
    "scoring_context",
    "story_detail",
    "suggested_message",
    "transition",
    "transition_many",
    "undo_last",
    "upsert_stories",
]
