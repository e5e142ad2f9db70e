"""The story state machine: states, the allowed moves, and the audit trail every move writes.

    candidate → shortlisted → rights_requested → rights_granted → featured → archived
    rejected (a reason is required) from any state; archived from any state but rejected

Moves go forward only. The exceptions are named: a rights request that expires or is withdrawn takes the
story from rights_requested back to shortlisted, and `undo_last` reverts the last recorded move (as a new
move whose reason starts with "undo:"), so the trail is never rewritten. Three targets have their own
functions because they need more than a state change: rights_requested (`request_rights` records the
request and the consent hashtag), rights_granted (only the author's consent reply grants it:
`grant_from_replies`) and featured (`feature` checks the merchant's opt-out, the weekly cap and the
campaign dates). `transition` refuses them with the function to use.

Invariants kept by `apply_move` (so undo is safe): a story in rights_requested has exactly one pending
rights request (leaving the state cancels it; undoing back into it reopens the latest request, given the
same time again when it had expired; undoing a grant cancels the granted request and opens a new one from
now, so the refused reply, older than the new request, does not grant it again); a public name exists only
from rights_granted on; a feature window only on featured, archived and rejected stories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RightsRequest, Story, StoryTransition


class StoryState(StrEnum):
    CANDIDATE = "candidate"
    SHORTLISTED = "shortlisted"
    RIGHTS_REQUESTED = "rights_requested"
    RIGHTS_GRANTED = "rights_granted"
    FEATURED = "featured"
    ARCHIVED = "archived"
    REJECTED = "rejected"


S = StoryState
TRANSITIONS: dict[StoryState, frozenset[StoryState]] = {
    S.CANDIDATE: frozenset({S.SHORTLISTED, S.ARCHIVED, S.REJECTED}),
    S.SHORTLISTED: frozenset({S.RIGHTS_REQUESTED, S.ARCHIVED, S.REJECTED}),
    # back to shortlisted: the request expired or was withdrawn
    S.RIGHTS_REQUESTED: frozenset({S.RIGHTS_GRANTED, S.SHORTLISTED, S.ARCHIVED, S.REJECTED}),
    S.RIGHTS_GRANTED: frozenset({S.FEATURED, S.ARCHIVED, S.REJECTED}),
    S.FEATURED: frozenset({S.ARCHIVED, S.REJECTED}),
    S.ARCHIVED: frozenset({S.REJECTED}),
    S.REJECTED: frozenset(),
}
# Targets that need their own function (see the module notes).
WORKFLOW_ONLY: dict[StoryState, str] = {
    S.RIGHTS_REQUESTED: "request rights with request_rights (it records the request and the consent hashtag)",
    S.RIGHTS_GRANTED: "rights are granted only by the author's consent reply (grant_from_replies)",
    S.FEATURED: "feature it with feature (it checks the merchant's opt-out, the weekly cap and the campaign dates)",
}
UNDO_PREFIX = "undo: "


class TransitionError(ValueError):
    """A state change that is not allowed; the message says why and what to do instead."""


@dataclass(frozen=True)
class BulkResult:
    changed: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # story id -> why


def parse_state(value: str) -> StoryState:
    try:
        return StoryState(value)
    except ValueError:
        known = ", ".join(s.value for s in StoryState)
        raise TransitionError(f"unknown story state {value!r} (one of: {known})") from None


async def load_story(session: AsyncSession, story_id: int) -> Story:
    """The story, locked for the rest of the transaction on PostgreSQL; TransitionError when absent."""
    story = await session.scalar(select(Story).where(Story.id == story_id).with_for_update())
    if story is None:
        raise TransitionError(f"no story #{story_id}")
    return story


def check_move(story: Story, to_state: StoryState, reason: str | None) -> None:
    """Raise TransitionError unless the table allows `story` to move to `to_state`."""
    current = parse_state(story.state)
    if current == to_state:
        raise TransitionError(f"story #{story.id} is already {current.value}")
    if to_state not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise TransitionError(
            f"story #{story.id} is {current.value}: it cannot go to {to_state.value} "
            f"(allowed: {allowed}; undo reverts the last change)"
        )
    if to_state == S.REJECTED and not (reason or "").strip():
        raise TransitionError(f"rejecting story #{story.id} needs a reason")


async def _reopen_request(session: AsyncSession, story_id: int, now: datetime, *, fresh: bool) -> None:
    latest = await session.scalar(
        select(RightsRequest).where(RightsRequest.story_id == story_id).order_by(RightsRequest.id.desc()).limit(1)
    )
    if latest is None:
        return
    duration = latest.expires_at - latest.requested_at
    if fresh:  # the curator refused the evidence: ask again, and only a newer reply counts
        latest.status = "cancelled"
        session.add(
            RightsRequest(
                story_id=story_id,
                requested_by=latest.requested_by,
                requested_at=now,
                expires_at=now + duration,
                message=latest.message,
                consent_hashtag=latest.consent_hashtag,
                status="pending",
            )
        )
        return
    if latest.expires_at <= now:  # give the author the same time again
        latest.expires_at = now + duration
    latest.status, latest.evidence_post_id, latest.granted_at = "pending", None, None


async def apply_move(
    session: AsyncSession,
    story: Story,
    to_state: StoryState,
    *,
    actor_user_id: int | None,
    reason: str | None,
    now: datetime,
    undo: bool = False,
) -> StoryTransition:
    """Move `story` (already checked, or an undo) and record the move; keeps the invariants above."""
    from_state = story.state
    if from_state == S.RIGHTS_REQUESTED and to_state != S.RIGHTS_GRANTED:
        await session.execute(
            update(RightsRequest)
            .where(RightsRequest.story_id == story.id, RightsRequest.status == "pending")
            .values(status="cancelled")
        )
    if undo and to_state == S.RIGHTS_REQUESTED:
        await _reopen_request(session, story.id, now, fresh=from_state == S.RIGHTS_GRANTED)
    if to_state in (S.CANDIDATE, S.SHORTLISTED, S.RIGHTS_REQUESTED):
        story.public_name = None
    if to_state not in (S.FEATURED, S.ARCHIVED, S.REJECTED):
        story.featured_from = story.featured_until = None
    story.state = to_state.value
    story.updated_at = now
    move = StoryTransition(
        story_id=story.id,
        from_state=from_state,
        to_state=to_state.value,
        actor_user_id=actor_user_id,
        reason=(reason or "").strip() or None,
        at=now,
    )
    session.add(move)
    await session.flush()
    return move


async def transition(
    session: AsyncSession,
    story_id: int,
    to_state: str,
    *,
    actor_user_id: int | None,
    reason: str | None = None,
    now: datetime,
) -> StoryTransition:
    """Move one story (shortlist, withdraw a request, archive, reject); TransitionError when not allowed."""
    target = parse_state(to_state)
    if target in WORKFLOW_ONLY:
        raise TransitionError(f"story #{story_id}: {WORKFLOW_ONLY[target]}")
    story = await load_story(session, story_id)
    check_move(story, target, reason)
    return await apply_move(session, story, target, actor_user_id=actor_user_id, reason=reason, now=now)


async def transition_many(
    session: AsyncSession,
    story_ids: Sequence[int],
    to_state: str,
    *,
    actor_user_id: int | None,
    reason: str | None = None,
    now: datetime,
) -> BulkResult:
    """The bulk action: every story that may move moves; the others are listed with why (none fails all)."""
    target = parse_state(to_state)
    result = BulkResult()
    wanted = list(dict.fromkeys(story_ids))
    if target in WORKFLOW_ONLY:
        result.refused.update(dict.fromkeys(wanted, WORKFLOW_ONLY[target]))
        return result
    found = await session.scalars(select(Story).where(Story.id.in_(wanted)).order_by(Story.id).with_for_update())
    stories = {s.id: s for s in found}
    for story_id in wanted:
        story = stories.get(story_id)
        if story is None:
            result.refused[story_id] = f"no story #{story_id}"
            continue
        try:
            check_move(story, target, reason)
        except TransitionError as exc:
            result.refused[story_id] = str(exc)
            continue
        await apply_move(session, story, target, actor_user_id=actor_user_id, reason=reason, now=now)
        result.changed.append(story_id)
    return result


async def undo_last(session: AsyncSession, story_id: int, actor_user_id: int | None, now: datetime) -> StoryTransition:
    """Revert the story's last move, recorded as a new move ("undo: ..."). Undoing an undo redoes. The job's
    own creation of a story can be undone only when it rejected the post: the story becomes a candidate."""
    story = await load_story(session, story_id)
    last = await session.scalar(
        select(StoryTransition).where(StoryTransition.story_id == story_id).order_by(StoryTransition.id.desc()).limit(1)
    )
    if last is None or (last.from_state is None and last.to_state != S.REJECTED):
        raise TransitionError(f"story #{story_id} has no change to undo")
    if story.state != last.to_state:
        raise TransitionError(
            f"story #{story_id} is {story.state} but its last recorded change made it {last.to_state}: nothing to undo"
        )
    target = parse_state(last.from_state or S.CANDIDATE)
    what = f"{last.from_state or 'new'} → {last.to_state}" + (f" ({last.reason})" if last.reason else "")
    return await apply_move(
        session, story, target, actor_user_id=actor_user_id, reason=UNDO_PREFIX + what, now=now, undo=True
    )
